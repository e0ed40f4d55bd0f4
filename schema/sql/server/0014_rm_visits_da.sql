-- Server store, version 14: each visit's domestic-abuse flag in the
-- compliance read model (issue 13;
-- docs/decisions/0061-measures-3-and-5-read-each-visits-flag.md).
-- Measure 3's domestic_abuse figures asked, for every contact of the
-- period, whether the case had a DA flag live on the contact's day: a
-- probe of rm_flags a visit at every request. It depends on the records
-- alone (the visit's started_day and the case's flags), so it is written
-- with the row, under the invariants of 0010_read_model.sql.

-- rm_visits: da is 1 when the case has a flag of type da_perpetrator or
-- da_victim live on started_day (start_date '' or on or before it, ended_on
-- '' or after it), else 0. Worked out again for all of a case's visits
-- whenever one of its visits, amendments or flags is written
-- (serverdb/readmodel.go, rmWriter.deriveVisitDA).
ALTER TABLE rm_visits ADD COLUMN da INTEGER NOT NULL DEFAULT 0 CHECK (da IN (0, 1));

-- Measure 3's contacts are the period's signed visits by started_day: the
-- index holds every column its figures read, so they are counted without
-- reading the table's rows.
CREATE INDEX rm_visits_contacts ON rm_visits (started_day, status, signed_at, case_id, outcome, channel, place, da);

-- Existing stores derive every case again on their next open
-- (serverdb.DB.buildReadModel: the tag no longer matches), which fills
-- the column.
UPDATE read_model_state SET policy_tag = '';
