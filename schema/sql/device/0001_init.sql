-- Tablet store, version 1.
--
-- The tablet keeps the records of its user's caseload as the server last sent
-- them, overlaid with the officer's own changes; every local change is also a
-- row of the outbox until the server acknowledges it. Times are RFC 3339 text
-- in UTC ('' when unknown); JSON is stored as text exactly as received.

-- records: one row per record the tablet holds, of any entity.
-- Invariants:
--   * (entity, id) is unique; case_id never changes after creation (a case's
--     case_id is its own id).
--   * fields is a JSON object: the server's last pulled fields, overlaid with
--     the fields of every outbox mutation still pending for the record.
--   * version, received_at and updated_at are the server's receipt; version 0
--     and received_at '' mean "not yet on the server".
--   * signed = 1 once the entity's sign field is set (visit.signed_at,
--     amendment.amended_at): the tablet refuses every local change to it.
--   * rows are deleted only by a pull removal (case left the user's scope or
--     record deleted) or a wipe; never by a local write.
CREATE TABLE records (
    entity      TEXT    NOT NULL,
    id          TEXT    NOT NULL,
    case_id     TEXT    NOT NULL,
    fields      TEXT    NOT NULL DEFAULT '{}',
    version     INTEGER NOT NULL DEFAULT 0,
    received_at TEXT    NOT NULL DEFAULT '',
    updated_at  TEXT    NOT NULL DEFAULT '',
    device_time TEXT    NOT NULL DEFAULT '',
    created_by  TEXT    NOT NULL DEFAULT '',
    updated_by  TEXT    NOT NULL DEFAULT '',
    signed      INTEGER NOT NULL DEFAULT 0 CHECK (signed IN (0, 1)),
    PRIMARY KEY (entity, id)
) STRICT;

-- Removals delete by case; lists read by case and entity.
CREATE INDEX records_case ON records (case_id, entity);

-- outbox: local changes not yet acknowledged by the server, oldest first.
-- Invariants:
--   * a row is appended in the same transaction as the local change it
--     carries, and deleted only in the transaction that stores the server's
--     outcome for it (applied, duplicate or conflict);
--   * mutation_id is the mutation's id on the wire: it never changes, so a
--     resent batch is recognised by the server;
--   * status 'pending' rows are sent in seq order; 'rejected' rows are set
--     aside with the server's error (JSON schema.Error), kept and shown, never
--     resent automatically, and never block the rows after them;
--   * a pull removal or a resync never deletes outbox rows; only a wipe
--     (device revoked) does.
CREATE TABLE outbox (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    mutation_id TEXT    NOT NULL UNIQUE,
    entity      TEXT    NOT NULL,
    record_id   TEXT    NOT NULL,
    case_id     TEXT    NOT NULL,
    fields      TEXT    NOT NULL,
    clock       TEXT    NOT NULL,
    device_time TEXT    NOT NULL,
    status      TEXT    NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'rejected')),
    error       TEXT    NOT NULL DEFAULT '',
    attempts    INTEGER NOT NULL DEFAULT 0,
    created_at  TEXT    NOT NULL
) STRICT;

-- Push reads pending rows in order; pull and reads look up a record's rows.
CREATE INDEX outbox_status ON outbox (status, seq);
CREATE INDEX outbox_record ON outbox (entity, record_id);

-- sync_state: the agent's settings and progress, one value per key
-- (server_url, device_id, user, access_token, refresh_token, cursor,
-- last_sync_at, last_error, clock_skew_ms, hlc, verifier, update_required).
-- Invariants:
--   * device_id is made once, on the first open, and never changes;
--   * cursor changes only in the transaction that applies the pull page it
--     came with (or a wipe);
--   * hlc is the last clock stamp issued, written in the transaction of the
--     change it stamped, so stamps keep increasing across restarts;
--   * access_token and refresh_token are replaced together.
CREATE TABLE sync_state (
    key   TEXT NOT NULL PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;
