-- Server store, version 2: the supervisors' review queue and freshness.
-- (docs/review.md, docs/compliance.md "Measure 9").

-- set_aside: what each rejected ("set aside") mutation tried to write, and
-- the supervisor's decision on it. The mutations table keeps the outcome
-- only; a supervisor must see the attempted values beside the server's.
-- Invariants:
--   * mutation_id is a mutations row with status 'rejected';
--   * fields (the attempted JSON object) and clock are written in the push
--     transaction that rejected the mutation, and never changed; a
--     rejection stored before this table existed has fields '' (unknown);
--   * decision is '' (open) until a supervisor or admin decides, then
--     'dismissed' or 'applied', with decided_by, decided_at and reason,
--     and never changes again; 'applied' means the attempted fields were
--     written as a new change by decided_by in the deciding transaction.
CREATE TABLE set_aside (
    mutation_id TEXT NOT NULL PRIMARY KEY,
    fields      TEXT NOT NULL DEFAULT '',
    clock       TEXT NOT NULL DEFAULT '',
    decision    TEXT NOT NULL DEFAULT '' CHECK (decision IN ('', 'dismissed', 'applied')),
    reason      TEXT NOT NULL DEFAULT '',
    decided_by  TEXT NOT NULL DEFAULT '',
    decided_at  TEXT NOT NULL DEFAULT ''
);

-- devices: how many changes were waiting in the tablet's outbox when it
-- last said so (header Doorstep-Outbox-Pending, docs/sync-protocol.md §4).
-- Invariants:
--   * outbox_pending is -1 until the device first reports it (an old app
--     never does); outbox_reported_at is the server time of that report.
ALTER TABLE devices ADD COLUMN outbox_pending BIGINT NOT NULL DEFAULT -1;
ALTER TABLE devices ADD COLUMN outbox_reported_at TEXT NOT NULL DEFAULT '';
