-- Server store, version 30: each requirement row carries its case's
-- supervision start as a day number (issue 13;
-- docs/decisions/0144-the-exemptions-requirements-carry-their-cases-start-day.md).
-- Derived like the rm_ tables: never synced, never the source of anything.

-- requirements.start_day: rm_cases.start_day of the row's case (its
-- supervision_start as days since 1970-01-01, NULL when it has none),
-- written with the row (serverdb writeRequirements), as officer_id,
-- team_id and closed are: every write that changes a case's record writes
-- its requirement rows again. A requirement of a case started by day D is
-- one with start_day <= D. The exemptions report's statements on
-- PostgreSQL read it from requirements_due in place of joining rm_cases;
-- SQLite's read the case by its key as before (its requirements_team holds
-- the rest of what they read), so on SQLite the column is only written.
ALTER TABLE requirements ADD COLUMN start_day INTEGER;

UPDATE requirements SET start_day = (SELECT c.start_day FROM rm_cases c WHERE c.case_id = requirements.case_id);
