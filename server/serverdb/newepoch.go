package serverdb

import (
	"context"
	"fmt"
)

// NewEpoch gives the open database a new cursor epoch, as Restore does to
// the copy it restores, and returns it: for a database restored by other
// means (pg_restore, a file copied into place), before any server starts
// on it (doorstep admin new-epoch). Every cursor handed out before is
// refused from then on, and each device pulls again from "". A server
// already running on the database keeps the epoch it read at its start
// until it restarts. The change is an audit event, new_epoch, naming both
// epochs. Call it on a store that serves no request yet: the epoch it
// sets is read by pulls without a lock.
func (db *DB) NewEpoch(ctx context.Context, actor Actor) (string, error) {
	epoch := newEpoch()
	err := db.update(ctx, func(t *wtx) error {
		var previous string
		if err := t.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = ?`, settingEpoch).Scan(&previous); err != nil {
			return err
		}
		if _, err := t.ExecContext(ctx, `UPDATE settings SET value = ? WHERE key = ?`, epoch, settingEpoch); err != nil {
			return err
		}
		if _, err := t.ExecContext(ctx, `DELETE FROM settings WHERE key = ?`, settingPlainCursors); err != nil {
			return err
		}
		return t.audit(actor, "new_epoch", "", "", "", map[string]string{"previous": previous, "epoch": epoch})
	})
	if err != nil {
		return "", fmt.Errorf("new cursor epoch: %w", err)
	}
	db.epoch, db.plainCursors = epoch, false
	return epoch, nil
}
