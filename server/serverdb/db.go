// Package serverdb is the server's store: users, teams, devices and tokens,
// every record of every entity, the change sequence that pull pages by, the
// idempotency log of pushed mutations, and the audit trail, in one SQLite
// file (modernc.org/sqlite, no cgo).
//
// It adapts the domain of package schema to SQL: validation, scope and the
// merge rules come from schema and docs/sync-protocol.md; this package makes
// them durable and atomic. There is one writer connection, so the sequence
// numbers commit in order and a pull cursor never skips a change, and a
// separate pool of read connections, so pulls never wait for pushes.
package serverdb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"

	"runtime"
	"time"

	"doorstep/schema"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// Options configures a DB. The zero value is usable.
type Options struct {
	// Now is the server's clock; time.Now when nil. Tests inject one.
	Now func() time.Time
	// Logger receives operational messages; discarded when nil.
	Logger *slog.Logger
}

// DB is the server store. It is safe for concurrent use.
type DB struct {
	path  string
	w     *sql.DB // exactly one connection: every write goes through it
	r     *sql.DB // read-only pool
	now   func() time.Time
	log   *slog.Logger
	clock *schema.Clock
}

// Open opens (creating if needed) the server database at path, refuses a
// file that belongs to something else, and applies pending migrations.
func Open(ctx context.Context, path string, opts Options) (*DB, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	db := &DB{path: path, now: opts.Now, log: opts.Logger}
	db.clock = schema.NewClock("server", db.now)

	w, err := sql.Open("sqlite", dsn(path, true))
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	db.w = w
	if err := db.checkApplicationID(ctx); err != nil {
		w.Close()
		return nil, err
	}
	if err := db.migrate(ctx); err != nil {
		w.Close()
		return nil, err
	}

	r, err := sql.Open("sqlite", dsn(path, false))
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("open %s for reading: %w", path, err)
	}
	n := max(4, runtime.NumCPU())
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	db.r = r
	if err := db.primeClock(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// dsn builds the connection string. busy_timeout comes first so that the
// pragmas after it wait for a lock rather than fail. Writers begin
// IMMEDIATE so that a transaction never upgrades from a read lock (which
// fails with SQLITE_BUSY under WAL); readers begin DEFERRED and are
// query-only, so a bug can never write through the read pool.
func dsn(path string, writer bool) string {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "synchronous(NORMAL)")
	if writer {
		q.Add("_txlock", "immediate")
	} else {
		q.Add("_pragma", "query_only(1)")
	}
	return "file:" + path + "?" + q.Encode()
}

// Close closes both connection pools.
func (db *DB) Close() error {
	var errs []error
	if db.r != nil {
		errs = append(errs, db.r.Close())
	}
	if db.w != nil {
		errs = append(errs, db.w.Close())
	}
	return errors.Join(errs...)
}

// Path returns the database file.
func (db *DB) Path() string { return db.path }

// Clock returns the server's hybrid logical clock (node "server"), which
// stamps REST writes and observes every pushed stamp.
func (db *DB) Clock() *schema.Clock { return db.clock }

// checkApplicationID refuses a file stamped by another application (a
// tablet database, say) before anything is written to it.
func (db *DB) checkApplicationID(ctx context.Context) error {
	var id int64
	if err := db.w.QueryRowContext(ctx, "PRAGMA application_id").Scan(&id); err != nil {
		return fmt.Errorf("open %s: %w (is it a SQLite database?)", db.path, err)
	}
	if id != 0 && id != schema.ServerApplicationID {
		return fmt.Errorf("%s is not a Doorstep server database (application_id %#x, want %#x); check the --data folder", db.path, id, schema.ServerApplicationID)
	}
	if id == 0 {
		// A file of someone else's without a stamp: refuse it if it holds
		// tables we did not make.
		var n int
		err := db.w.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> 'schema_migrations'`).Scan(&n)
		if err != nil {
			return fmt.Errorf("open %s: %w", db.path, err)
		}
		var migrated int
		_ = db.w.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'schema_migrations'`).Scan(&migrated)
		if n > 0 && migrated == 0 {
			return fmt.Errorf("%s is not a Doorstep server database (application_id 0, and it holds other tables); check the --data folder", db.path)
		}
	}
	return nil
}

// migrate applies each migration not yet recorded, one transaction each,
// then checks foreign keys across the whole file.
func (db *DB) migrate(ctx context.Context) error {
	// The bookkeeping table is the one piece of schema not in a numbered file:
	// it must exist before the first file can be recorded.
	if _, err := db.w.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER NOT NULL PRIMARY KEY,
		name       TEXT    NOT NULL,
		applied_at TEXT    NOT NULL
	) STRICT`); err != nil {
		return fmt.Errorf("migrate %s: %w", db.path, err)
	}
	applied := map[int]bool{}
	rows, err := db.w.QueryContext(ctx, `SELECT version FROM schema_migrations`)
	if err != nil {
		return fmt.Errorf("migrate %s: %w", db.path, err)
	}
	highest := 0
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			rows.Close()
			return fmt.Errorf("migrate %s: %w", db.path, err)
		}
		applied[v] = true
		highest = max(highest, v)
	}
	rows.Close()
	migs := schema.ServerMigrations()
	if highest > len(migs) {
		return fmt.Errorf("%s was migrated to version %d by a newer Doorstep; this build knows %d: run the newer build", db.path, highest, len(migs))
	}
	for _, m := range migs {
		if applied[m.Version] {
			continue
		}
		tx, err := db.w.BeginTx(ctx, nil)
		if err != nil {
			return fmt.Errorf("migrate %s: %w", db.path, err)
		}
		if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
			tx.Rollback()
			return fmt.Errorf("migrate %s: %s: %w", db.path, m.Name, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
			m.Version, m.Name, fmtTime(db.now())); err != nil {
			tx.Rollback()
			return fmt.Errorf("migrate %s: record %s: %w", db.path, m.Name, err)
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("migrate %s: %s: %w", db.path, m.Name, err)
		}
		db.log.Info("applied migration", "db", db.path, "migration", m.Name)
	}
	if _, err := db.w.ExecContext(ctx, fmt.Sprintf("PRAGMA application_id = %d", schema.ServerApplicationID)); err != nil {
		return fmt.Errorf("stamp %s: %w", db.path, err)
	}
	rows, err = db.w.QueryContext(ctx, `PRAGMA foreign_key_check`)
	if err != nil {
		return fmt.Errorf("foreign key check %s: %w", db.path, err)
	}
	defer rows.Close()
	if rows.Next() {
		var table, parent string
		var rowid sql.NullInt64
		var fkid int
		_ = rows.Scan(&table, &rowid, &parent, &fkid)
		return fmt.Errorf("%s fails its foreign key check (table %s row %d refers to a missing %s row); restore from a backup", db.path, table, rowid.Int64, parent)
	}
	return rows.Err()
}

// primeClock moves the server clock past the stamps of the last change
// stored, so a restart with a slow wall clock still stamps REST writes
// after it (later pushes are observed as they come).
func (db *DB) primeClock(ctx context.Context) error {
	var last sql.NullString
	err := db.r.QueryRowContext(ctx, `SELECT max(value) FROM records, json_each(records.clocks) WHERE records.seq = (SELECT max(seq) FROM records)`).Scan(&last)
	if err != nil {
		return fmt.Errorf("read last clock: %w", err)
	}
	if h, err := schema.ParseHLC(last.String); err == nil && !h.IsZero() {
		db.clock.Observe(h)
	}
	return nil
}

// timeLayout is fixed width so stored times sort as text; it parses as RFC
// 3339, so it is copied straight into JSON as a time.
const timeLayout = "2006-01-02T15:04:05.000Z07:00"

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(timeLayout)
}

func parseTime(s string) time.Time {
	if s == "" {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}
	}
	return t.UTC()
}

// wtx is one write transaction: its one `now`, and the sequence numbers it
// hands out, written back to the counter before commit.
type wtx struct {
	*sql.Tx
	ctx     context.Context
	now     time.Time
	nowText string
	seq     int64 // last number handed out; 0 until first use
	seqRead bool
	seqUsed bool
}

// nextSeq hands out the next sequence number. With one writer connection
// the numbers commit in the order they are handed out.
func (t *wtx) nextSeq() (int64, error) {
	if !t.seqRead {
		if err := t.QueryRowContext(t.ctx, `SELECT value FROM sequence WHERE id = 1`).Scan(&t.seq); err != nil {
			return 0, fmt.Errorf("read sequence: %w", err)
		}
		t.seqRead = true
	}
	t.seq++
	t.seqUsed = true
	return t.seq, nil
}

// update runs fn in one write transaction and commits it if fn returns nil.
func (db *DB) update(ctx context.Context, fn func(t *wtx) error) error {
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	now := db.now().UTC()
	t := &wtx{Tx: tx, ctx: ctx, now: now, nowText: fmtTime(now)}
	if err := fn(t); err != nil {
		tx.Rollback()
		return err
	}
	if t.seqUsed {
		if _, err := tx.ExecContext(ctx, `UPDATE sequence SET value = ? WHERE id = 1`, t.seq); err != nil {
			tx.Rollback()
			return fmt.Errorf("write sequence: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// view runs fn in one read transaction, so every query sees one snapshot.
func (db *DB) view(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := db.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return fmt.Errorf("begin read: %w", err)
	}
	defer tx.Rollback()
	return fn(tx)
}
