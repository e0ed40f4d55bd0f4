-- Server store, version 15: two partial indexes of rm_visits for the
-- report set's measures 3 and 5 (issue 13;
-- docs/decisions/0064-the-report-sets-measures-3-and-5-on-postgresql.md).
-- Indexes only: the read model's rows are as they were, nothing is
-- derived again.

-- Measure 5's partner figures ask, for each case, whether a completed
-- face-to-face visit of the period found the partner present (and seen
-- alone). PostgreSQL read the whole of rm_visits twice a statement for
-- it (a parallel sequential scan: rm_visits_contacts lacks the partner's
-- columns); SQLite probed every visit of the case. The index holds those
-- visits alone, by case then day, with the one column the figure reads;
-- its WHERE is the queries' conditions as they write them, so that both
-- stores see that it applies.
CREATE INDEX rm_visits_partner ON rm_visits (case_id, started_day, partner_seen_alone)
    WHERE status = 'signed' AND signed_at <> '' AND outcome = 'completed' AND face_to_face = 1 AND partner_present = 'yes';

-- Measure 3's elsewhere_reasons list the contacts of the period away from
-- the home with their place and reason: the index holds every column the
-- list reads, so it is read from the index alone (PostgreSQL scanned the
-- table for it).
CREATE INDEX rm_visits_elsewhere ON rm_visits (started_day, status, signed_at, visit_id, case_id, place, elsewhere_reason)
    WHERE channel = 'face_to_face_elsewhere';
