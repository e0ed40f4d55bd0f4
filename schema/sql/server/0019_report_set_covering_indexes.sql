-- Server store, version 19: the report set's rows read from indexes alone
-- (issue 13; docs/decisions/0087-the-report-set-read-from-covering-indexes.md).
-- Indexes only: the read model's rows are as they were, nothing is
-- derived again.

-- Measures 2 and 8 and the exemptions report read the requirements of
-- every team and officer by due day (requirements_team), then each row's
-- other columns from the table: a seek into the table a requirement. The
-- index now holds every column those statements read, so they are read
-- from it alone. The same name and the same leading columns: it serves
-- whatever the narrower one served.
DROP INDEX requirements_team;
CREATE INDEX requirements_team ON requirements (team_id, officer_id, due_day, due_on, triggered_day, met_day, closed, case_id);

-- Measures 3, 5 and 8 and the exemptions report join each visit or
-- requirement to its case for the case's team and officer (and whether it
-- is closed and when its supervision started): by the primary key, then
-- the table's row. This index holds those columns by case, so the join
-- reads it alone.
CREATE INDEX rm_cases_join ON rm_cases (case_id, team_id, officer_id, closed, supervision_start);

-- Measure 8's planned visits of the next four weeks: no index led with
-- the day, so SQLite probed rm_visits_case for every case and PostgreSQL
-- scanned every visit. Partial: the planned visits alone, by day; its
-- WHERE is the query's condition as it writes it.
CREATE INDEX rm_visits_planned ON rm_visits (day, case_id) WHERE status = 'planned';
