-- Server store (PostgreSQL), version 21: two indexes no statement reads
-- dropped (issue 13; docs/decisions/0094-the-postgresql-push-without-its-unread-indexes.md).
-- Indexes only: the read model's rows are as they were.
--
-- Every visit and every requirement the push writes cost an entry in each
-- index of its table. On a copy of a 25,000-case store, PostgreSQL's
-- plans of every read-model statement (the report set and the dashboard
-- for an admin, a team's supervisor and an officer, each narrowed to a
-- team and to an officer; the case lists; the pushes) never read these
-- two (pg_stat_user_indexes: no scan), and no statement can need them:
--
-- rm_visits_started (started_day, case_id), 74 MB at 25,000 cases:
-- rm_visits_contacts (0014) begins with started_day and holds case_id,
-- so whatever it could serve, that index serves.
DROP INDEX rm_visits_started;

-- requirements_first (first_home, case_id), 5 MB: the one statement that
-- reads requirements by first_home (measure 1's join, r.first_home = 1
-- on the case) reads requirements_first_home (0016), which holds every
-- column it needs; the rest read by case (the primary key), team
-- (requirements_team) or due day (requirements_due).
DROP INDEX requirements_first;
