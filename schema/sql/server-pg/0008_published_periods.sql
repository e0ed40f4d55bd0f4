-- Server store, version 8: published periods (issue 10; docs/compliance.md,
-- "Published periods"; docs/decisions/0031-published-periods.md).
--
-- publications: a period's compliance figures as they were published, by a
-- supervisor (their team's) or an admin (a team's or the whole service's).
-- Invariants:
--   * append-only: the triggers below refuse UPDATE and DELETE. A period is
--     never changed, only superseded by a new publication of the same scope
--     (team_id, '' for the whole service) and period (period_from,
--     period_to), which names it in supersedes and gives its reason;
--   * a publication is superseded at most once (the unique index on
--     supersedes), so the publications of one scope and period form a chain
--     whose last link is the current one;
--   * figures is the JSON of every figure, the case lists behind them and
--     the cases' CRNs, exactly as sent to the publisher; figures_hash is its
--     SHA-256 (hex), also written to the audit event of the publication;
--   * seq is the store's change number read before the figures were
--     computed, and no record was written between that read and the
--     publication's commit: a record whose seq is higher changed after
--     publication. audit_id is the publication's own audit event: a
--     record's events with a higher id came after it;
--   * rule_version and rules_tag name the visit rules the figures were
--     computed with (the document's version and policy.Tag of it);
--   * published_by_name is the publisher's name when they published.
CREATE TABLE publications (
    id                TEXT    NOT NULL PRIMARY KEY,
    team_id           TEXT    NOT NULL,
    period_from       TEXT    NOT NULL,
    period_to         TEXT    NOT NULL,
    as_of             TEXT    NOT NULL,
    rule_version      TEXT    NOT NULL,
    rules_tag         TEXT    NOT NULL,
    published_at      TEXT    NOT NULL,
    published_by      TEXT    NOT NULL,
    published_by_name TEXT    NOT NULL,
    reason            TEXT    NOT NULL DEFAULT '',
    supersedes        TEXT    NOT NULL DEFAULT '',
    seq               BIGINT NOT NULL,
    audit_id          BIGINT NOT NULL,
    figures           TEXT    NOT NULL,
    figures_hash      TEXT    NOT NULL
);

CREATE INDEX publications_scope ON publications (team_id, period_from, period_to);
CREATE UNIQUE INDEX publications_supersedes ON publications (supersedes) WHERE supersedes <> '';

CREATE FUNCTION publications_no_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'a published period is never changed: publish it again, with a reason, to supersede it';
END;
$$;

CREATE TRIGGER publications_no_update BEFORE UPDATE ON publications
    FOR EACH ROW EXECUTE FUNCTION publications_no_update();

CREATE FUNCTION publications_no_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'a published period is never deleted: publish it again, with a reason, to supersede it';
END;
$$;

CREATE TRIGGER publications_no_delete BEFORE DELETE ON publications
    FOR EACH ROW EXECUTE FUNCTION publications_no_delete();
