-- Server store (PostgreSQL), version 16: a partial index of the first home visits'
-- requirements for measure 1 (issue 13;
-- docs/decisions/0067-the-report-sets-measures-4-and-1.md). An index
-- only: the read model's rows are as they were, nothing is derived again.

-- Measure 1 joins each case of the period to its first home visit's
-- requirement (first_home = 1) and reads its due and met days, closed and
-- due_on: four statements a report (the figures, the previous period's
-- headline, the exempted reasons, the case list). PostgreSQL read the
-- requirements' rows from the table for it (requirements_first holds the
-- case alone: 10,000 pages at 25,000 cases, most of a statement's time);
-- this index holds every column the join reads, so it is read alone. Its
-- WHERE is the join's condition as the query writes it.
CREATE INDEX requirements_first_home ON requirements (case_id, due_day, met_day, closed, due_on) WHERE first_home = 1;
