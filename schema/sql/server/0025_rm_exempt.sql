-- Server store, version 25: the days each case is exempted by its safety
-- assessments, written with rm_safety (issue 13;
-- docs/decisions/0112-the-exempted-days-written-with-the-assessments.md).
-- Derived like the rm_ tables: never synced, never the source of anything.

-- rm_exempt: the spans of days on which a case's safety assessment exempts
-- it, one row a span: from_day <= D < to_day. The assessment that exempts
-- a case on D is its latest applying assessment assessed on or before D
-- (rm_safety.applies = 1, by assessed_on, decided_on, assessment_id: an
-- order with no ties), when that one exempts (exempting = 1) and its
-- decision was made by D (decided_on '' or on or before D). So an
-- exempting assessment exempts from the later of its assessed_on and
-- decided_on until the next assessed_on of the case's applying
-- assessments after its own ('9999-12-31' when there is none); one
-- followed by another assessed the same day, or by one assessed before its
-- decision was made, exempts on no day and has no row. The spans of a case
-- never overlap (each lies within its assessment's days as the latest), so
-- (case_id, from_day) is a key. The assessment's decision, reason and
-- decider are copied, for the reports that name them. The transaction that
-- writes a case's rm_safety rows writes its spans again from them, by this
-- statement (serverdb/readmodel.go, rmExemptSelect); a rebuild of the read
-- model writes them all. A report asks "exempted on D" of this table by one
-- index probe, where it worked out each case's latest assessment over all
-- of rm_safety in every statement.
CREATE TABLE rm_exempt (
    case_id       TEXT NOT NULL,
    from_day      TEXT NOT NULL,
    to_day        TEXT NOT NULL,
    assessment_id TEXT NOT NULL,
    decision      TEXT NOT NULL,
    reason        TEXT NOT NULL,
    decided_by    TEXT NOT NULL,
    PRIMARY KEY (case_id, from_day)
) STRICT, WITHOUT ROWID;

INSERT INTO rm_exempt (case_id, from_day, to_day, assessment_id, decision, reason, decided_by)
SELECT case_id, from_day, COALESCE(next_on, '9999-12-31'), assessment_id, decision, reason, decided_by
FROM (SELECT s.case_id, s.assessment_id, s.decision, s.reason, s.decided_by, s.exempting,
        CASE WHEN s.decided_on > s.assessed_on THEN s.decided_on ELSE s.assessed_on END AS from_day,
        LEAD(s.assessed_on) OVER (PARTITION BY s.case_id ORDER BY s.assessed_on, s.decided_on, s.assessment_id) AS next_on
    FROM rm_safety s WHERE s.applies = 1 AND s.assessed_on <> '') x
WHERE exempting = 1 AND (next_on IS NULL OR next_on > from_day);
