-- PostgreSQL twin of schema/sql/server/0027_requirements_due_covering.sql
-- (issue 13; docs/decisions/0122-the-exemptions-period-read-from-a-covering-index-of-the-due-day.md).
-- Indexes only: the read model's rows are as they were.
--
-- The exemptions report asks for a period's requirements by their due day
-- (exemptionsDue: due_day from the period's first day to its last, and by
-- as_of). A quarter's requirements lie on nearly every heap page of
-- requirements, so read by requirements_due (due_day) PostgreSQL read the
-- whole table as a seq scan does; with the columns the report's statements
-- read of them in the index it reads the quarter's entries alone (at
-- 25,000 cases 627 pages where it read 9,600). The index has the same
-- entries, one a requirement, so a push writes no more of them; they are
-- wider and no longer deduplicated (1.9 MB → 34 MB at 25,000 cases).
DROP INDEX requirements_due;
CREATE INDEX requirements_due ON requirements (due_day) INCLUDE (case_id, team_id, officer_id, met_day, triggered_day);
