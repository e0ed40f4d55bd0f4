-- Tablet store, version 2: what the officer decided about changes the
-- server set aside (docs/decisions/0009-set-aside-changes.md).

-- outbox.current: the server's values of a set-aside change's fields, as
-- its rejection answer said them (MutationResult.current, JSON object), or
-- '' when the answer carried none (a record the server does not have, a
-- mutation refused whole).
ALTER TABLE outbox ADD COLUMN current TEXT NOT NULL DEFAULT '';

-- outbox.before: the values on the tablet that the change replaced (JSON
-- object; null for a field the record did not have), written with the row.
-- Discarding a change whose rejection carried no current puts these back.
ALTER TABLE outbox ADD COLUMN before TEXT NOT NULL DEFAULT '';

-- outbox_log: every decision the officer took about a set-aside change or a
-- lost value, with the change's content as it was, so that nothing leaves
-- the outbox without a trace.
-- Invariants:
--   * append-only: rows are never updated, and deleted only by a wipe
--     (device revoked, or the tablet handed to another user);
--   * decision 'discarded': the outbox row mutation_id was deleted in the
--     same transaction; its fields are kept here, never sent;
--   * decision 'retried': the row was replaced, in the same transaction, by
--     a new pending row new_mutation_id (a new id: the server remembers the
--     old one as rejected);
--   * decision 'kept_mine': conflict conflict_id (reason lww_lost) was
--     resolved by writing the losing value again as new_mutation_id;
--     mutation_id is '' and fields holds the value written.
CREATE TABLE outbox_log (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    decision        TEXT    NOT NULL CHECK (decision IN ('discarded', 'retried', 'kept_mine')),
    mutation_id     TEXT    NOT NULL DEFAULT '',
    new_mutation_id TEXT    NOT NULL DEFAULT '',
    conflict_id     TEXT    NOT NULL DEFAULT '',
    entity          TEXT    NOT NULL,
    record_id       TEXT    NOT NULL,
    case_id         TEXT    NOT NULL,
    fields          TEXT    NOT NULL,
    clock           TEXT    NOT NULL DEFAULT '',
    device_time     TEXT    NOT NULL DEFAULT '',
    error           TEXT    NOT NULL DEFAULT '',
    changed_at      TEXT    NOT NULL DEFAULT '',
    decided_by      TEXT    NOT NULL,
    decided_at      TEXT    NOT NULL
) STRICT;

CREATE INDEX outbox_log_record ON outbox_log (entity, record_id);
