-- PostgreSQL twin of schema/sql/server/0014_rm_visits_derived.sql (what
-- measures 3 and 5 read of each visit, derived when it is written): the
-- same columns and index. The comments of the SQLite file hold.

ALTER TABLE rm_visits ADD COLUMN da INTEGER NOT NULL DEFAULT 0 CHECK (da IN (0, 1));
ALTER TABLE rm_visits ADD COLUMN expected INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rm_visits ADD COLUMN accounted INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rm_visits ADD COLUMN reasons INTEGER NOT NULL DEFAULT 0;

CREATE INDEX rm_visits_contacts ON rm_visits (started_day, status, signed_at, case_id, outcome, channel, place, da,
    child_not_on_record, expected, accounted, reasons);

UPDATE read_model_state SET policy_tag = '';
