-- PostgreSQL twin of schema/sql/server/0030_requirements_start_day.sql
-- (issue 13; docs/decisions/0144-the-exemptions-requirements-carry-their-cases-start-day.md):
-- the same column, and requirements_due and requirements_team covering it.
--
-- The exemptions report's statements (the requirements' tally, the
-- previous quarter's totals, a figure's rows, the exempted requirements)
-- joined rm_cases only for the case's supervision start: a read of every
-- case and a hash of them, the larger part of the tally's and most of the
-- totals' work, for a condition on one column. With start_day on the row
-- and in requirements_due they read a period's requirements from the
-- index alone and join nothing: a service's from requirements_due, a
-- team's (an overview's panel) from requirements_team, as before. The
-- UPDATE leaves a dead version of every requirement row, and an index-only
-- scan reads the heap of a page not yet vacuumed: run VACUUM (ANALYZE)
-- requirements after the upgrade where autovacuum is off.
ALTER TABLE requirements ADD COLUMN start_day BIGINT;

UPDATE requirements SET start_day = c.start_day FROM rm_cases c WHERE c.case_id = requirements.case_id;

DROP INDEX requirements_due;
CREATE INDEX requirements_due ON requirements (due_day) INCLUDE (case_id, team_id, officer_id, met_day, triggered_day, start_day);
DROP INDEX requirements_team;
CREATE INDEX requirements_team ON requirements (team_id, officer_id, due_day, due_on, triggered_day, met_day, closed, case_id, start_day);
