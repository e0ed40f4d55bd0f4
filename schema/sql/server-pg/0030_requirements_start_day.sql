-- PostgreSQL twin of schema/sql/server/0030_requirements_start_day.sql
-- (issue 13; docs/decisions/0144-the-exemptions-requirements-carry-their-cases-start-day.md):
-- the same column, and requirements_due covering it.
--
-- The exemptions report's statements (the requirements' tally, the
-- previous quarter's totals, a figure's rows, the exempted requirements)
-- joined rm_cases only for the case's supervision start: a read of every
-- case and a hash of them, the larger part of the tally's and most of the
-- totals' work, for a condition on one column. With start_day on the row
-- and in requirements_due they read a period's requirements from the
-- index alone and join nothing. The UPDATE leaves a dead version of every
-- requirement row, and an index-only scan reads the heap of a page not yet
-- vacuumed: run VACUUM (ANALYZE) requirements after the upgrade where
-- autovacuum is off.
ALTER TABLE requirements ADD COLUMN start_day BIGINT;

UPDATE requirements SET start_day = c.start_day FROM rm_cases c WHERE c.case_id = requirements.case_id;

DROP INDEX requirements_due;
CREATE INDEX requirements_due ON requirements (due_day) INCLUDE (case_id, team_id, officer_id, met_day, triggered_day, start_day);
