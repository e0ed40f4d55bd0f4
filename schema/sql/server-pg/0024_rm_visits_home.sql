-- PostgreSQL twin of schema/sql/server/0024_rm_visits_home.sql (the
-- completed home visits indexed apart for measure 5's children-seen
-- counts): the same index, without the columns of its WHERE, which
-- PostgreSQL does not need to read it alone (a term the index's WHERE
-- implies is not checked again). The comments of the SQLite file hold.

CREATE INDEX rm_visits_home ON rm_visits (started_day, case_id, child_not_on_record, expected, accounted, reasons)
    WHERE status = 'signed' AND signed_at <> '' AND started_day <> '' AND outcome = 'completed'
    AND channel = 'face_to_face_home';
