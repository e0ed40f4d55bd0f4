-- Server store, version 22: two fewer index entries for every visit row
-- that is not a signed contact (issue 13;
-- docs/decisions/0096-the-push-on-sqlite-fewer-visit-index-entries.md).
-- Indexes only: the read model's rows are as they were.

-- rm_visits_started (version 11) was read by no statement: every query
-- that asks rm_visits by started_day (measures 3 and 5, the partner
-- figures) also asks for a signed visit with a signing time and a start,
-- and reads rm_visits_contacts, which leads with the same column and holds
-- every column they read, or rm_visits_partner. Yet every visit written
-- gave it an entry.
DROP INDEX rm_visits_started;

-- rm_visits_contacts (version 14) holds the signed contacts alone: its
-- WHERE is the condition every statement that reads it writes (the
-- statement's terms must imply the index's for it to be used), so a draft,
-- a planned or a cancelled visit, written and rewritten many times before
-- it is signed, gives it no entry. Its columns are as they were.
DROP INDEX rm_visits_contacts;
CREATE INDEX rm_visits_contacts ON rm_visits (started_day, status, signed_at, case_id, outcome, channel, place, da,
    child_not_on_record, expected, accounted, reasons)
    WHERE status = 'signed' AND signed_at <> '' AND started_day <> '';
