-- Server store, version 17: the signed visits of a period by case, for
-- measure 9 (serverdb.Freshness) on a team's dashboard (issue 13;
-- docs/decisions/0080-the-overview-kept-to-the-team.md). An index only.

-- records_signed_visit_day (version 3) finds the period's signed visits by
-- the day written in signed_at, every team's: at 25,000 cases a 500-case
-- team's 90 days read about 117,000 visit records to keep about 2,300.
-- This one finds a scope's cases' signed visits of the period (case_scope
-- by team or officer, then each case's by the day), so a supervisor's or
-- an officer's read grows with their cases, not with the service. Partial
-- and written as the query writes its terms, as the other.
CREATE INDEX records_signed_visit_case ON records (case_id, substr(json_extract(fields, '$.signed_at'), 1, 10))
    WHERE entity = 'visit' AND signed = 1;
