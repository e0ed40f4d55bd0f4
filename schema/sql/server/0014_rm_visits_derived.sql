-- Server store, version 14: what measures 3 and 5 asked of other rows
-- for every visit, now written with the visit (issue 13;
-- docs/decisions/0061-measures-3-and-5-read-the-visits-columns.md).
-- Measure 3's domestic_abuse figures probed rm_flags for every contact of
-- the period, and measure 5 counted each home visit's expected and
-- accounted-for children in rm_household and rm_visit_children, at every
-- request. Both depend on the records alone (the visit's started_day and
-- answers, the case's flags and household), so they are derived when the
-- rows are written, under the invariants of 0010_read_model.sql.

-- rm_visits: da is 1 when the case has a flag of type da_perpetrator or
-- da_victim live on started_day (start_date '' or on or before it,
-- ended_on '' or after it), else 0. Of the children the visit should have
-- seen (own, step or other children on the household list on started_day
-- who live or sometimes stay there, born by then): expected, how many;
-- accounted, how many the visit recorded seen or gave a reason not seen
-- (rm_visit_children answer 'seen' or 'reason'); reasons, how many given
-- a reason. All four are worked out again for every visit of a case
-- whenever one of its visits, amendments, flags or household members is
-- written (serverdb/readmodel.go, rmWriter.deriveVisits).
ALTER TABLE rm_visits ADD COLUMN da INTEGER NOT NULL DEFAULT 0 CHECK (da IN (0, 1));
ALTER TABLE rm_visits ADD COLUMN expected INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rm_visits ADD COLUMN accounted INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rm_visits ADD COLUMN reasons INTEGER NOT NULL DEFAULT 0;

-- The contacts of a period (measure 3) and its home visits (measure 5)
-- are signed visits by started_day: the index holds every column their
-- figures read, so they are counted without reading the table's rows.
CREATE INDEX rm_visits_contacts ON rm_visits (started_day, status, signed_at, case_id, outcome, channel, place, da,
    child_not_on_record, expected, accounted, reasons);

-- Existing stores derive every case again on their next open
-- (serverdb.DB.buildReadModel: the tag no longer matches), which fills
-- the columns.
UPDATE read_model_state SET policy_tag = '';
