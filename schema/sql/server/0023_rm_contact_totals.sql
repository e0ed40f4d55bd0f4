-- Server store, version 23: measure 3's contacts counted as they are
-- written (issue 13; docs/decisions/0097-measure-3s-contacts-totalled-on-write.md).
-- Derived like the rm_ tables: never synced, never the source of anything.

-- rm_contact_totals: how many signed contacts (rm_visits with status
-- 'signed', signed_at and started_day set: the rows measure 3 counts) each
-- team and officer (the case's numbers now, rm_cases.team_no, officer_no)
-- has on each started_day, and in each month (a row whose started_day is
-- the month's first seven characters, "2026-09": a report sums the rows of
-- its whole months and the day rows of its other days), by outcome,
-- channel, place and da. Written by the transaction that writes the visits
-- and cases it sums (serverdb/readmodel_contacttotals.go: the touched
-- cases' groups are taken away before the read model's rows are written
-- and added back after), so it is the grouped count of the rows as they
-- stand: a visit signed or amended, a case reallocated, a DA flag that
-- starts or ends all move their contacts between rows. A group with no
-- contact has no row. Kept in its key's order (WITHOUT ROWID; on
-- PostgreSQL filled in that order), so that the rows of a day or a month
-- are together on disk: filled unordered, a quarter's rows were read from
-- ten times the pages.
CREATE TABLE rm_contact_totals (
    started_day TEXT    NOT NULL,
    team_no     INTEGER NOT NULL,
    officer_no  INTEGER NOT NULL,
    outcome     TEXT    NOT NULL,
    channel     TEXT    NOT NULL,
    place       TEXT    NOT NULL,
    da          INTEGER NOT NULL,
    n           INTEGER NOT NULL,
    PRIMARY KEY (started_day, team_no, officer_no, outcome, channel, place, da)
) STRICT, WITHOUT ROWID;

INSERT INTO rm_contact_totals (started_day, team_no, officer_no, outcome, channel, place, da, n)
SELECT v.started_day, c.team_no, c.officer_no, v.outcome, v.channel, v.place, v.da, count(*)
FROM rm_visits v JOIN rm_cases c ON c.case_id = v.case_id
WHERE v.status = 'signed' AND v.signed_at <> '' AND v.started_day <> ''
GROUP BY v.started_day, c.team_no, c.officer_no, v.outcome, v.channel, v.place, v.da
ORDER BY 1, 2, 3, 4, 5, 6, 7;

INSERT INTO rm_contact_totals (started_day, team_no, officer_no, outcome, channel, place, da, n)
SELECT substr(v.started_day, 1, 7), c.team_no, c.officer_no, v.outcome, v.channel, v.place, v.da, count(*)
FROM rm_visits v JOIN rm_cases c ON c.case_id = v.case_id
WHERE v.status = 'signed' AND v.signed_at <> '' AND v.started_day <> ''
GROUP BY substr(v.started_day, 1, 7), c.team_no, c.officer_no, v.outcome, v.channel, v.place, v.da
ORDER BY 1, 2, 3, 4, 5, 6, 7;
