-- Server store, version 26: the requirements not met indexed apart, for
-- measure 2's overdue requirements and measure 8's requirements due (issue
-- 13; docs/decisions/0124-the-unmet-requirements-indexed-apart.md). Indexes
-- only: the read model's rows are as they were.

-- A requirement is unmet on as_of when it was never met (met_day IS NULL)
-- or met after as_of. The two measures read that as one condition,
-- met_day IS NULL OR met_day > as_of, which no index serves: every
-- requirement row was read for the 12% not met. They read it now as two
-- branches of a UNION ALL (serverdb/readmodel_measures.go, unmetRows),
-- each of them an index's:
--
-- requirements_unmet holds the requirements never met, by due day, with
-- every column the two measures' statements read: its WHERE is the first
-- branch's term, word for word (a statement's terms must imply a partial
-- index's for it to be read), and its column met_day is in it too (SQLite
-- reads an index alone only when it holds every column the statement
-- names). Measure 2 reads its rows due before as_of, measure 8 those due
-- by as_of + 27.
CREATE INDEX requirements_unmet ON requirements (due_day, triggered_day, closed, case_id, team_id, officer_id, met_day)
    WHERE met_day IS NULL;

-- requirements_met holds the requirements met, by the day: the second
-- branch's rows, those met after as_of, are its last (none, when as_of is
-- today).
CREATE INDEX requirements_met ON requirements (met_day) WHERE met_day IS NOT NULL;
