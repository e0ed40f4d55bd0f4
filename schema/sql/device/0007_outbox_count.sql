-- Device store, version 7: the outbox's counts kept, not counted (issue 13;
-- docs/decisions/0054-the-outbox-counts-itself.md).

-- outbox_count: how many outbox rows are pending and how many set aside
-- (rejected). Every sync request sends the pending count
-- (Doorstep-Outbox-Pending), and the status page shows both; counting the
-- rows each time cost a walk of the outbox_status index, as long as the
-- outbox.
-- Invariants:
--   * exactly one row (id 1);
--   * pending = (SELECT count(*) FROM outbox WHERE status = 'pending') and
--     rejected likewise, at every commit: the triggers below keep them in
--     the statement that changes the outbox, so no code path (append,
--     receipt, rejection, resend, discard, reseal, wipe) can forget them
--     and a crash rolls them back with the change;
--   * an existing store's counts are taken from its outbox here, in the
--     migration's transaction.
CREATE TABLE outbox_count (
    id       INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
    pending  INTEGER NOT NULL CHECK (pending >= 0),
    rejected INTEGER NOT NULL CHECK (rejected >= 0)
) STRICT;

INSERT INTO outbox_count (id, pending, rejected)
SELECT 1,
       (SELECT count(*) FROM outbox WHERE status = 'pending'),
       (SELECT count(*) FROM outbox WHERE status = 'rejected');

CREATE TRIGGER outbox_count_insert AFTER INSERT ON outbox
BEGIN
    UPDATE outbox_count SET pending = pending + (NEW.status = 'pending'),
                            rejected = rejected + (NEW.status = 'rejected') WHERE id = 1;
END;

CREATE TRIGGER outbox_count_delete AFTER DELETE ON outbox
BEGIN
    UPDATE outbox_count SET pending = pending - (OLD.status = 'pending'),
                            rejected = rejected - (OLD.status = 'rejected') WHERE id = 1;
END;

CREATE TRIGGER outbox_count_status AFTER UPDATE OF status ON outbox
WHEN OLD.status != NEW.status
BEGIN
    UPDATE outbox_count SET pending = pending + (NEW.status = 'pending') - (OLD.status = 'pending'),
                            rejected = rejected + (NEW.status = 'rejected') - (OLD.status = 'rejected') WHERE id = 1;
END;
