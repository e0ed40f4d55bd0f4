-- Device store, version 8: the server's receipts kept beside the records
-- (issue 13; docs/decisions/0062-the-tablet-keeps-receipts-beside-its-records.md).

-- receipts: the server's receipt (version and times) for a record the push
-- sent, stored on its own row so that storing it does not rewrite the
-- record's row, whose sealed fields are most of its bytes (a push of
-- 10,000 records rewrote some 15 MB of rows for 10,000 version numbers).
-- Invariants:
--   * a row only for a record the tablet holds, written in the transaction
--     that takes its mutation out of the outbox;
--   * a record's version, received_at and updated_at, as read, are the
--     receipt's when its version is greater than the record row's, else
--     the row's (a later pull or local write that writes the row with a
--     version at least as new takes over; the receipt stays, shadowed);
--   * the row goes with its record (the trigger below) and in a wipe.
CREATE TABLE receipts (
    entity      TEXT    NOT NULL,
    id          TEXT    NOT NULL,
    version     INTEGER NOT NULL,
    received_at TEXT    NOT NULL DEFAULT '',
    updated_at  TEXT    NOT NULL DEFAULT '',
    PRIMARY KEY (entity, id)
) STRICT, WITHOUT ROWID;

CREATE TRIGGER receipts_with_records AFTER DELETE ON records
BEGIN
    DELETE FROM receipts WHERE entity = OLD.entity AND id = OLD.id;
END;
