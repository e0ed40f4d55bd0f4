-- PostgreSQL twin of schema/sql/server/0015_rm_visits_partial_indexes.sql
-- (measures 3 and 5's partial indexes of rm_visits): the same indexes.
-- The comments of the SQLite file hold.

CREATE INDEX rm_visits_partner ON rm_visits (case_id, started_day, partner_seen_alone)
    WHERE status = 'signed' AND signed_at <> '' AND outcome = 'completed' AND face_to_face = 1 AND partner_present = 'yes';

CREATE INDEX rm_visits_elsewhere ON rm_visits (started_day, status, signed_at, visit_id, case_id, place, elsewhere_reason)
    WHERE channel = 'face_to_face_elsewhere';
