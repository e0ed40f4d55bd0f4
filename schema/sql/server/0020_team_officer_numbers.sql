-- Server store, version 20: the teams' and officers' numbers (issue 13;
-- docs/decisions/0091-measure-3-grouped-by-team-and-officer-numbers.md).
-- Measure 3's counts group some 134,000 contacts (at 25,000 cases) by the
-- case's team and officer: two 36-character text ids, hashed or compared
-- on every row. Grouped by two integers instead, and the ids read back
-- once a group, the statement does less work a row on both stores.

-- rm_ids: a number for each team id and officer id the read model has
-- seen (one table for both: a number stands for a string, whichever it
-- names). Assigned on first sight by the write that puts a case row in
-- rm_cases (serverdb/readmodel.go), in the same transaction, and never
-- changed or removed: a rebuild of the read model keeps it, so a number
-- means the same id for the store's life. Derived like the rm_ tables:
-- never synced, never the source of anything.
CREATE TABLE rm_ids (
    no INTEGER NOT NULL PRIMARY KEY,
    id TEXT    NOT NULL UNIQUE
) STRICT;

INSERT INTO rm_ids (id) SELECT team_id FROM rm_cases UNION SELECT officer_id FROM rm_cases ORDER BY 1;

-- rm_cases.team_no, officer_no: the numbers (rm_ids) of team_id and
-- officer_id, written with them.
ALTER TABLE rm_cases ADD COLUMN team_no INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rm_cases ADD COLUMN officer_no INTEGER NOT NULL DEFAULT 0;

UPDATE rm_cases SET team_no = (SELECT no FROM rm_ids WHERE id = rm_cases.team_id),
    officer_no = (SELECT no FROM rm_ids WHERE id = rm_cases.officer_id);

-- rm_cases_join (migration 0019) holds the numbers too, so that the join
-- of a contact to its case still reads that index alone.
DROP INDEX rm_cases_join;
CREATE INDEX rm_cases_join ON rm_cases (case_id, team_id, officer_id, closed, supervision_start, team_no, officer_no);
