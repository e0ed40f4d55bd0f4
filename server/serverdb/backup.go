package serverdb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"doorstep/internal/sqlitedb"
	"doorstep/schema"
)

// Backup writes a consistent copy of the database to out with SQLite's
// VACUUM INTO: one read transaction, so the copy is the database as of one
// moment, taken beside a running server (which goes on reading and
// writing; the writer is never held). out must not exist: a back-up is
// never written over another. The copy is made mode 0600, since it holds
// what the database holds; it is compact (no free pages, no WAL) and is
// restored with Restore. A PostgreSQL store is backed up with pg_dump
// instead: Backup refuses it, saying so.
func (db *DB) Backup(ctx context.Context, out string) error { return db.eng.backup(ctx, out) }

func (e *sqliteEngine) backup(ctx context.Context, out string) error {
	return BackupFile(ctx, e.path, out)
}

// BackupFile is Backup of the SQLite server database at path, without
// opening it as a store: `doorstep admin backup` beside a running server.
// Opening the store writes (migrations, the stamp, the epoch), and a
// write waits for the server's writer: behind a busy one it failed with
// SQLITE_BUSY once the busy timeout ran out (decision 0079). A copy only
// reads, and under WAL a reader never waits for a writer. path must be a
// Doorstep server database; out must not exist.
func BackupFile(ctx context.Context, path, out string) error {
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	f, err := os.OpenFile(out, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("backup: %s already exists; choose another --out (a back-up is never written over another)", out)
	}
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	f.Close()
	// Its own connection, which only reads (VACUUM INTO writes out alone,
	// and query_only would refuse it): the writer and the checkpointer
	// must not wait for a copy of the whole file.
	c, err := sql.Open(sqliteDriver, sqlitedb.DSN(path))
	if err == nil {
		var id int64
		if id, err = sqlitedb.ApplicationID(ctx, c); err == nil && id != schema.ServerApplicationID {
			err = fmt.Errorf("%s is not a Doorstep server database (application_id %#x, want %#x); check the --data folder", path, id, schema.ServerApplicationID)
		}
		if err == nil {
			_, err = c.ExecContext(ctx, `VACUUM INTO ?`, out)
		}
		c.Close()
	}
	if err != nil {
		os.Remove(out)
		return fmt.Errorf("backup %s to %s: %w", path, out, err)
	}
	return nil
}

// Restore puts a back-up made by Backup (or any copy of a server database)
// in place as the database file path, which must not exist yet or be
// empty: a restore never overwrites a database. The copy is checked
// first (a Doorstep server database, stamped so; PRAGMA integrity_check
// clean) and given a new cursor epoch, so that every pull cursor issued
// before is refused (docs/sync-protocol.md §7, Epochs), and only then
// moved into place, mode 0600. Opening it with Open afterwards applies the
// migrations the back-up lacks. A PostgreSQL store is restored from
// pg_dump's output instead: Restore refuses a postgres:// path.
func Restore(ctx context.Context, from, path string) error {
	if IsPostgresURL(path) {
		return errors.New("restore: the store is a PostgreSQL database; restore it with pg_restore or psql from a pg_dump (docs/operations.md), not doorstep admin restore")
	}
	if fi, err := os.Stat(path); err == nil && fi.Size() > 0 {
		return fmt.Errorf("restore: %s already holds a database; restore into an empty data folder (move the old one aside first)", path)
	}
	for _, side := range []string{path + "-wal", path + "-shm"} {
		if err := os.Remove(side); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("restore: %w", err)
		}
	}
	src, err := os.Open(from)
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	defer src.Close()
	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".restoring")
	os.Remove(tmp)
	dst, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	_, err = io.Copy(dst, src)
	if err == nil {
		err = dst.Sync()
	}
	if cerr := dst.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = checkBackup(ctx, tmp, from)
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		os.Remove(tmp + "-wal")
		os.Remove(tmp + "-shm")
		return fmt.Errorf("restore: %w", err)
	}
	return nil
}

// checkBackup refuses a file that is not a whole Doorstep server database,
// and gives one that is a new cursor epoch.
func checkBackup(ctx context.Context, path, name string) error {
	c, err := sql.Open(sqliteDriver, sqlitedb.DSN(path))
	if err != nil {
		return err
	}
	defer c.Close()
	id, err := sqlitedb.ApplicationID(ctx, c)
	if err != nil {
		return fmt.Errorf("%s is not a SQLite database: %w", name, err)
	}
	if id != schema.ServerApplicationID {
		return fmt.Errorf("%s is not a Doorstep server database (application_id %#x, want %#x)", name, id, schema.ServerApplicationID)
	}
	var result string
	if err := c.QueryRowContext(ctx, `PRAGMA integrity_check(1)`).Scan(&result); err != nil {
		return fmt.Errorf("integrity check of %s: %w", name, err)
	}
	if result != "ok" {
		return fmt.Errorf("%s fails SQLite's integrity check (%s); take another back-up", name, result)
	}
	// Before it is in place: no server may open the copy with the epoch
	// of the life it was taken from (epoch.go).
	if err := renewEpoch(ctx, c); err != nil {
		return err
	}
	// Leave it one file, as Backup made it.
	if _, err := c.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		return fmt.Errorf("checkpoint %s: %w", name, err)
	}
	return nil
}
