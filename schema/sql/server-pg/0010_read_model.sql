-- PostgreSQL mirror of schema/sql/server/0010_read_model.sql (the compliance
-- read model): the same tables, columns and indexes; BIGINT for INTEGER, no
-- STRICT, and every TEXT column COLLATE "C", so that ids and dates compare
-- and sort byte by byte as Go and SQLite compare them (the case lists are
-- paged by case id, and the latest safety assessment is chosen by id on a
-- tie). The comments of the SQLite file hold for these tables.

CREATE TABLE read_model_state (
    id         BIGINT NOT NULL PRIMARY KEY CHECK (id = 1),
    built_seq  BIGINT NOT NULL,
    policy_tag TEXT COLLATE "C"    NOT NULL,
    built_at   TEXT COLLATE "C"    NOT NULL DEFAULT ''
);

INSERT INTO read_model_state (id, built_seq, policy_tag) VALUES (1, -1, '');

CREATE TABLE rm_cases (
    case_id           TEXT COLLATE "C"    NOT NULL PRIMARY KEY,
    crn               TEXT COLLATE "C"    NOT NULL,
    given_name        TEXT COLLATE "C"    NOT NULL,
    family_name       TEXT COLLATE "C"    NOT NULL,
    officer_id        TEXT COLLATE "C"    NOT NULL,
    team_id           TEXT COLLATE "C"    NOT NULL,
    rosh              TEXT COLLATE "C"    NOT NULL,
    address           TEXT COLLATE "C"    NOT NULL,
    supervision_start TEXT COLLATE "C"    NOT NULL,
    closed            BIGINT NOT NULL CHECK (closed IN (0, 1))
);

CREATE INDEX rm_cases_team ON rm_cases (team_id, officer_id);
CREATE INDEX rm_cases_officer ON rm_cases (officer_id);

CREATE TABLE rm_visits (
    visit_id     TEXT COLLATE "C"    NOT NULL PRIMARY KEY,
    case_id      TEXT COLLATE "C"    NOT NULL,
    status       TEXT COLLATE "C"    NOT NULL,
    type         TEXT COLLATE "C"    NOT NULL,
    location     TEXT COLLATE "C"    NOT NULL,
    outcome      TEXT COLLATE "C"    NOT NULL,
    face_to_face BIGINT NOT NULL CHECK (face_to_face IN (0, 1)),
    planned_at   TEXT COLLATE "C"    NOT NULL,
    started_at   TEXT COLLATE "C"    NOT NULL,
    signed_at    TEXT COLLATE "C"    NOT NULL,
    day          TEXT COLLATE "C"    NOT NULL,
    children_present TEXT COLLATE "C" NOT NULL,
    children     TEXT COLLATE "C"    NOT NULL
);

CREATE INDEX rm_visits_case ON rm_visits (case_id, status, day);

CREATE TABLE rm_household (
    member_id TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    case_id   TEXT COLLATE "C" NOT NULL,
    relation  TEXT COLLATE "C" NOT NULL,
    residence TEXT COLLATE "C" NOT NULL,
    date_of_birth TEXT COLLATE "C" NOT NULL,
    added_on  TEXT COLLATE "C" NOT NULL,
    left_on   TEXT COLLATE "C" NOT NULL
);

CREATE INDEX rm_household_case ON rm_household (case_id);

CREATE TABLE rm_flags (
    flag_id    TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    case_id    TEXT COLLATE "C" NOT NULL,
    type       TEXT COLLATE "C" NOT NULL,
    start_date TEXT COLLATE "C" NOT NULL,
    ended_on   TEXT COLLATE "C" NOT NULL
);

CREATE INDEX rm_flags_case ON rm_flags (case_id, type);

CREATE TABLE rm_enquiries (
    enquiry_id   TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    case_id      TEXT COLLATE "C" NOT NULL,
    agency       TEXT COLLATE "C" NOT NULL,
    stage        TEXT COLLATE "C" NOT NULL,
    requested_on TEXT COLLATE "C" NOT NULL,
    due_on       TEXT COLLATE "C" NOT NULL,
    answered_on  TEXT COLLATE "C" NOT NULL,
    result       TEXT COLLATE "C" NOT NULL
);

CREATE INDEX rm_enquiries_case ON rm_enquiries (case_id);

CREATE TABLE rm_referrals (
    referral_id   TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    case_id       TEXT COLLATE "C" NOT NULL,
    need          TEXT COLLATE "C" NOT NULL,
    identified_on TEXT COLLATE "C" NOT NULL,
    decision      TEXT COLLATE "C" NOT NULL,
    status        TEXT COLLATE "C" NOT NULL,
    status_on     TEXT COLLATE "C" NOT NULL
);

CREATE INDEX rm_referrals_case ON rm_referrals (case_id);

CREATE TABLE rm_safety (
    assessment_id TEXT COLLATE "C"    NOT NULL PRIMARY KEY,
    case_id       TEXT COLLATE "C"    NOT NULL,
    assessed_on   TEXT COLLATE "C"    NOT NULL,
    decided_on    TEXT COLLATE "C"    NOT NULL,
    decision      TEXT COLLATE "C"    NOT NULL,
    decided_by    TEXT COLLATE "C"    NOT NULL,
    reason        TEXT COLLATE "C"    NOT NULL,
    applies       BIGINT NOT NULL CHECK (applies IN (0, 1)),
    exempting     BIGINT NOT NULL CHECK (exempting IN (0, 1))
);

CREATE INDEX rm_safety_case ON rm_safety (case_id, assessed_on);

CREATE TABLE requirements (
    case_id       TEXT COLLATE "C"    NOT NULL,
    n             BIGINT NOT NULL,
    officer_id    TEXT COLLATE "C"    NOT NULL,
    team_id       TEXT COLLATE "C"    NOT NULL,
    closed        BIGINT NOT NULL CHECK (closed IN (0, 1)),
    rule_id       TEXT COLLATE "C"    NOT NULL,
    rule_version  TEXT COLLATE "C"    NOT NULL,
    trigger_kind  TEXT COLLATE "C"    NOT NULL,
    triggered_on  TEXT COLLATE "C"    NOT NULL,
    triggered_day BIGINT NOT NULL,
    source        TEXT COLLATE "C"    NOT NULL,
    recurrence    BIGINT NOT NULL,
    due_on        TEXT COLLATE "C"    NOT NULL,
    due_day       BIGINT NOT NULL,
    met_by        TEXT COLLATE "C"    NOT NULL,
    met_on        TEXT COLLATE "C"    NOT NULL,
    met_day       BIGINT,
    first_home    BIGINT NOT NULL CHECK (first_home IN (0, 1)),
    PRIMARY KEY (case_id, n)
);

CREATE INDEX requirements_team ON requirements (team_id, officer_id, due_day);
CREATE INDEX requirements_due ON requirements (due_day);
CREATE INDEX requirements_first ON requirements (first_home, case_id);

CREATE INDEX records_case_entity ON records (case_id, entity);
