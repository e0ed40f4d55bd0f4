-- Tablet store, version 4: the server's visit rules (docs/sync-protocol.md
-- §7.2), so the officer app computes the due dates the server computes.

-- rules: the visit rules document the server last sent with a pull.
-- Invariants:
--   * one row at most (id 1), replaced whole in the transaction that
--     applies the pull page carrying it;
--   * document passed policy.Parse before it was stored: a document that
--     does not parse is never stored, and the row before it stays;
--   * tag is the server's tag for the document, sent back with each pull;
--     version is the document's own "version", for the app and the logs;
--   * kept by a wipe: the rules are the same for every user of the server
--     and hold nothing about anyone, and each pull corrects them anyway.
CREATE TABLE rules (
    id          INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
    tag         TEXT NOT NULL,
    version     TEXT NOT NULL,
    document    TEXT NOT NULL,
    received_at TEXT NOT NULL
) STRICT;
