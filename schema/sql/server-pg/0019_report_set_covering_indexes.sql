-- PostgreSQL twin of schema/sql/server/0019_report_set_covering_indexes.sql
-- (the report set's rows read from indexes alone): the same indexes. The
-- comments of the SQLite file hold.

DROP INDEX requirements_team;
CREATE INDEX requirements_team ON requirements (team_id, officer_id, due_day, due_on, triggered_day, met_day, closed, case_id);

CREATE INDEX rm_cases_join ON rm_cases (case_id, team_id, officer_id, closed, supervision_start);

CREATE INDEX rm_visits_planned ON rm_visits (day, case_id) WHERE status = 'planned';
