-- PostgreSQL twin of schema/sql/server/0014_rm_visits_da.sql (each visit's
-- domestic-abuse flag in the compliance read model): the same column and
-- index. The comments of the SQLite file hold.

ALTER TABLE rm_visits ADD COLUMN da INTEGER NOT NULL DEFAULT 0 CHECK (da IN (0, 1));

CREATE INDEX rm_visits_contacts ON rm_visits (started_day, status, signed_at, case_id, outcome, channel, place, da);

UPDATE read_model_state SET policy_tag = '';
