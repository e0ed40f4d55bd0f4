-- Server store, version 24: the completed home visits indexed apart, for
-- measure 5's children-seen counts (issue 13;
-- docs/decisions/0106-measure-4s-cases-and-measure-5s-home-visits-read-less.md).
-- An index only: the read model's rows are as they were.

-- rm_visits_home holds the signed, completed home visits (channel
-- face_to_face_home) by the day they started, with every column measure 5's
-- counts of visits read (serverdb/readmodel_households.go, householdVisits):
-- its WHERE is that statement's condition, word for word (a statement's
-- terms must imply a partial index's for it to be read). They read
-- rm_visits_contacts before, every signed contact of the period, of which
-- the completed home visits are about a fifth. The WHERE's columns are in
-- it too: SQLite reads an index alone only when it holds every column the
-- statement names, those of the terms its WHERE implies among them.
CREATE INDEX rm_visits_home ON rm_visits (started_day, case_id, child_not_on_record, expected, accounted, reasons,
    status, signed_at, outcome, channel)
    WHERE status = 'signed' AND signed_at <> '' AND started_day <> '' AND outcome = 'completed'
    AND channel = 'face_to_face_home';
