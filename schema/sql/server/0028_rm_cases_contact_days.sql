-- Server store, version 28: each case's first and last contact days kept on
-- its read model row (issue 13;
-- docs/decisions/0129-measure-3s-case-list-from-each-cases-first-and-last-contact-days.md).
-- Derived like the rm_ tables: never synced, never the source of anything.

-- rm_cases.first_contact_day, last_contact_day: the least and the greatest
-- started_day of the case's signed contacts (rm_visits with status
-- 'signed', signed_at and started_day set: the rows measure 3 counts), ''
-- when it has none. Written by the transaction that writes the visits and
-- the case they are read from (serverdb/readmodel_contacttotals.go: the
-- cases whose contacts the transaction may change, as rm_contact_totals'),
-- so they are the case's contacts as they stand. A case whose first contact
-- day is in a period or whose last is, is a case with a contact in it;
-- measure 3's case list reads the contacts themselves only for a case with
-- contacts before and after the period.
ALTER TABLE rm_cases ADD COLUMN first_contact_day TEXT NOT NULL DEFAULT '';
ALTER TABLE rm_cases ADD COLUMN last_contact_day TEXT NOT NULL DEFAULT '';

UPDATE rm_cases SET first_contact_day = x.first_day, last_contact_day = x.last_day
FROM (SELECT v.case_id, min(v.started_day) AS first_day, max(v.started_day) AS last_day FROM rm_visits v
      WHERE v.status = 'signed' AND v.signed_at <> '' AND v.started_day <> '' GROUP BY v.case_id) x
WHERE x.case_id = rm_cases.case_id;
