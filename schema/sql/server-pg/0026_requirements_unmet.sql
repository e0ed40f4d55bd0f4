-- PostgreSQL twin of schema/sql/server/0026_requirements_unmet.sql (the
-- requirements not met indexed apart for measures 2 and 8): the same
-- indexes, requirements_unmet's columns other than its key included
-- (INCLUDE) and without met_day, which PostgreSQL does not need to read
-- it alone (a term the index's WHERE implies is not checked again). The
-- comments of the SQLite file hold.

CREATE INDEX requirements_unmet ON requirements (due_day) INCLUDE (triggered_day, closed, case_id, team_id, officer_id)
    WHERE met_day IS NULL;

CREATE INDEX requirements_met ON requirements (met_day) WHERE met_day IS NOT NULL;
