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
	"crypto/ed25519"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"doorstep/internal/sqlitedb"
	"doorstep/schema"
	"doorstep/schema/policy"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// driver is the name modernc.org/sqlite registers.
const driver = "sqlite"

// Options configures a DB. The zero value is usable.
type Options struct {
	// Now is the server's clock; time.Now when nil. Tests inject one.
	Now func() time.Time
	// Logger receives operational messages; discarded when nil.
	Logger *slog.Logger
	// Rules is the visit rules document pulls send to tablets
	// (docs/sync-protocol.md §7.2); none when zero.
	Rules Rules
	// Review says what the review queue holds (docs/review.md);
	// policy.DefaultReviewRules when nil.
	Review *policy.ReviewRules
	// VisitKey is the server's Ed25519 key that countersigns visits signed
	// by a device (signatures.go); the server keeps it in its secrets
	// folder. A key made for this run when nil (tests).
	VisitKey ed25519.PrivateKey
	// WriterWait, when set, hears how long each write transaction waited
	// to begin: for the one writer connection, and for SQLite's write lock
	// when another process (doorstep admin) holds it. The server's
	// metrics observe it (doorstep_db_writer_wait_seconds).
	WriterWait func(time.Duration)
	// DeviceFlush is how often what devices report on sync requests is
	// written (devicebook.go); DefaultDeviceFlush when zero.
	DeviceFlush time.Duration
	// Policy is the visit policy the compliance read model's requirement
	// rows are computed with (readmodel.go); policy.Default() when nil.
	// The server passes the one its measures use.
	Policy *policy.Policy
}

// DB is the server store. It is safe for concurrent use.
type DB struct {
	path  string
	w     *sql.DB // exactly one connection: every write goes through it
	r     *sql.DB // read-only pool
	now   func() time.Time
	log   *slog.Logger
	clock *schema.Clock
	rules Rules
	// review is what the review queue holds (review.go).
	review policy.ReviewRules
	// visits: what the review rules read of each signed visit, kept
	// between reads (reviewcache.go).
	visits reviewVisits
	// visitKey countersigns device signatures (Options.VisitKey).
	visitKey ed25519.PrivateKey
	// writerWait is Options.WriterWait, or nil.
	writerWait func(time.Duration)
	// devices keeps the devices' reports until they are flushed
	// (devicebook.go).
	devices deviceBook
	// epoch and plainCursors: which cursors are this database's own
	// (epoch.go).
	epoch        string
	plainCursors bool
	// policy computes the read model's requirement rows (readmodel.go).
	policy *policy.Policy
	// writeTxs counts the write transactions begun (WriteTransactions).
	writeTxs atomic.Int64

	// ckpt runs WAL checkpoints in the background (see checkpointer).
	ckpt     *sql.DB
	ckptStop chan struct{}
	ckptDone sync.WaitGroup
	closeOne sync.Once
	closeErr error
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
	db := &DB{path: path, now: opts.Now, log: opts.Logger, rules: opts.Rules, review: policy.DefaultReviewRules()}
	if opts.Review != nil {
		db.review = *opts.Review
	}
	db.policy = opts.Policy
	if db.policy == nil {
		db.policy = policy.Default()
	}
	db.clock = schema.NewClock("server", db.now)
	db.visitKey = opts.VisitKey
	db.writerWait = opts.WriterWait
	if db.visitKey == nil {
		_, db.visitKey, _ = ed25519.GenerateKey(nil)
	}

	w, err := sqlitedb.OpenWriter(driver, path, writerPragmas...)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	db.w = w
	if err := db.checkApplicationID(ctx); err != nil {
		w.Close()
		return nil, err
	}
	if err := db.migrate(ctx); err != nil {
		w.Close()
		return nil, err
	}
	if err := db.loadEpoch(ctx); err != nil {
		w.Close()
		return nil, err
	}
	if err := db.buildReadModel(ctx); err != nil {
		w.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}

	r, err := sqlitedb.OpenReaders(driver, path, max(4, runtime.NumCPU()), readerPragmas...)
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("open %s for reading: %w", path, err)
	}
	db.r = r
	if err := db.primeClock(ctx); err != nil {
		db.Close()
		return nil, err
	}
	c, err := sql.Open(driver, sqlitedb.DSN(path, checkpointerPragmas...))
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("open %s for checkpoints: %w", path, err)
	}
	c.SetMaxOpenConns(1)
	c.SetMaxIdleConns(1)
	c.SetConnMaxLifetime(0)
	db.ckpt = c
	db.ckptStop = make(chan struct{})
	db.ckptDone.Add(1)
	go db.checkpointer()
	if opts.DeviceFlush <= 0 {
		opts.DeviceFlush = DefaultDeviceFlush
	}
	db.startDeviceFlusher(opts.DeviceFlush)
	return db, nil
}

// Checkpoint tuning. SQLite's automatic checkpoint runs inside the commit of
// whichever write transaction takes the WAL past 1,000 pages, so one push in
// every few paid for copying everyone's pages into the database file (about
// a sixth of push time). The writer turns it off (wal_autocheckpoint(0))
// and the checkpointer goroutine does the copying on its own connection,
// concurrently with the writer: a PASSIVE checkpoint takes no lock that
// stops writers or readers.
const (
	// ckptPoll is how often the checkpointer looks at the WAL's size.
	ckptPoll = 250 * time.Millisecond
	// ckptWALBytes: a WAL larger than this is checkpointed at once.
	ckptWALBytes = 8 << 20
	// ckptIdle: a WAL that is smaller but not empty is checkpointed when it
	// has not grown for this long, so a quiet server's file is up to date.
	ckptIdle = 2 * time.Second
)

// checkpointer copies the WAL into the database file in the background
// until Close. A WAL that a checkpoint empties is reused from its start by
// the next write transaction, so it stays about ckptWALBytes at most while
// readers let the checkpoint finish.
func (db *DB) checkpointer() {
	defer db.ckptDone.Done()
	t := time.NewTicker(ckptPoll)
	defer t.Stop()
	walPath := db.path + "-wal"
	var lastSize int64
	lastGrowth := time.Now()
	for {
		select {
		case <-db.ckptStop:
			return
		case <-t.C:
		}
		fi, err := os.Stat(walPath)
		if err != nil {
			continue
		}
		size := fi.Size()
		if size != lastSize {
			lastSize, lastGrowth = size, time.Now()
		}
		if size == 0 || (size < ckptWALBytes && time.Since(lastGrowth) < ckptIdle) {
			continue
		}
		if err := db.checkpoint("PASSIVE"); err != nil {
			db.log.Warn("wal checkpoint", "db", db.path, "err", err)
		}
		// The file keeps its size until a TRUNCATE: wait for it to grow
		// again (a write restarting it from the start) before the next
		// idle checkpoint.
		lastGrowth = time.Now()
	}
}

// checkpoint runs one WAL checkpoint in mode (PASSIVE or TRUNCATE) on the
// checkpointer's connection.
// Checkpoint copies the write-ahead log into the database file and empties
// it, as the background checkpointer would later. Call it after a bulk load
// (a seed, an import) so the next requests do not pay for it.
func (db *DB) Checkpoint() error {
	if err := db.checkpoint("TRUNCATE"); err != nil {
		return fmt.Errorf("checkpoint %s: %w", db.path, err)
	}
	return nil
}

func (db *DB) checkpoint(mode string) error {
	var busy, frames, done int
	return db.ckpt.QueryRow("PRAGMA wal_checkpoint("+mode+")").Scan(&busy, &frames, &done)
}

// The pragmas each pool adds to sqlitedb's (busy_timeout, WAL, foreign keys,
// synchronous NORMAL; the writer begins IMMEDIATE, readers are query-only).
//
// The writer gets a 64 MiB page cache, so that a batch of a thousand 1 KB
// records does not spill dirty pages into the WAL before it commits (the
// default 2 MiB did, about 5% of push time), and no automatic checkpoint
// (see checkpointer). The checkpointer's connection only ever runs
// wal_checkpoint.
//
// Readers map the database file (mmap_size, up to 256 MiB) rather than
// reading each page with a system call into a 2 MiB cache: the dashboard's
// reads of a team's two years (the review queue, measure 9) spent a third
// of their time in those calls. The pages are the kernel's page cache,
// shared by the connections; the WAL is still read as before.
var (
	writerPragmas       = []string{"cache_size(-65536)", "wal_autocheckpoint(0)"}
	readerPragmas       = []string{"mmap_size(268435456)"}
	checkpointerPragmas = []string{"wal_autocheckpoint(0)"}
)

// Close writes the devices' reports not yet flushed, stops the
// checkpointer, empties the WAL into the database file
// (TRUNCATE, so a closed store is one file) and closes the connection
// pools. It is safe to call more than once.
func (db *DB) Close() error {
	db.closeOne.Do(func() {
		// The devices' last reports first, while the writer is open.
		errs := []error{db.stopDeviceFlusher()}
		if db.ckptStop != nil {
			close(db.ckptStop)
			db.ckptDone.Wait()
		}
		if db.r != nil {
			errs = append(errs, db.r.Close())
		}
		if db.ckpt != nil {
			// Readers are closed and the writer is idle unless a caller
			// still writes while closing; then the checkpoint waits up to
			// the busy timeout or leaves the rest to the next open.
			if err := db.checkpoint("TRUNCATE"); err != nil {
				db.log.Warn("wal checkpoint at close", "db", db.path, "err", err)
			}
			errs = append(errs, db.ckpt.Close())
		}
		if db.w != nil {
			errs = append(errs, db.w.Close())
		}
		db.closeErr = errors.Join(errs...)
	})
	return db.closeErr
}

// Path returns the database file.
func (db *DB) Path() string { return db.path }

// Clock returns the server's hybrid logical clock (node "server"), which
// stamps REST writes and observes every pushed stamp.
func (db *DB) Clock() *schema.Clock { return db.clock }

// checkApplicationID refuses a file stamped by another application (a
// tablet database, say) before anything is written to it.
func (db *DB) checkApplicationID(ctx context.Context) error {
	id, err := sqlitedb.ApplicationID(ctx, db.w)
	if err != nil {
		return fmt.Errorf("open %s: %w (is it a SQLite database?)", db.path, err)
	}
	if id != 0 && id != schema.ServerApplicationID {
		return fmt.Errorf("%s is not a Doorstep server database (application_id %#x, want %#x); check the --data folder", db.path, id, schema.ServerApplicationID)
	}
	if id == 0 {
		// A file of someone else's without a stamp: refuse it if it holds
		// tables we did not make.
		other, err := sqlitedb.HoldsOtherTables(ctx, db.w)
		if err != nil {
			return fmt.Errorf("open %s: %w", db.path, err)
		}
		if other {
			return fmt.Errorf("%s is not a Doorstep server database (application_id 0, and it holds other tables); check the --data folder", db.path)
		}
	}
	return nil
}

// migrate applies each migration not yet recorded, one transaction each,
// stamps the file, then checks foreign keys across the whole file.
func (db *DB) migrate(ctx context.Context) error {
	appliedAt := func() string { return fmtTime(db.now()) }
	err := sqlitedb.Migrate(ctx, db.w, schema.ServerMigrations(), appliedAt, db.log.With("db", db.path))
	var tooNew *sqlitedb.TooNewError
	if errors.As(err, &tooNew) {
		return fmt.Errorf("%s was migrated to version %d by a newer Doorstep; this build knows %d: run the newer build", db.path, tooNew.Version, tooNew.Known)
	}
	if err != nil {
		return fmt.Errorf("migrate %s: %w", db.path, err)
	}
	if err := sqlitedb.SetApplicationID(ctx, db.w, schema.ServerApplicationID); err != nil {
		return fmt.Errorf("stamp %s: %w", db.path, err)
	}
	err = sqlitedb.CheckForeignKeys(ctx, db.w)
	var fk *sqlitedb.ForeignKeyError
	if errors.As(err, &fk) {
		return fmt.Errorf("%s fails its foreign key check (table %s row %d refers to a missing %s row); restore from a backup", db.path, fk.Table, fk.RowID, fk.Parent)
	}
	if err != nil {
		return fmt.Errorf("foreign key check %s: %w", db.path, err)
	}
	return nil
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
	if h, err := schema.ParseHLC(last.String); err == nil && !h.IsZero() && !h.AheadOf(db.now(), schema.MaxClockAhead) {
		db.clock.Observe(h)
	}
	return nil
}

// timeLayout is the text times are stored as: fixed width, so stored times
// sort as text (the review queue and the set-aside list ORDER BY
// received_at, the device list by last_seen_at), and RFC 3339, so it is
// copied straight into JSON as a time.
const timeLayout = sqlitedb.SortableTime

func fmtTime(t time.Time) string { return sqlitedb.FormatTime(t, timeLayout) }

func parseTime(s string) time.Time { return sqlitedb.ParseTime(s).UTC() }

// wtx is one write transaction: its one `now`, and the sequence numbers it
// hands out, written back to the counter before commit.
type wtx struct {
	*sql.Tx
	ctx     context.Context
	now     time.Time
	nowText string
	seq     int64 // last number handed out; 0 until first use
	// seqStart is the counter's value when the transaction began (read
	// with seq): the records numbered after it are the ones it wrote.
	seqStart int64
	seqRead  bool
	seqUsed  bool
	// The audit chain's tail: the last event's id and hash (audit.go).
	auditID   int64
	auditHash string
	auditRead bool
	// beforeCommit runs, in order, once fn has succeeded: appliers write
	// the rows they collected (batch.go).
	beforeCommit []func() error
}

// nextSeq hands out the next sequence number. With one writer connection
// the numbers commit in the order they are handed out.
func (t *wtx) nextSeq() (int64, error) {
	if err := t.readSeq(); err != nil {
		return 0, err
	}
	t.seq++
	t.seqUsed = true
	return t.seq, nil
}

// readSeq reads the sequence counter, once per transaction.
func (t *wtx) readSeq() error {
	if t.seqRead {
		return nil
	}
	if err := t.QueryRowContext(t.ctx, `SELECT value FROM sequence WHERE id = 1`).Scan(&t.seq); err != nil {
		return fmt.Errorf("read sequence: %w", err)
	}
	t.seqStart = t.seq
	t.seqRead = true
	return nil
}

// WriteTransactions returns how many write transactions this DB has begun
// since Open (committed or not): what tests count to show that a request
// writes nothing.
func (db *DB) WriteTransactions() int64 { return db.writeTxs.Load() }

// update runs fn in one write transaction and commits it if fn returns nil.
func (db *DB) update(ctx context.Context, fn func(t *wtx) error) error {
	db.writeTxs.Add(1)
	asked := time.Now()
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if db.writerWait != nil {
		db.writerWait(time.Since(asked))
	}
	now := db.now().UTC()
	t := &wtx{Tx: tx, ctx: ctx, now: now, nowText: fmtTime(now)}
	if err := fn(t); err != nil {
		tx.Rollback()
		return err
	}
	for _, f := range t.beforeCommit {
		if err := f(); err != nil {
			tx.Rollback()
			return err
		}
	}
	if t.seqUsed {
		// The compliance read model, in the same transaction as the
		// records it is derived from (readmodel.go).
		if err := db.refreshReadModel(t, t.seqStart); err != nil {
			tx.Rollback()
			return err
		}
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
