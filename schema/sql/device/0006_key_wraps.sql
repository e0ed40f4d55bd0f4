-- Tablet store, version 6: the data sealed at rest (issue 12;
-- docs/decisions/0033-sealed-at-rest.md, docs/security.md "The tablet").
--
-- The sensitive columns (records.fields, the outbox's fields, before,
-- current and error, outbox_log.fields and error, people.name, and the
-- tokens and the device key in sync_state) are sealed with AES-256-GCM under one random data key. The
-- data key itself is stored only here, wrapped (sealed) by keys derived with
-- argon2id from the officer's password and from the PIN.

-- key_wraps: the data key, wrapped once per secret that opens it.
-- Invariants:
--   * at most one row per kind ('password', 'pin'); every row wraps the
--     same data key;
--   * salt, memory_kib, passes and lanes are the argon2id parameters the
--     wrap key was derived with, so they can be raised for new wraps;
--   * wrapped is nonce || AES-256-GCM(wrap key, data key), with the kind as
--     additional data, so a PIN's wrap cannot pass for the password's;
--   * deleting every row (DB.DestroyKeyWraps) leaves the sealed data
--     unreadable for good, even with the password;
--   * sync_state 'sealed' is set in the transaction that sealed the store
--     and never removed: from then on nothing sensitive is written in
--     clear, with or without a wrap.
CREATE TABLE key_wraps (
    kind       TEXT    NOT NULL PRIMARY KEY CHECK (kind IN ('password', 'pin')),
    salt       BLOB    NOT NULL,
    memory_kib INTEGER NOT NULL,
    passes     INTEGER NOT NULL,
    lanes      INTEGER NOT NULL,
    wrapped    BLOB    NOT NULL,
    created_at TEXT    NOT NULL
) STRICT;

-- outbox.server_box: the mutation as it goes on the wire (JSON), sealed to
-- the server's outbox key (nacl box, anonymous sender; base64), written
-- with the row when the tablet holds that key (TokenResponse.outbox_key);
-- '' otherwise. Only the server can open it: the tablet never reads it.
-- outbox.opaque = 1: the row's own sealed columns can no longer be read
-- (the data key's wraps were destroyed and the tablet started afresh):
-- the push sends server_box in place of the change (protocol §6.2).
ALTER TABLE outbox ADD COLUMN server_box TEXT NOT NULL DEFAULT '';
ALTER TABLE outbox ADD COLUMN opaque INTEGER NOT NULL DEFAULT 0 CHECK (opaque IN (0, 1));
