-- PostgreSQL twin of schema/sql/server/0022_rm_visits_signed_contacts.sql
-- (rm_visits_started dropped, rm_visits_contacts kept to the signed
-- contacts): the same indexes. The comments of the SQLite file hold.
-- Decision 0094 may have dropped rm_visits_started here already (its
-- migration 0021: PostgreSQL's plans never read it either), hence IF EXISTS.

DROP INDEX IF EXISTS rm_visits_started;

DROP INDEX rm_visits_contacts;
CREATE INDEX rm_visits_contacts ON rm_visits (started_day, status, signed_at, case_id, outcome, channel, place, da,
    child_not_on_record, expected, accounted, reasons)
    WHERE status = 'signed' AND signed_at <> '' AND started_day <> '';
