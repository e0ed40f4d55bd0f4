package serverdb

import "context"

// NewEpoch gives the open database a new cursor epoch, as Restore does to
// the copy it restores, and returns it: for a database restored by other
// means (pg_restore, a file copied into place), before any server starts
// on it (doorstep admin new-epoch). Every cursor handed out before is
// refused from then on, and each device pulls again from "". A server
// already running on the database keeps the epoch it read at its start
// until it restarts.
func (db *DB) NewEpoch(ctx context.Context) (string, error) {
	if err := renewEpoch(ctx, db.w); err != nil {
		return "", err
	}
	if err := db.loadEpoch(ctx); err != nil {
		return "", err
	}
	return db.epoch, nil
}
