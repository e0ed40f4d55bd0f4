package serverdb

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"doorstep/schema"
)

// The epoch names one life of the database (docs/sync-protocol.md §7,
// docs/decisions/0041-the-restored-server.md). Every pull cursor carries
// it, so a cursor handed out before a restore is refused after it however
// far the restored server has numbered since: a bare sequence number
// cannot tell a cursor "ahead" of the server from one of an earlier life.
const (
	// settingEpoch is the epoch: random, made at the first open, made
	// anew by Restore (doorstep admin restore).
	settingEpoch = "cursor_epoch"
	// settingPlainCursors, when set, says the cursors issued before
	// epochs existed ("c:<n>") are of this life too: it is written with
	// the first epoch and deleted by Restore.
	settingPlainCursors = "cursor_plain_ok"
)

func newEpoch() string {
	b := make([]byte, 8)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// loadEpoch reads the epoch, making the first one if the database has none
// (a new database, or one from before epochs, whose plain cursors stay
// good until a restore).
func (db *DB) loadEpoch(ctx context.Context) error {
	c, tx, err := db.beginWrite(ctx)
	if err != nil {
		return fmt.Errorf("epoch: %w", err)
	}
	defer c.Close()
	defer tx.Rollback()
	err = tx.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = ?`, settingEpoch).Scan(&db.epoch)
	if errors.Is(err, sql.ErrNoRows) {
		db.epoch = newEpoch()
		_, err = tx.ExecContext(ctx, `INSERT INTO settings (key, value) VALUES (?, ?), (?, '1')`, settingEpoch, db.epoch, settingPlainCursors)
	}
	if err != nil {
		return fmt.Errorf("epoch: %w", err)
	}
	var one string
	err = tx.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = ?`, settingPlainCursors).Scan(&one)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("epoch: %w", err)
	}
	db.plainCursors = err == nil
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("epoch: %w", err)
	}
	return nil
}

// Epoch is the database's current epoch, the middle part of every cursor
// it issues.
func (db *DB) Epoch() string { return db.epoch }

// renewEpoch gives the database on c a new epoch and forgets that plain
// cursors were its own, so every cursor issued before is refused (400
// invalid on cursor) and each device pulls again from "". Restore calls it
// on the copy before moving it into place: the copy is an earlier life of
// the database, and the devices' cursors may be ahead of it by any amount.
func renewEpoch(ctx context.Context, c *sql.DB) error {
	if _, err := c.ExecContext(ctx, `INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`, settingEpoch, newEpoch()); err != nil {
		return fmt.Errorf("new cursor epoch: %w", err)
	}
	if _, err := c.ExecContext(ctx, `DELETE FROM settings WHERE key = ?`, settingPlainCursors); err != nil {
		return fmt.Errorf("new cursor epoch: %w", err)
	}
	return nil
}

// parseCursor reads a cursor this database issued: "" (from the
// beginning), "c:<epoch>:<n>" of its current epoch, or a plain "c:<n>"
// while the database has not been restored since epochs began.
func (db *DB) parseCursor(s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	rest, ok := strings.CutPrefix(s, "c:")
	epoch, num, withEpoch := strings.Cut(rest, ":")
	if !withEpoch {
		num = rest
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if !ok || err != nil || n < 0 {
		return 0, schema.Errorf(schema.ECodeInvalid, "cursor", "cursor %q was not issued by this server; pull from \"\"", s)
	}
	if (withEpoch && epoch != db.epoch) || (!withEpoch && !db.plainCursors) {
		return 0, schema.Errorf(schema.ECodeInvalid, "cursor", "cursor %q is from before this server was restored; pull from \"\"", s)
	}
	return n, nil
}

func (db *DB) formatCursor(n int64) string {
	return "c:" + db.epoch + ":" + strconv.FormatInt(n, 10)
}
