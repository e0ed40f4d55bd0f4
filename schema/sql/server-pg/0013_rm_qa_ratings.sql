-- PostgreSQL twin of schema/sql/server/0013_rm_qa_ratings.sql (measure 10's
-- ratings in the compliance read model): the same table, columns and
-- indexes, every TEXT column COLLATE "C" as in 0010_read_model.sql (the
-- latest rating is chosen by comparing rated_at and the id as text). The
-- comments of the SQLite file hold.

CREATE TABLE rm_qa_ratings (
    oversight_id TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    case_id      TEXT COLLATE "C" NOT NULL,
    subject_id   TEXT COLLATE "C" NOT NULL,
    decision     TEXT COLLATE "C" NOT NULL,
    reason       TEXT COLLATE "C" NOT NULL,
    rated_by     TEXT COLLATE "C" NOT NULL,
    rated_at     TEXT COLLATE "C" NOT NULL,
    day          TEXT COLLATE "C" NOT NULL
);

CREATE INDEX rm_qa_ratings_subject ON rm_qa_ratings (subject_id, day);
CREATE INDEX rm_qa_ratings_case ON rm_qa_ratings (case_id);

UPDATE read_model_state SET policy_tag = '';
