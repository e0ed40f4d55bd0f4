-- PostgreSQL twin of schema/sql/server/0023_rm_contact_totals.sql
-- (measure 3's contacts counted as they are written): the same table,
-- filled the same way. The comments of the SQLite file hold.

CREATE TABLE rm_contact_totals (
    started_day TEXT COLLATE "C" NOT NULL,
    team_no     BIGINT  NOT NULL,
    officer_no  BIGINT  NOT NULL,
    outcome     TEXT COLLATE "C" NOT NULL,
    channel     TEXT COLLATE "C" NOT NULL,
    place       TEXT COLLATE "C" NOT NULL,
    da          INTEGER NOT NULL,
    n           BIGINT  NOT NULL,
    PRIMARY KEY (started_day, team_no, officer_no, outcome, channel, place, da)
);

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
