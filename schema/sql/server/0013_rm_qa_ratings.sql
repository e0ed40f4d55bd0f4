-- Server store, version 13: measure 10's ratings in the compliance read
-- model (issue 13; docs/decisions/0053-the-qa-sample-on-the-read-model.md).
-- The DA risk assessment ratings (oversight records of a case with aspect
-- da_risk_assessment) were found by decoding every oversight record of the
-- scope at every request; this table holds them typed, written by the same
-- transaction as the record (serverdb/readmodel.go), under the invariants
-- of 0010_read_model.sql's rm_ tables.

-- rm_qa_ratings: one row per oversight record that is a DA risk assessment
-- rating (schema.Oversight.IsDARating), whatever its decision (the query
-- counts sufficient and insufficient). case_id is the record's case (the
-- scope, and the rows a case's rebuild deletes); subject_id the case rated.
-- day is the UTC day of at (the server's clock: the day the rating counts
-- for, compliance.RatingDay), '' when at does not parse. Never updated: a
-- changed record's row is deleted and written again.
CREATE TABLE rm_qa_ratings (
    oversight_id TEXT NOT NULL PRIMARY KEY,
    case_id      TEXT NOT NULL,
    subject_id   TEXT NOT NULL,
    decision     TEXT NOT NULL,
    reason       TEXT NOT NULL,
    rated_by     TEXT NOT NULL,
    rated_at     TEXT NOT NULL,
    day          TEXT NOT NULL
) STRICT;

CREATE INDEX rm_qa_ratings_subject ON rm_qa_ratings (subject_id, day);
CREATE INDEX rm_qa_ratings_case ON rm_qa_ratings (case_id);

-- A store migrated from before this table has ratings to fill it with:
-- the read model is built again at the next open (its tag no longer
-- matches the rules', serverdb.DB.buildReadModel).
UPDATE read_model_state SET policy_tag = '';
