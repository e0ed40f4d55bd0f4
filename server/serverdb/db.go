// Package serverdb is the server's store: users, teams, devices and tokens,
// every record of every entity, the change sequence that pull pages by, the
// idempotency log of pushed mutations, and the audit trail, in one SQLite
// file (modernc.org/sqlite, no cgo) or one PostgreSQL schema
// (github.com/jackc/pgx/v5), chosen by what Open is given.
//
// It adapts the domain of package schema to SQL: validation, scope and the
// merge rules come from schema and docs/sync-protocol.md; this package makes
// them durable and atomic. The SQL is written once; what differs between
// the engines sits behind the small engine interface (engine.go). There is
// one write transaction at a time (SQLite's one writer connection,
// PostgreSQL's writer lock across every instance), so the sequence numbers
// commit in order and a pull cursor never skips a change, and a separate
// pool of read connections, so pulls never wait for pushes.
package serverdb

import (
	"context"
	"crypto/ed25519"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"doorstep/internal/sqlitedb"
	"doorstep/schema"
	"doorstep/schema/policy"
)

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
	// folder. VerifyVisit trusts a countersignature made by this key only.
	// A key made for this run when nil (tests).
	VisitKey ed25519.PrivateKey
	// WriterWait, when set, hears how long each write transaction waited
	// to begin: for the one writer connection, and for SQLite's write lock
	// when another process (doorstep admin) holds it; on PostgreSQL for
	// the writer lock, held by a write transaction of this instance or
	// another. The server's metrics observe it
	// (doorstep_db_writer_wait_seconds).
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
	// path is what Open was given: a SQLite file or a PostgreSQL URL.
	path  string
	eng   engine
	w     *sql.DB // writers: every write transaction goes through it
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
	// usersListed counts the users' lists read (UsersListed).
	usersListed atomic.Int64
	// rmDeletes counts the read model's row deletes (tests read it).
	rmDeletes atomic.Int64
	// rmUnchanged counts the changed visits whose read model rows were
	// left alone: found as they would be written, or changed only in
	// fields the read model does not read (tests read it).
	rmUnchanged atomic.Int64
	// rmStoredVisits counts the changed visits whose stored read model
	// rows were read back to compare (readStoredVisits; tests read it).
	rmStoredVisits atomic.Int64
	// recordUpdates counts the statements that wrote changed records
	// (applier.flushChanged; tests read it).
	recordUpdates atomic.Int64
	// writerPrepares counts the statements prepared on PostgreSQL's
	// writer connections (pgConn; tests read it).
	writerPrepares atomic.Int64
	changes        changeFeed // "changes waiting" wake-ups (notify.go)
	// reads are the statements of the hot reads, prepared once on the
	// read pool (readStmt).
	reads sync.Map // query text -> *sql.Stmt

	closeOne sync.Once
	closeErr error
}

// Open opens the server database target, creating it if needed: a SQLite
// file path, or a postgres:// (postgresql://) URL naming a PostgreSQL
// database, whose search_path (a URL parameter) names the schema to use.
// It refuses a database that belongs to something else and applies pending
// migrations (on PostgreSQL under an advisory lock, so that several
// instances may start at once).
func Open(ctx context.Context, target string, opts Options) (*DB, error) {
	db := newDB(target, opts)
	if IsPostgresURL(target) {
		db.eng = &pgEngine{}
	} else {
		db.eng = &sqliteEngine{}
	}
	if err := db.eng.open(ctx, db); err != nil {
		db.closePools()
		return nil, err
	}
	rebuilt, err := db.buildReadModel(ctx)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("open %s: %w", db.Name(), err)
	}
	// The planner's statistics: after a rebuild on both engines, and at
	// every open on SQLite, where PRAGMA optimize costs nothing when they
	// are current (decision 0061).
	if rebuilt || db.eng.name() == "sqlite" {
		if err := db.eng.analyze(ctx); err != nil {
			db.Close()
			return nil, fmt.Errorf("open %s: %w", db.Name(), err)
		}
	}
	if err := db.primeClock(ctx); err != nil {
		db.Close()
		return nil, err
	}
	if opts.DeviceFlush <= 0 {
		opts.DeviceFlush = DefaultDeviceFlush
	}
	// The feed first: its NOTIFY channel is fixed before the device
	// flusher's write transactions may read it.
	db.startChanges(ctx)
	db.startDeviceFlusher(opts.DeviceFlush)
	return db, nil
}

// newDB is the store on target before it is opened: opts' clock, logger,
// rules, policy and visit key, each defaulted where opts leaves it unset
// (Open and OpenReadOnly).
func newDB(target string, opts Options) *DB {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	db := &DB{path: target, now: opts.Now, log: opts.Logger, rules: opts.Rules, review: policy.DefaultReviewRules()}
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
	return db
}

// Checkpoint copies SQLite's write-ahead log into the database file and
// empties it, as the background checkpointer would later. Call it after a
// bulk load (a seed, an import) so the next requests do not pay for it. On
// PostgreSQL it vacuums and analyzes the tables a bulk load fills, so that
// the planner knows their rows and index-only scans skip the heap.
func (db *DB) Checkpoint() error { return db.eng.checkpoint() }

// Close writes the devices' reports not yet flushed, lets the engine
// finish (SQLite: stops the checkpointer and empties the WAL into the
// database file, so a closed store is one file) and closes the connection
// pools. It is safe to call more than once.
func (db *DB) Close() error {
	db.closeOne.Do(func() {
		// The devices' last reports first, while the writer is open.
		errs := []error{db.stopDeviceFlusher()}
		db.stopChanges()
		db.reads.Range(func(_, s any) bool {
			errs = append(errs, s.(*sql.Stmt).Close())
			return true
		})
		if db.r != nil {
			errs = append(errs, db.r.Close())
		}
		errs = append(errs, db.eng.close())
		if db.w != nil {
			errs = append(errs, db.w.Close())
		}
		db.closeErr = errors.Join(errs...)
	})
	return db.closeErr
}

// closePools closes the pools of a store whose open failed.
func (db *DB) closePools() error {
	var errs []error
	if db.r != nil {
		errs = append(errs, db.r.Close())
	}
	if db.w != nil {
		errs = append(errs, db.w.Close())
	}
	return errors.Join(errs...)
}

// Path returns what Open was given: the database file, or the PostgreSQL
// URL, which may hold a password: messages and logs use Name.
func (db *DB) Path() string { return db.path }

// Name names the database for messages and logs: the file, or the
// PostgreSQL URL with its password hidden.
func (db *DB) Name() string {
	if IsPostgresURL(db.path) {
		return redactURL(db.path)
	}
	return db.path
}

// Engine is "sqlite" or "postgres": which database the store runs on.
func (db *DB) Engine() string { return db.eng.name() }

// Clock returns the server's hybrid logical clock (node "server"), which
// stamps REST writes and observes every pushed stamp.
func (db *DB) Clock() *schema.Clock { return db.clock }

// primeClock moves the server clock past the stamps of the last change
// stored, so a restart with a slow wall clock still stamps REST writes
// after it (later pushes are observed as they come).
func (db *DB) primeClock(ctx context.Context) error {
	var last sql.NullString
	err := db.r.QueryRowContext(ctx, `SELECT max(value) FROM records, `+db.eng.clockValues("records.clocks")+` WHERE records.seq = (SELECT max(seq) FROM records)`).Scan(&last)
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
	// conn is the transaction's connection (the engine's bulk insert
	// reaches the driver through it); eng is the store's engine.
	conn    *sql.Conn
	eng     engine
	bulk    bool // eng has a bulk insert: batch.go uses it
	ctx     context.Context
	now     time.Time
	nowText string
	seq     int64 // last number handed out; 0 until first use
	seqRead bool
	seqUsed bool
	// The audit chain's tail: the last event's id and hash (audit.go).
	auditID   int64
	auditHash string
	auditRead bool
	// beforeCommit runs, in order, once fn has succeeded: appliers write
	// the rows they collected (batch.go).
	beforeCommit []func() error
	// newCases are the cases whose case record t created: the read model
	// has no rows of theirs yet, and every record they have is t's
	// (refreshReadModel writes them whole, with no deletes).
	newCases map[string]bool
	// newIDs are the records t created: the read model has no row
	// derived from them to delete.
	newIDs map[string]bool
	// written are the records t created or changed, as the apply holds
	// them: the read model decodes their fields from these maps (see
	// decodeFields) instead of the text it reads back.
	written map[string]*row
}

// wrote notes r as created or changed by t (wtx.written).
func (t *wtx) wrote(r *row) {
	if t.written == nil {
		t.written = map[string]*row{}
	}
	t.written[r.id] = r
}

// nextSeq hands out the next sequence number. With one write transaction
// at a time the numbers commit in the order they are handed out.
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
	t.seqRead = true
	return nil
}

// WriteTransactions returns how many write transactions this DB has begun
// since Open (committed or not): what tests count to show that a request
// writes nothing.
func (db *DB) WriteTransactions() int64 { return db.writeTxs.Load() }

// UsersListed returns how many times this DB has listed the users
// (ListUsers) since Open: what tests count to show that a page reads them
// once.
func (db *DB) UsersListed() int64 { return db.usersListed.Load() }

// beginWrite begins a write transaction on a connection of its own, which
// the caller closes after the transaction ends, and takes the writer lock
// (the engine's: on SQLite the one writer connection is the lock).
func (db *DB) beginWrite(ctx context.Context) (*sql.Conn, *sql.Tx, error) {
	if db.w == nil {
		return nil, nil, ErrReadOnly
	}
	c, err := db.w.Conn(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("begin: %w", err)
	}
	tx, err := c.BeginTx(ctx, nil)
	if err != nil {
		c.Close()
		return nil, nil, fmt.Errorf("begin: %w", err)
	}
	if err := db.eng.lockWriter(ctx, tx); err != nil {
		tx.Rollback()
		c.Close()
		return nil, nil, fmt.Errorf("begin: take the writer lock: %w", err)
	}
	return c, tx, nil
}

// update runs fn in one write transaction and commits it if fn returns nil.
func (db *DB) update(ctx context.Context, fn func(t *wtx) error) error {
	db.writeTxs.Add(1)
	asked := time.Now()
	c, tx, err := db.beginWrite(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	if db.writerWait != nil {
		db.writerWait(time.Since(asked))
	}
	now := db.now().UTC()
	t := &wtx{Tx: tx, conn: c, eng: db.eng, bulk: db.eng.name() == "postgres", ctx: ctx, now: now, nowText: fmtTime(now)}
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
		if err := db.withContactTotals(t, db.refreshReadModel); err != nil {
			tx.Rollback()
			return err
		}
		if err := db.writeSequence(t); err != nil {
			tx.Rollback()
			return err
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	db.committed(t)
	return nil
}

// readStmt returns the statement q prepared on the read pool, once: the
// reads every sync request makes (the access token's device, the
// sequence) were each prepared anew, which was a third of a no-op sync's
// time on the server. database/sql prepares it on each connection at its
// first use there, and a transaction takes it with Tx.StmtContext.
func (db *DB) readStmt(ctx context.Context, q string) (*sql.Stmt, error) {
	if s, ok := db.reads.Load(q); ok {
		return s.(*sql.Stmt), nil
	}
	s, err := db.r.PrepareContext(ctx, q)
	if err != nil {
		return nil, err
	}
	if old, loaded := db.reads.LoadOrStore(q, s); loaded {
		s.Close()
		return old.(*sql.Stmt), nil
	}
	return s, nil
}

// view runs fn in one read transaction, so every query sees one snapshot.
func (db *DB) view(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := db.r.BeginTx(ctx, db.eng.readOptions())
	if err != nil {
		return fmt.Errorf("begin read: %w", err)
	}
	defer tx.Rollback()
	return fn(tx)
}
