-- Server store, version 10: the compliance read model (issue 13;
-- docs/decisions/0044-the-compliance-read-model.md). records stays the sync
-- log; these tables are derived from it, written in the same transaction as
-- every change (serverdb/readmodel.go), so that the measures are SQL
-- aggregates by team, officer and week rather than a decode of every case in
-- every process.
--
-- Invariants of every rm_ table:
--   * derived only: a case's rows are deleted and written again, from its
--     records, by the write transaction that changed any of them; nothing
--     else writes them, and they are never the source of anything synced;
--   * a case's rows exist only when its case record does (as the Go
--     measures' grouping drops records without their case);
--   * text fields missing from a record are '' (never NULL); day columns are
--     days since 1970-01-01 (BIGINT on PostgreSQL), NULL when there is no
--     date, so that date arithmetic is plain subtraction on both engines.
-- The read-model queries use no JSON or engine-only functions: the same SQL
-- runs on schema/sql/server-pg/0010_read_model.sql.

-- The typed rows of a record are written again when the record changes (a
-- visit's also when one of its amendments does); a case's requirement rows
-- whenever any of its records does, from its typed rows.

-- read_model_state: what the read model was built with. One row. policy_tag
-- is the tag of the visit rules the requirement rows were computed by; when
-- the store opens with other rules (or this row says it was never built,
-- built_seq -1) every case is computed again (serverdb.DB.buildReadModel).
-- built_seq is the records' sequence value when it was last built whole.
CREATE TABLE read_model_state (
    id         INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
    built_seq  INTEGER NOT NULL,
    policy_tag TEXT    NOT NULL,
    built_at   TEXT    NOT NULL DEFAULT ''
) STRICT;

INSERT INTO read_model_state (id, built_seq, policy_tag) VALUES (1, -1, '');

-- rm_cases: one row per case record, its fields as the record holds them.
-- officer_id and team_id are the case's allocation (its fields, as the
-- measures group by them).
CREATE TABLE rm_cases (
    case_id           TEXT    NOT NULL PRIMARY KEY,
    crn               TEXT    NOT NULL,
    given_name        TEXT    NOT NULL,
    family_name       TEXT    NOT NULL,
    officer_id        TEXT    NOT NULL,
    team_id           TEXT    NOT NULL,
    rosh              TEXT    NOT NULL,
    address           TEXT    NOT NULL,
    supervision_start TEXT    NOT NULL,
    closed            INTEGER NOT NULL CHECK (closed IN (0, 1))
) STRICT;

CREATE INDEX rm_cases_team ON rm_cases (team_id, officer_id);
CREATE INDEX rm_cases_officer ON rm_cases (officer_id);

-- rm_visits: every visit of a case with its amendments applied (in the
-- order made, policy.AmendVisit). day is the local day of planned_at (or
-- started_at, when not planned): the day the workload counts it on.
-- children is the visit's children list as JSON text (read in Go, for the
-- policy's new-child rule; never by a query).
CREATE TABLE rm_visits (
    visit_id     TEXT    NOT NULL PRIMARY KEY,
    case_id      TEXT    NOT NULL,
    status       TEXT    NOT NULL,
    type         TEXT    NOT NULL,
    location     TEXT    NOT NULL,
    outcome      TEXT    NOT NULL,
    face_to_face INTEGER NOT NULL CHECK (face_to_face IN (0, 1)),
    planned_at   TEXT    NOT NULL,
    started_at   TEXT    NOT NULL,
    signed_at    TEXT    NOT NULL,
    day          TEXT    NOT NULL,
    children_present TEXT NOT NULL,
    children     TEXT    NOT NULL
) STRICT;

CREATE INDEX rm_visits_case ON rm_visits (case_id, status, day);

-- rm_household: the household members of each case.
CREATE TABLE rm_household (
    member_id TEXT NOT NULL PRIMARY KEY,
    case_id   TEXT NOT NULL,
    relation  TEXT NOT NULL,
    residence TEXT NOT NULL,
    date_of_birth TEXT NOT NULL,
    added_on  TEXT NOT NULL,
    left_on   TEXT NOT NULL
) STRICT;

CREATE INDEX rm_household_case ON rm_household (case_id);

-- rm_flags: the flags of each case; a flag is live from start_date (always,
-- when '') to the day before ended_on (for ever, when '').
CREATE TABLE rm_flags (
    flag_id    TEXT NOT NULL PRIMARY KEY,
    case_id    TEXT NOT NULL,
    type       TEXT NOT NULL,
    start_date TEXT NOT NULL,
    ended_on   TEXT NOT NULL
) STRICT;

CREATE INDEX rm_flags_case ON rm_flags (case_id, type);

-- rm_enquiries: the enquiries of each case to other agencies.
CREATE TABLE rm_enquiries (
    enquiry_id   TEXT NOT NULL PRIMARY KEY,
    case_id      TEXT NOT NULL,
    agency       TEXT NOT NULL,
    stage        TEXT NOT NULL,
    requested_on TEXT NOT NULL,
    due_on       TEXT NOT NULL,
    answered_on  TEXT NOT NULL,
    result       TEXT NOT NULL
) STRICT;

CREATE INDEX rm_enquiries_case ON rm_enquiries (case_id);

-- rm_referrals: the referrals of each case to interventions.
CREATE TABLE rm_referrals (
    referral_id   TEXT NOT NULL PRIMARY KEY,
    case_id       TEXT NOT NULL,
    need          TEXT NOT NULL,
    identified_on TEXT NOT NULL,
    decision      TEXT NOT NULL,
    status        TEXT NOT NULL,
    status_on     TEXT NOT NULL
) STRICT;

CREATE INDEX rm_referrals_case ON rm_referrals (case_id);

-- rm_safety: the pre-visit safety assessments of each case. applies is 1
-- when the assessment is of the case's current address (or either has
-- none): only those compete to be the latest (policy.AssessmentAsOf).
-- exempting is 1 when, as the latest, its decision exempts every rule
-- (policy.SafetyExemption); a decision dated after the day asked about had
-- not been made then, so the query also holds decided_on to that day.
-- reason is the exemption's reason as the policy words it.
CREATE TABLE rm_safety (
    assessment_id TEXT    NOT NULL PRIMARY KEY,
    case_id       TEXT    NOT NULL,
    assessed_on   TEXT    NOT NULL,
    decided_on    TEXT    NOT NULL,
    decision      TEXT    NOT NULL,
    decided_by    TEXT    NOT NULL,
    reason        TEXT    NOT NULL,
    applies       INTEGER NOT NULL CHECK (applies IN (0, 1)),
    exempting     INTEGER NOT NULL CHECK (exempting IN (0, 1))
) STRICT;

CREATE INDEX rm_safety_case ON rm_safety (case_id, assessed_on);

-- requirements: the visit requirements of each case, computed by
-- schema/policy (Policy.Requirements over policy.FactsOf) from every record
-- the case has, with no exemption: what the records say is owed, when, and
-- which visit met it. Where a requirement stands on a day D is worked out
-- by the query, from these columns (docs/compliance.md, "The read model"):
-- it exists on D when triggered_day <= D; it is met on D when met_day <= D;
-- else exempted when the case's latest applying safety assessment on D
-- exempts; else, in a closed case, missed when D > due_day and cancelled
-- otherwise; else missed when D > due_day, open otherwise. officer_id and
-- team_id are the case's, kept here for the GROUP BY. first_home is 1 on the
-- case's first requirement of a rule triggered by the supervision start,
-- recurrence 0 (measure 1's first home visit). n orders a case's
-- requirements as the policy does.
CREATE TABLE requirements (
    case_id       TEXT    NOT NULL,
    n             INTEGER NOT NULL,
    officer_id    TEXT    NOT NULL,
    team_id       TEXT    NOT NULL,
    closed        INTEGER NOT NULL CHECK (closed IN (0, 1)),
    rule_id       TEXT    NOT NULL,
    rule_version  TEXT    NOT NULL,
    trigger_kind  TEXT    NOT NULL,
    triggered_on  TEXT    NOT NULL,
    triggered_day INTEGER NOT NULL,
    source        TEXT    NOT NULL,
    recurrence    INTEGER NOT NULL,
    due_on        TEXT    NOT NULL,
    due_day       INTEGER NOT NULL,
    met_by        TEXT    NOT NULL,
    met_on        TEXT    NOT NULL,
    met_day       INTEGER,
    first_home    INTEGER NOT NULL CHECK (first_home IN (0, 1)),
    PRIMARY KEY (case_id, n)
) STRICT;

CREATE INDEX requirements_team ON requirements (team_id, officer_id, due_day);
CREATE INDEX requirements_due ON requirements (due_day);
CREATE INDEX requirements_first ON requirements (first_home, case_id);

-- The read model reads a case's records of one entity (its amendments,
-- its safety assessments) when one of them changes; without this index
-- that read scanned every record of the case.
CREATE INDEX records_case_entity ON records (case_id, entity);
