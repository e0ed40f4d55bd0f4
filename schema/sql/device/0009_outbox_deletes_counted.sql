-- Device store, version 9: an outbox delete counts what it takes in one
-- statement, not in a trigger run per row (issue 13;
-- docs/decisions/0100-the-tablets-outbox-deletes-counted-per-statement.md).

-- outbox_count keeps the invariants of version 7: exactly one row, and at
-- every commit pending and rejected equal the outbox's rows of each status.
-- Inserts and changes of status still keep them by triggers (one row each).
-- A delete keeps them by the statement that devicedb runs before it in the
-- same transaction (deleteOutbox: the counts of the rows the delete's
-- WHERE names, taken off), and a wipe sets them to zero. SQLite has no
-- statement-level trigger, and the row trigger cost a second write for
-- every acknowledged row: a push of 10,000 ran it 10,000 times.
-- A store in use keeps its counts: dropping the trigger changes no row.
DROP TRIGGER outbox_count_delete;
