// Package devicedb is the tablet's local store: the records of the officer's
// caseload, the outbox of local changes waiting for the server, and the sync
// state, in one SQLite file (modernc.org/sqlite, no cgo).
//
// It adapts the domain to SQL and nothing more: validation, clocks and the
// protocol live in package syncer. Every change goes through Update, which runs
// one immediate transaction on the single writer connection, so a local write
// and its outbox row, or a pull page and its cursor, commit together or not
// at all.
package devicedb

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync/atomic"
	"time"

	"doorstep/internal/fsperm"
	"doorstep/internal/sqlitedb"
	"doorstep/schema"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// driverName is the name modernc.org/sqlite registers.
const driverName = "sqlite"

// DB is an open tablet store.
type DB struct {
	write *sql.DB // one connection: SQLite has one writer
	read  *sql.DB // a small pool for reads, which WAL lets run beside the writer
	path  string
	now   func() time.Time

	sealed atomic.Bool             // sync_state 'sealed' is set (seal.go)
	key    atomic.Pointer[dataKey] // the data key, while held

	// writeStmts and readStmts are everySync prepared on each pool.
	writeStmts, readStmts prepared
	writes                atomic.Int64 // write transactions committed
	unsynced              atomic.Int64 // of them, UpdateUnsynced's
	reads                 atomic.Int64 // read transactions begun on the read pool (View)
}

// everySync are the statements nearly every sync runs, some several
// times, each in transactions of its own: prepared once per pool when the
// store opens (a transaction binds them to its connection without
// preparing them again), where preparing them in each transaction cost a
// no-op sync more than running them.
var everySync = []string{qState, qSetState, qDeleteState, qCountOutbox, qRules}

// everyPush are the statements that store a push's answers, run once or
// more for each batch (a full chunk of receipts, a run of acknowledged
// seqs): prepared once on the write pool when the store opens rather than
// in each batch's transaction, the receipts' statement being long to parse.
var everyPush = []string{storeReceipts(receiptChunk), "DELETE FROM outbox WHERE " + seqRunsIn(1), countDeleted(seqRunsIn(1))}

// prepared maps a statement's text to the statement prepared on a pool.
type prepared map[string]*sql.Stmt

// prepare prepares qs on pool, outside any transaction (a pool of one
// connection would wait for itself inside one).
func prepare(ctx context.Context, pool *sql.DB, qs []string) (prepared, error) {
	p := prepared{}
	for _, q := range qs {
		st, err := pool.PrepareContext(ctx, q)
		if err != nil {
			p.close()
			return nil, fmt.Errorf("prepare %q: %w", q, err)
		}
		p[q] = st
	}
	return p, nil
}

func (p prepared) close() {
	for _, st := range p {
		st.Close()
	}
}

// Tx is one transaction with the time it runs at (one now per transaction,
// so every timestamp a change writes is the same).
type Tx struct {
	tx    *sql.Tx
	now   time.Time
	stmts map[string]*sql.Stmt // prepared once per transaction, closed with it
	pool  prepared             // the pool's everySync statements
	// sealed and key are the store's mode and data key when the
	// transaction began (seal.go): one transaction sees one of each.
	sealed bool
	key    *dataKey
	// outboxKey is the server's outbox key, read once per transaction
	// (seal.go, serverBox); the zero key when the tablet holds none.
	outboxKey *[32]byte
}

// stmt returns q prepared in this transaction. Preparing costs more than
// running a small statement, and a transaction of many local writes runs the
// same few statements again and again.
func (tx *Tx) stmt(ctx context.Context, q string) (*sql.Stmt, error) {
	if st, ok := tx.stmts[q]; ok {
		return st, nil
	}
	var st *sql.Stmt
	if ps, ok := tx.pool[q]; ok {
		st = tx.tx.StmtContext(ctx, ps)
	} else {
		var err error
		if st, err = tx.tx.PrepareContext(ctx, q); err != nil {
			return nil, err
		}
	}
	if tx.stmts == nil {
		tx.stmts = map[string]*sql.Stmt{}
	}
	tx.stmts[q] = st
	return st, nil
}

func (tx *Tx) exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	st, err := tx.stmt(ctx, q)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(ctx, args...)
}

func (tx *Tx) queryRow(ctx context.Context, q string, args ...any) *sql.Row {
	st, err := tx.stmt(ctx, q)
	if err != nil {
		// Let the error surface from Scan, as QueryRowContext does.
		return tx.tx.QueryRowContext(ctx, q, args...)
	}
	return st.QueryRowContext(ctx, args...)
}

func (tx *Tx) closeStmts() {
	for _, st := range tx.stmts {
		st.Close()
	}
}

// Now returns the transaction's time.
func (tx *Tx) Now() time.Time { return tx.now }

// ErrNotFound is returned when a record or state key does not exist.
var ErrNotFound = errors.New("devicedb: not found")

// ErrNotCompacted is returned by Compact when readers kept the WAL from
// being truncated for a second: what it held stays until a later
// checkpoint overwrites it. The change itself is committed.
var ErrNotCompacted = errors.New("devicedb: the WAL could not be truncated while readers used it")

// ErrWrongApplication is returned when the file belongs to another program
// (or is a Doorstep server database).
var ErrWrongApplication = errors.New("devicedb: not a Doorstep tablet database")

// pragmas are what both pools add to sqlitedb's (busy_timeout, WAL, foreign
// keys, synchronous FULL; the writer begins IMMEDIATE, readers are
// query-only).
var pragmas = []string{
	// A pull page of thousands of records fits in the page cache, so a
	// transaction does not spill to the WAL before it commits.
	"cache_size(-32000)",
	// Checkpoint every 40 MB of WAL rather than every 4 MB: an initial pull
	// then copies its pages to the main file a few times, not at every page.
	"wal_autocheckpoint(10000)",
}

// Open opens (creating if needed) the store at path, checks that it is a
// tablet database, and applies pending migrations. now is the clock every
// transaction reads (time.Now when nil).
func Open(ctx context.Context, path string, now func() time.Time) (*DB, error) {
	if now == nil {
		now = time.Now
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("open device store: %w", err)
	}
	if err := createFile(ctx, path); err != nil {
		return nil, err
	}
	w, err := sqlitedb.OpenWriter(driverName, path, pragmas...)
	if err != nil {
		return nil, fmt.Errorf("open device store %s: %w", path, err)
	}
	db := &DB{write: w, path: path, now: now}
	if err := db.checkApplication(ctx); err != nil {
		w.Close()
		return nil, err
	}
	if err := db.migrate(ctx); err != nil {
		w.Close()
		return nil, err
	}
	r, err := sqlitedb.OpenReaders(driverName, path, 4, pragmas...)
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("open device store %s for reading: %w", path, err)
	}
	db.read = r
	if db.writeStmts, err = prepare(ctx, w, slices.Concat(everySync, everyPush)); err != nil {
		db.Close()
		return nil, fmt.Errorf("open device store %s: %w", path, err)
	}
	if db.readStmts, err = prepare(ctx, r, everySync); err != nil {
		db.Close()
		return nil, fmt.Errorf("open device store %s: %w", path, err)
	}
	var sealedAt string
	if err := w.QueryRowContext(ctx, "SELECT value FROM sync_state WHERE key = ?", KeySealed).Scan(&sealedAt); err != nil && !errors.Is(err, sql.ErrNoRows) {
		db.Close()
		return nil, fmt.Errorf("open device store %s: %w", path, err)
	}
	db.sealed.Store(sealedAt != "")
	return db, nil
}

// pageSize is the page size of a new store. 16 KiB pages hold a dozen 1 KB
// records each and halve the write calls of a large pull against 4 KiB.
const pageSize = 16384

// createFile makes a new store file with its page size and application id,
// which must be set before the first table (and before WAL mode) exists.
func createFile(ctx context.Context, path string) error {
	if fi, err := os.Stat(path); err == nil && fi.Size() > 0 || err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil
	}
	// An empty file of mode 0600 first: SQLite keeps its mode, and gives
	// it to the -wal and -shm files beside it.
	if err := fsperm.CreateFile(path); err != nil {
		return fmt.Errorf("create device store: %w", err)
	}
	c, err := sql.Open(driverName, "file:"+path)
	if err != nil {
		return fmt.Errorf("create device store %s: %w", path, err)
	}
	defer c.Close()
	if _, err := c.ExecContext(ctx, fmt.Sprintf("PRAGMA page_size = %d", pageSize)); err != nil {
		return fmt.Errorf("create device store %s: %w", path, err)
	}
	if err := sqlitedb.SetApplicationID(ctx, c, schema.DeviceApplicationID); err != nil {
		return fmt.Errorf("create device store %s: %w", path, err)
	}
	return nil
}

// Path returns the file the store lives in.
func (db *DB) Path() string { return db.path }

// Close drops the data key and closes both pools.
func (db *DB) Close() error {
	db.DropKey()
	db.writeStmts.close()
	db.readStmts.close()
	var errR error
	if db.read != nil {
		errR = db.read.Close()
	}
	return errors.Join(db.write.Close(), errR)
}

// checkApplication stamps a new file with the tablet's application id and
// refuses a file stamped by anything else.
func (db *DB) checkApplication(ctx context.Context) error {
	id, err := sqlitedb.ApplicationID(ctx, db.write)
	if err != nil {
		return fmt.Errorf("open device store %s: read application_id: %w (is this an SQLite file?)", db.path, err)
	}
	switch id {
	case schema.DeviceApplicationID:
		return nil
	case 0:
		if err := sqlitedb.SetApplicationID(ctx, db.write, schema.DeviceApplicationID); err != nil {
			return fmt.Errorf("open device store %s: stamp application_id: %w", db.path, err)
		}
		return nil
	case schema.ServerApplicationID:
		return fmt.Errorf("%w: %s is a Doorstep server database; give the tablet its own data folder", ErrWrongApplication, db.path)
	default:
		return fmt.Errorf("%w: %s has application_id %#x; give the tablet its own data folder", ErrWrongApplication, db.path, id)
	}
}

// migrate applies each migration not yet recorded, one transaction each,
// then checks foreign keys.
func (db *DB) migrate(ctx context.Context) error {
	appliedAt := func() string { return formatTime(db.now()) }
	err := sqlitedb.Migrate(ctx, db.write, schema.DeviceMigrations(), appliedAt, nil)
	var tooNew *sqlitedb.TooNewError
	if errors.As(err, &tooNew) {
		return fmt.Errorf("migrate device store: the database is at migration %d but this build knows only %d; update the app", tooNew.Version, tooNew.Known)
	}
	if err != nil {
		return fmt.Errorf("migrate device store: %w", err)
	}
	err = sqlitedb.CheckForeignKeys(ctx, db.write)
	if errors.As(err, new(*sqlitedb.ForeignKeyError)) {
		return fmt.Errorf("migrate device store: foreign_key_check found violations")
	}
	if err != nil {
		return fmt.Errorf("migrate device store: foreign_key_check: %w", err)
	}
	return nil
}

// Update runs fn in one write transaction (BEGIN IMMEDIATE on the single
// writer connection) and commits when fn returns nil.
func (db *DB) Update(ctx context.Context, fn func(*Tx) error) error {
	return db.run(ctx, db.write, db.writeStmts, fn)
}

// View runs fn in a read transaction on the read pool.
func (db *DB) View(ctx context.Context, fn func(*Tx) error) error {
	return db.run(ctx, db.read, db.readStmts, fn)
}

// ViewWriter runs fn in a transaction on the writer's connection and rolls
// it back: a read that sees every commit before it, as View does, and is
// not counted among WriteTransactions. It is for a read that follows this
// store's own writes (a push's next batch, after the previous answers were
// stored): a reader connection drops its whole page cache when it begins
// after another connection's commit, and frees and allocates again the
// pages it reads, where the writer's cache still holds them (decision
// 0137). It waits for the writer, as Update does.
func (db *DB) ViewWriter(ctx context.Context, fn func(*Tx) error) error {
	tx, err := db.begin(ctx, db.write, db.writeStmts)
	if err != nil {
		return err
	}
	defer tx.closeStmts()
	err = fn(tx)
	if rerr := tx.tx.Rollback(); err == nil && rerr != nil {
		err = fmt.Errorf("end: %w", rerr)
	}
	return err
}

// UpdateUnsynced is Update for a transaction the server can send again (a
// pulled page and its cursor): its commit is not synced to the disk
// (synchronous NORMAL for it alone). A crash of the process keeps it; a
// power cut may undo it, whole, and the store is then as if the page had
// not been applied: the old cursor, and the page pulled again
// (docs/sync-protocol.md §7). Any synced commit after it syncs it too, the
// WAL being written in order, so a later change that depends on it (a
// local edit of a pulled record) never outlasts it. It saves the fsync of
// every sync's last commit (decision 0117).
func (db *DB) UpdateUnsynced(ctx context.Context, fn func(*Tx) error) (err error) {
	c, err := db.write.Conn(ctx)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer c.Close()
	// SQLite refuses to change the level inside a transaction: the one
	// writer connection is held from here until FULL is back.
	if _, err := c.ExecContext(ctx, "PRAGMA synchronous = NORMAL"); err != nil {
		return fmt.Errorf("begin: unsynced: %w", err)
	}
	defer func() {
		if _, rerr := c.ExecContext(context.WithoutCancel(ctx), "PRAGMA synchronous = FULL"); rerr != nil {
			// A writer left at NORMAL is dropped: the pool opens
			// another, at FULL, for the next write.
			_ = c.Raw(func(any) error { return driver.ErrBadConn })
			err = errors.Join(err, fmt.Errorf("synced again: %w", rerr))
		}
	}()
	err = db.run(ctx, c, db.writeStmts, fn)
	if err == nil {
		db.unsynced.Add(1)
	}
	return err
}

// UnsyncedTransactions returns how many of WriteTransactions were
// UpdateUnsynced's.
func (db *DB) UnsyncedTransactions() int64 { return db.unsynced.Load() }

// beginner is the writer pool, the read pool, or the writer's connection
// held by UpdateUnsynced.
type beginner interface {
	BeginTx(ctx context.Context, opts *sql.TxOptions) (*sql.Tx, error)
}

func (db *DB) run(ctx context.Context, pool beginner, stmts prepared, fn func(*Tx) error) error {
	tx, err := db.begin(ctx, pool, stmts)
	if err != nil {
		return err
	}
	defer tx.closeStmts()
	if err := fn(tx); err != nil {
		_ = tx.tx.Rollback()
		return err
	}
	if err := tx.tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	if pool != beginner(db.read) {
		db.writes.Add(1)
	}
	return nil
}

// begin begins a transaction on pool (counted among ReadTransactions on
// the read pool) with the prepared statements stmts.
func (db *DB) begin(ctx context.Context, pool beginner, stmts prepared) (*Tx, error) {
	sqlTx, err := pool.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("begin: %w", err)
	}
	if pool == beginner(db.read) {
		db.reads.Add(1)
	}
	return &Tx{tx: sqlTx, now: db.now().UTC(), sealed: db.sealed.Load(), key: db.key.Load(), pool: stmts}, nil
}

// WriteTransactions returns how many write transactions (Update) this DB
// has committed since it opened: a no-op sync should cost as few as it can.
func (db *DB) WriteTransactions() int64 { return db.writes.Load() }

// ReadTransactions returns how many read transactions (View) this DB has
// begun on its read pool since it opened; ViewWriter's are not among them.
func (db *DB) ReadTransactions() int64 { return db.reads.Load() }

// Compact checkpoints the WAL into the main file and truncates it, then
// rebuilds the file so that deleted pages (after a wipe) are not left behind.
func (db *DB) Compact(ctx context.Context) error {
	if _, err := db.write.ExecContext(ctx, "VACUUM"); err != nil {
		return fmt.Errorf("vacuum: %w", err)
	}
	// A reader in the middle of a transaction keeps the WAL from being
	// truncated: try again for a second, then say so.
	for try := 0; ; try++ {
		var busy, logFrames, done int
		if err := db.write.QueryRowContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)").Scan(&busy, &logFrames, &done); err != nil {
			return fmt.Errorf("checkpoint: %w", err)
		}
		if busy == 0 {
			return nil
		}
		if try == 50 {
			return ErrNotCompacted
		}
		t := time.NewTimer(20 * time.Millisecond)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// timeLayout is the text times are stored as. Its width varies with the
// fraction, so the texts do not sort as instants: the tablet never compares
// them in SQL (see docs/decisions/0015-one-sqlite-opener.md).
const timeLayout = time.RFC3339Nano

func formatTime(t time.Time) string { return sqlitedb.FormatTime(t, timeLayout) }

func parseTime(s string) time.Time { return sqlitedb.ParseTime(s) }
