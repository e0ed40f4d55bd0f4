-- PostgreSQL twin of schema/sql/server/0025_rm_exempt.sql (the days each
-- case is exempted by its safety assessments, written with rm_safety): the
-- same table, filled by the same statement. The comments of the SQLite
-- file hold.

CREATE TABLE rm_exempt (
    case_id       TEXT COLLATE "C" NOT NULL,
    from_day      TEXT COLLATE "C" NOT NULL,
    to_day        TEXT COLLATE "C" NOT NULL,
    assessment_id TEXT COLLATE "C" NOT NULL,
    decision      TEXT COLLATE "C" NOT NULL,
    reason        TEXT COLLATE "C" NOT NULL,
    decided_by    TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (case_id, from_day)
);

INSERT INTO rm_exempt (case_id, from_day, to_day, assessment_id, decision, reason, decided_by)
SELECT case_id, from_day, COALESCE(next_on, '9999-12-31'), assessment_id, decision, reason, decided_by
FROM (SELECT s.case_id, s.assessment_id, s.decision, s.reason, s.decided_by, s.exempting,
        CASE WHEN s.decided_on > s.assessed_on THEN s.decided_on ELSE s.assessed_on END AS from_day,
        LEAD(s.assessed_on) OVER (PARTITION BY s.case_id ORDER BY s.assessed_on, s.decided_on, s.assessment_id) AS next_on
    FROM rm_safety s WHERE s.applies = 1 AND s.assessed_on <> '') x
WHERE exempting = 1 AND (next_on IS NULL OR next_on > from_day);
