-- Server store, version 28: PostgreSQL twin of
-- schema/sql/server/0028_rm_cases_contact_days.sql (each case's first and
-- last contact days on its read model row; issue 13;
-- docs/decisions/0129-measure-3s-case-list-from-each-cases-first-and-last-contact-days.md):
-- the same columns, filled the same way. The comments of the SQLite file
-- hold. The UPDATE leaves a dead version of each case's row with a contact:
-- run VACUUM (ANALYZE) rm_cases after the upgrade where autovacuum is off.
ALTER TABLE rm_cases ADD COLUMN first_contact_day TEXT COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE rm_cases ADD COLUMN last_contact_day TEXT COLLATE "C" NOT NULL DEFAULT '';

UPDATE rm_cases SET first_contact_day = x.first_day, last_contact_day = x.last_day
FROM (SELECT v.case_id, min(v.started_day) AS first_day, max(v.started_day) AS last_day FROM rm_visits v
      WHERE v.status = 'signed' AND v.signed_at <> '' AND v.started_day <> '' GROUP BY v.case_id) x
WHERE x.case_id = rm_cases.case_id;
