-- Server store, version 1.
--
-- Every entity record of every kind lives in one table, `records`, as a JSON
-- document with a per-field clock (docs/decisions/0001-records-as-json-documents.md).
-- Times are text in UTC, fixed width, 'YYYY-MM-DDTHH:MM:SS.mmmZ', so they
-- sort as they compare ('' when unknown). JSON is stored as compact text.
-- The SQL is kept portable where it costs nothing (no AUTOINCREMENT, no
-- SQLite-only column types) so that the PostgreSQL store can follow it.
--
-- This is the PostgreSQL twin of schema/sql/server/0001_init.sql: the same
-- tables, columns, invariants and indexes, numbered alike, so both stores
-- report the same schema version. INTEGER is BIGINT here, TEXT stays TEXT
-- (JSON is text, cast to jsonb where a query reads into it), no STRICT.

-- doorstep_store: marks a schema as a Doorstep server store, as SQLite's
-- application_id does a file: serverdb refuses a schema that holds tables
-- without it. Exactly one row.
CREATE TABLE doorstep_store (
    id          BIGINT NOT NULL PRIMARY KEY CHECK (id = 1),
    application BIGINT NOT NULL
);

INSERT INTO doorstep_store (id, application) VALUES (1, 1146311510);

-- teams: probation teams.
-- Invariants:
--   * name is unique; id never changes.
CREATE TABLE teams (
    id         TEXT NOT NULL PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL
);

-- users: everyone who signs in.
-- Invariants:
--   * username is unique and never changes;
--   * password_hash is a bcrypt hash; it never leaves the store;
--   * officers and supervisors belong to a team; admins and auditors may not.
CREATE TABLE users (
    id            TEXT    NOT NULL PRIMARY KEY,
    username      TEXT    NOT NULL UNIQUE,
    name          TEXT    NOT NULL,
    role          TEXT    NOT NULL CHECK (role IN ('officer', 'supervisor', 'admin', 'auditor')),
    team_id       TEXT    REFERENCES teams (id),
    password_hash TEXT    NOT NULL,
    disabled      BIGINT NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
    created_at    TEXT    NOT NULL
);

CREATE INDEX users_team ON users (team_id, role);

-- devices: tablets (and browsers), each registered to one user at its first
-- login.
-- Invariants:
--   * user_id never changes: a device id presented by another user is refused;
--   * revoked_at, once set, is never cleared; a revoked device gets no tokens
--     and is told to wipe at its next contact;
--   * the sync columns hold what the device reported at its last sync.
CREATE TABLE devices (
    id            TEXT    NOT NULL PRIMARY KEY,
    user_id       TEXT    NOT NULL REFERENCES users (id),
    name          TEXT    NOT NULL DEFAULT '',
    app_version   TEXT    NOT NULL DEFAULT '',
    protocol      BIGINT NOT NULL DEFAULT 0,
    schema        BIGINT NOT NULL DEFAULT 0,
    registered_at TEXT    NOT NULL,
    last_seen_at  TEXT    NOT NULL DEFAULT '',
    last_sync_at  TEXT    NOT NULL DEFAULT '',
    clock_skew_ms BIGINT NOT NULL DEFAULT 0,
    revoked_at    TEXT    NOT NULL DEFAULT ''
);

CREATE INDEX devices_user ON devices (user_id);

-- refresh_tokens: one row per refresh token ever issued.
-- Invariants:
--   * only the SHA-256 of the token is stored (hex), never the token;
--   * a token is spent at most once (spent_at set when it is swapped for a
--     new pair, successor = the hash of the token given for it); presenting
--     a spent token revokes every token of its device, except within
--     serverdb.refreshGrace of its spending while its successor is unused
--     (the answer was lost in transit: the successor is revoked, a new one
--     issued);
--   * a login revokes every earlier token of its device (serverdb DB.Login);
--   * bound to one device and user; rows are never deleted, so reuse of an
--     old token is always recognised.
CREATE TABLE refresh_tokens (
    hash       TEXT NOT NULL PRIMARY KEY,
    device_id  TEXT NOT NULL REFERENCES devices (id),
    user_id    TEXT NOT NULL REFERENCES users (id),
    issued_at  TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    spent_at   TEXT NOT NULL DEFAULT '',
    successor  TEXT NOT NULL DEFAULT '',
    revoked_at TEXT NOT NULL DEFAULT ''
);

CREATE INDEX refresh_tokens_device ON refresh_tokens (device_id);

-- sequence: the one server-wide change counter. Every record write and every
-- scope event takes the next number inside its writing transaction.
-- Invariants:
--   * exactly one row (id = 1); value only grows;
--   * value is the highest number handed out, so a pull that reaches the end
--     may use it as its cursor.
CREATE TABLE sequence (
    id    BIGINT NOT NULL PRIMARY KEY CHECK (id = 1),
    value BIGINT NOT NULL
);

INSERT INTO sequence (id, value) VALUES (1, 0);

-- records: every record of every entity (case, flag, visit, conflict, ...).
-- Invariants:
--   * id is unique across entities; entity and case_id never change (a
--     case's case_id is its own id);
--   * fields is a JSON object of the entity's fields; clocks is a JSON object
--     mapping each field to the HLC text of its last write, where the key
--     "" gives the stamp of every field of fields without a key of its own
--     (docs/decisions/0059-the-push-writes-one-clock-stamp.md);
--   * version starts at 1 and grows by one per applied change;
--   * seq is the sequence number of the last change: unique, and it only
--     grows for a row; pull pages by it;
--   * signed = 1 once the entity's sign field is set; a signed row's fields
--     and clocks never change again (only its conflicts and amendments are
--     written, as other records);
--   * echo_device is the device whose own push made the current state, in
--     full (see serverdb.PushAt); that device's pulls leave the row out. Any
--     change not made so, including a lost write's renumbering, resets it
--     to '';
--   * rows are never deleted.
CREATE TABLE records (
    id          TEXT    NOT NULL PRIMARY KEY,
    entity      TEXT    NOT NULL,
    case_id     TEXT    NOT NULL,
    fields      TEXT    NOT NULL,
    clocks      TEXT    NOT NULL,
    version     BIGINT NOT NULL CHECK (version >= 1),
    seq         BIGINT NOT NULL UNIQUE,
    received_at TEXT    NOT NULL,
    updated_at  TEXT    NOT NULL,
    device_time TEXT    NOT NULL DEFAULT '',
    created_by  TEXT    NOT NULL DEFAULT '',
    updated_by  TEXT    NOT NULL DEFAULT '',
    signed      BIGINT NOT NULL DEFAULT 0 CHECK (signed IN (0, 1)),
    echo_device TEXT    NOT NULL DEFAULT ''
);

-- Lists and scope reads go by case. (case_id, seq) lets pull's first step
-- (which numbers of my cases are after the cursor) seek each case's range,
-- so a no-op pull costs a seek per case however long the history; with
-- echo_device the index covers that step, and only a page's rows are read.
CREATE INDEX records_case ON records (case_id, seq, echo_device);

-- case_scope: who may see each case, kept in step with the case record's
-- officer_id and team_id in the transaction that writes them.
-- Invariants:
--   * one row per case record, same id;
--   * officer_id and team_id equal the case record's fields of those names.
CREATE TABLE case_scope (
    case_id    TEXT NOT NULL PRIMARY KEY REFERENCES records (id),
    officer_id TEXT NOT NULL,
    team_id    TEXT NOT NULL
);

CREATE INDEX case_scope_officer ON case_scope (officer_id);
CREATE INDEX case_scope_team ON case_scope (team_id);

-- scope_events: a case entering (grant) or leaving (revoke) one user's
-- scope because the case was reassigned. Numbered from the same sequence as
-- records, so a pull cursor covers both.
-- Invariants:
--   * append-only;
--   * seq is unique among records' and events' numbers.
CREATE TABLE scope_events (
    seq     BIGINT NOT NULL PRIMARY KEY,
    user_id TEXT    NOT NULL,
    case_id TEXT    NOT NULL,
    kind    TEXT    NOT NULL CHECK (kind IN ('grant', 'revoke')),
    at      TEXT    NOT NULL
);

CREATE INDEX scope_events_user ON scope_events (user_id, seq);

-- mutations: every mutation the server has decided, by its id: the
-- idempotency table (a resent mutation repeats its stored outcome) and the
-- log of rejected ("set aside") mutations.
-- Invariants:
--   * a row is written in the same transaction as the changes its outcome
--     describes, and never changed afterwards;
--   * status is the first outcome: applied, conflict or rejected;
--   * user_id and device_id are who sent the mutation: the id is theirs, and
--     the same id sent by anyone else is refused (serverdb applier.duplicate);
--   * error is the schema.Error JSON of a rejection ('' otherwise); lost is
--     the JSON list of fields that lost ('' when none).
CREATE TABLE mutations (
    mutation_id TEXT NOT NULL PRIMARY KEY,
    device_id   TEXT NOT NULL DEFAULT '',
    user_id     TEXT NOT NULL,
    entity      TEXT NOT NULL,
    record_id   TEXT NOT NULL,
    case_id     TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('applied', 'conflict', 'rejected')),
    error       TEXT NOT NULL DEFAULT '',
    lost        TEXT NOT NULL DEFAULT '',
    received_at TEXT NOT NULL,
    device_time TEXT NOT NULL DEFAULT ''
);

-- The index serves the rejected ("set aside") mutations of
-- a device only, so it is partial: applied ones, nearly all, never touch it.
CREATE INDEX mutations_rejected ON mutations (device_id) WHERE status = 'rejected';

-- audit: who did what to which record, when, from which device.
-- Invariants:
--   * append-only: rows are never updated or deleted;
--   * written in the same transaction as the change it records.
CREATE TABLE audit (
    id        BIGINT NOT NULL PRIMARY KEY,
    at        TEXT    NOT NULL,
    user_id   TEXT    NOT NULL,
    device_id TEXT    NOT NULL DEFAULT '',
    action    TEXT    NOT NULL,
    entity    TEXT    NOT NULL DEFAULT '',
    record_id TEXT    NOT NULL DEFAULT '',
    case_id   TEXT    NOT NULL DEFAULT '',
    detail    TEXT    NOT NULL DEFAULT '{}'
);

CREATE INDEX audit_case ON audit (case_id);

-- settings: server-wide values by key (jwt_secret, ...).
-- Invariants:
--   * jwt_secret is written once, at the first start, and kept.
CREATE TABLE settings (
    key   TEXT NOT NULL PRIMARY KEY,
    value TEXT NOT NULL
);
