-- PostgreSQL mirror of schema/sql/server/0011_read_model_contacts_households.sql:
-- the same columns, table and indexes; BIGINT for INTEGER, no STRICT, and every
-- TEXT column COLLATE "C" (as 0010_read_model.sql). The SQLite file's comments
-- hold here:
--
-- Server store, version 11: the read model's columns for measures 3 (how
-- contact happened) and 5 (household, children seen, partner seen alone),
-- so that both are SQL aggregates too (issue 13;
-- docs/decisions/0050-contacts-and-households-in-the-read-model.md). Every
-- column is derived from the records alone, by the Go code the measures
-- use (schema.ContactChannel, policy.MonthsAfter, HouseholdMember.IsChild);
-- what depends on the day asked about (as_of, the period) stays in the
-- queries (server/serverdb/readmodel_contacts.go, readmodel_households.go).
-- The invariants of 0010_read_model.sql hold for these columns and table.

-- rm_visits: started_day is the local day of started_at ('' when it does
-- not read as a timestamp), the day measures 3 and 5 date a contact by;
-- channel and place are schema.ContactChannel's answer (place only for
-- face_to_face_elsewhere); elsewhere_reason as recorded; partner_present
-- and partner_seen_alone as recorded; child_not_on_record is 1 when the
-- visit's observations hold child_not_on_record.
ALTER TABLE rm_visits ADD COLUMN started_day TEXT COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE rm_visits ADD COLUMN channel TEXT COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE rm_visits ADD COLUMN place TEXT COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE rm_visits ADD COLUMN elsewhere_reason TEXT COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE rm_visits ADD COLUMN partner_present TEXT COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE rm_visits ADD COLUMN partner_seen_alone TEXT COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE rm_visits ADD COLUMN child_not_on_record BIGINT NOT NULL DEFAULT 0 CHECK (child_not_on_record IN (0, 1));

CREATE INDEX rm_visits_started ON rm_visits (started_day, case_id);

-- rm_household: is_child and is_partner as the member's relation says
-- (schema.HouseholdMember.IsChild, IsPartner); confirmed_on as recorded,
-- and confirmed_until the last day that confirmation is in date
-- (policy.MonthsAfter by 3 months; '' when confirmed_on is not a date);
-- victim the child's "victim in their own right" answer.
ALTER TABLE rm_household ADD COLUMN is_child BIGINT NOT NULL DEFAULT 0 CHECK (is_child IN (0, 1));
ALTER TABLE rm_household ADD COLUMN is_partner BIGINT NOT NULL DEFAULT 0 CHECK (is_partner IN (0, 1));
ALTER TABLE rm_household ADD COLUMN confirmed_on TEXT COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE rm_household ADD COLUMN confirmed_until TEXT COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE rm_household ADD COLUMN victim TEXT COLLATE "C" NOT NULL DEFAULT '';

-- rm_cases: household_due_after is the last day a household not confirmed
-- is not yet due (3 months after the supervision start, policy.MonthsAfter;
-- '' without a start).
ALTER TABLE rm_cases ADD COLUMN household_due_after TEXT COLLATE "C" NOT NULL DEFAULT '';

-- rm_visit_children: what a visit recorded of each child it names (the
-- first entry for a member, as measure 5 reads it): answer 'seen' (seen
-- yes), 'reason' (not seen, a reason given) or '' (neither). A child on the
-- household list the visit does not name is unaccounted for: the query's
-- to say, since who is on the list depends on the day.
CREATE TABLE rm_visit_children (
    visit_id  TEXT COLLATE "C" NOT NULL,
    case_id   TEXT COLLATE "C" NOT NULL,
    member_id TEXT COLLATE "C" NOT NULL,
    answer    TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (visit_id, member_id)
);

CREATE INDEX rm_visit_children_case ON rm_visit_children (case_id);

-- Existing stores derive every case again on their next open
-- (serverdb.DB.buildReadModel: the tag no longer matches), which fills
-- these columns.
UPDATE read_model_state SET policy_tag = '' WHERE id = 1;
