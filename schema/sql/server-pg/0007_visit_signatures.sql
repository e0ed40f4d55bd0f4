-- Server store, version 7: visits signed by the device (issue 12;
-- docs/sync-protocol.md §6.1).

-- A device's Ed25519 public key, base64, registered at its first sign-in
-- that sent one; '' for a tablet that has sent none (an older app).
ALTER TABLE devices ADD COLUMN public_key TEXT NOT NULL DEFAULT '';

-- One row per signed visit and per amendment, written when the server
-- receives the mutation that signs it, never changed afterwards.
--   content_hash: SHA-256 (hex) of schema.SignedContent of the record as
--     the server stored it on receipt.
--   amends, amends_hash: for an amendment, the visit it amends and that
--     visit's content hash, which its own signed content includes.
--   device_hash, device_signature: what the tablet sent ('' when nothing).
--   status: verified (the device's signature verifies against its
--     registered key over content_hash), unsigned (the tablet sent no
--     signature: an older app), invalid (a signature that does not verify,
--     or a device with no registered key; the record is kept and flagged
--     in the review queue).
--   server_signature: the server's Ed25519 signature (base64) of the
--     SHA-256 of the row's countersigned JSON (docs/sync-protocol.md §6.1),
--     by the key whose public half is server_key (base64).
CREATE TABLE visit_signatures (
    record_id        TEXT NOT NULL PRIMARY KEY,
    entity           TEXT NOT NULL CHECK (entity IN ('visit', 'amendment')),
    case_id          TEXT NOT NULL,
    amends           TEXT NOT NULL DEFAULT '',
    amends_hash      TEXT NOT NULL DEFAULT '',
    content_hash     TEXT NOT NULL,
    device_id        TEXT NOT NULL,
    officer_id       TEXT NOT NULL,
    device_hash      TEXT NOT NULL DEFAULT '',
    device_signature TEXT NOT NULL DEFAULT '',
    status           TEXT NOT NULL CHECK (status IN ('verified', 'unsigned', 'invalid')),
    problem          TEXT NOT NULL DEFAULT '',
    server_signature TEXT NOT NULL,
    server_key       TEXT NOT NULL,
    received_at      TEXT NOT NULL
);

CREATE INDEX visit_signatures_amends ON visit_signatures (amends) WHERE amends != '';
