package serverdb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"sync"
	"time"

	"doorstep/internal/sqlitedb"
	"doorstep/schema"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// sqliteDriver is the name modernc.org/sqlite registers.
const sqliteDriver = "sqlite"

// sqliteEngine is a SQLite file: one writer connection (which is the
// writer lock: write transactions queue for it, and begin IMMEDIATE), a
// pool of query-only readers, and a background WAL checkpointer.
type sqliteEngine struct {
	db   *DB
	path string
	log  *slog.Logger
	// ckpt runs WAL checkpoints in the background (see checkpointer).
	ckpt     *sql.DB
	ckptStop chan struct{}
	ckptDone sync.WaitGroup
}

func (e *sqliteEngine) name() string { return "sqlite" }

func (e *sqliteEngine) open(ctx context.Context, db *DB) error {
	e.db, e.path, e.log = db, db.path, db.log
	w, err := sqlitedb.OpenWriter(sqliteDriver, e.path, writerPragmas...)
	if err != nil {
		return fmt.Errorf("open %s: %w", e.path, err)
	}
	db.w = w
	if err := e.checkApplicationID(ctx); err != nil {
		return err
	}
	if err := e.migrate(ctx); err != nil {
		return err
	}
	if err := db.loadEpoch(ctx); err != nil {
		return err
	}
	readers := max(4, runtime.NumCPU())
	r, err := sqlitedb.OpenReaders(sqliteDriver, e.path, readers, readerPragmas(readers)...)
	if err != nil {
		return fmt.Errorf("open %s for reading: %w", e.path, err)
	}
	db.r = r
	c, err := sql.Open(sqliteDriver, sqlitedb.DSN(e.path, checkpointerPragmas...))
	if err != nil {
		return fmt.Errorf("open %s for checkpoints: %w", e.path, err)
	}
	c.SetMaxOpenConns(1)
	c.SetMaxIdleConns(1)
	c.SetConnMaxLifetime(0)
	e.ckpt = c
	e.ckptStop = make(chan struct{})
	e.ckptDone.Add(1)
	go e.checkpointer()
	return nil
}

// close stops the checkpointer and empties the WAL into the database file
// (TRUNCATE, so a closed store is one file). The readers are closed and
// the writer is idle unless a caller still writes while closing; then the
// checkpoint waits up to the busy timeout or leaves the rest to the next
// open.
func (e *sqliteEngine) close() error {
	if e.ckpt == nil {
		return nil
	}
	close(e.ckptStop)
	e.ckptDone.Wait()
	if err := e.walCheckpoint("TRUNCATE"); err != nil {
		e.log.Warn("wal checkpoint at close", "db", e.path, "err", err)
	}
	err := e.ckpt.Close()
	e.ckpt = nil
	return err
}

// lockWriter: the one writer connection, begun IMMEDIATE, is the lock.
func (e *sqliteEngine) lockWriter(ctx context.Context, tx *sql.Tx) error { return nil }

// A read transaction of SQLite's is one snapshot from its first read.
func (e *sqliteEngine) readOptions() *sql.TxOptions { return &sql.TxOptions{ReadOnly: true} }

// bulkInsert: nil, the multi-row INSERT builder (batch.go) writes.
func (e *sqliteEngine) bulkInsert(ctx context.Context, c *sql.Conn, table string, cols []string, rows [][]any) error {
	return errNoBulkInsert
}

// The JSON fragments, with SQLite's JSON1 functions.

func (e *sqliteEngine) idsIn() string { return `SELECT value FROM json_each(?)` }

func (e *sqliteEngine) jsonText(col, key string) string {
	return `json_extract(` + col + `, '$.` + key + `')`
}

func (e *sqliteEngine) jsonTrue(col, key string) string {
	return `coalesce(json_extract(` + col + `, '$.` + key + `'), 0) = 1`
}

func (e *sqliteEngine) jsonValid(col string) string { return `json_valid(` + col + `)` }

func (e *sqliteEngine) anyChildUnseen(col string) string {
	return `json_type(` + col + `, '$.children') = 'array' AND EXISTS (SELECT 1 FROM json_each(` + col + `, '$.children') WHERE json_extract(value, '$.seen') = 'no')`
}

func (e *sqliteEngine) clockValues(col string) string { return `json_each(` + col + `)` }

// checkApplicationID refuses a file stamped by another application (a
// tablet database, say) before anything is written to it.
func (e *sqliteEngine) checkApplicationID(ctx context.Context) error {
	id, err := sqlitedb.ApplicationID(ctx, e.db.w)
	if err != nil {
		return fmt.Errorf("open %s: %w (is it a SQLite database?)", e.path, err)
	}
	if id != 0 && id != schema.ServerApplicationID {
		return fmt.Errorf("%s is not a Doorstep server database (application_id %#x, want %#x); check the --data folder", e.path, id, schema.ServerApplicationID)
	}
	if id == 0 {
		// A file of someone else's without a stamp: refuse it if it holds
		// tables we did not make.
		other, err := sqlitedb.HoldsOtherTables(ctx, e.db.w)
		if err != nil {
			return fmt.Errorf("open %s: %w", e.path, err)
		}
		if other {
			return fmt.Errorf("%s is not a Doorstep server database (application_id 0, and it holds other tables); check the --data folder", e.path)
		}
	}
	return nil
}

// migrate applies each migration not yet recorded, one transaction each,
// stamps the file, then checks foreign keys across the whole file.
func (e *sqliteEngine) migrate(ctx context.Context) error {
	appliedAt := func() string { return fmtTime(e.db.now()) }
	err := sqlitedb.Migrate(ctx, e.db.w, schema.ServerMigrations(), appliedAt, e.db.log.With("db", e.path))
	var tooNew *sqlitedb.TooNewError
	if errors.As(err, &tooNew) {
		return fmt.Errorf("%s was migrated to version %d by a newer Doorstep; this build knows %d: run the newer build", e.path, tooNew.Version, tooNew.Known)
	}
	if err != nil {
		return fmt.Errorf("migrate %s: %w", e.path, err)
	}
	if err := sqlitedb.SetApplicationID(ctx, e.db.w, schema.ServerApplicationID); err != nil {
		return fmt.Errorf("stamp %s: %w", e.path, err)
	}
	err = sqlitedb.CheckForeignKeys(ctx, e.db.w)
	var fk *sqlitedb.ForeignKeyError
	if errors.As(err, &fk) {
		return fmt.Errorf("%s fails its foreign key check (table %s row %d refers to a missing %s row); restore from a backup", e.path, fk.Table, fk.RowID, fk.Parent)
	}
	if err != nil {
		return fmt.Errorf("foreign key check %s: %w", e.path, err)
	}
	return nil
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
func (e *sqliteEngine) checkpointer() {
	defer e.ckptDone.Done()
	t := time.NewTicker(ckptPoll)
	defer t.Stop()
	walPath := e.path + "-wal"
	var lastSize int64
	lastGrowth := time.Now()
	for {
		select {
		case <-e.ckptStop:
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
		if err := e.walCheckpoint("PASSIVE"); err != nil {
			e.log.Warn("wal checkpoint", "db", e.path, "err", err)
		}
		// The file keeps its size until a TRUNCATE: wait for it to grow
		// again (a write restarting it from the start) before the next
		// idle checkpoint.
		lastGrowth = time.Now()
	}
}

// analyze runs PRAGMA optimize over every table (0x10002: those never
// queried too), which runs ANALYZE on a table that has none of its
// statistics yet or whose rows grew or shrank 25-fold since; a bounded
// sample (analysis_limit), so that it costs milliseconds at 25,000 cases.
// Without it SQLite plans the report queries with no sqlite_stat1 at all.
func (e *sqliteEngine) analyze(ctx context.Context) error {
	c, err := e.db.w.Conn(ctx)
	if err != nil {
		return fmt.Errorf("analyze %s: %w", e.path, err)
	}
	defer c.Close()
	for _, q := range []string{`PRAGMA analysis_limit = 1000`, `PRAGMA optimize = 0x10002`} {
		if _, err := c.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("analyze %s: %s: %w", e.path, q, err)
		}
	}
	return nil
}

func (e *sqliteEngine) checkpoint() error {
	if err := e.walCheckpoint("TRUNCATE"); err != nil {
		return fmt.Errorf("checkpoint %s: %w", e.path, err)
	}
	return nil
}

// walCheckpoint runs one WAL checkpoint in mode (PASSIVE or TRUNCATE) on
// the checkpointer's connection.
func (e *sqliteEngine) walCheckpoint(mode string) error {
	var busy, frames, done int
	return e.ckpt.QueryRow("PRAGMA wal_checkpoint("+mode+")").Scan(&busy, &frames, &done)
}

// The pragmas each pool adds to sqlitedb's (busy_timeout, WAL, foreign keys,
// synchronous FULL; the writer begins IMMEDIATE, readers are query-only).
//
// The writer gets a 64 MiB page cache, so that a batch of a thousand 1 KB
// records does not spill dirty pages into the WAL before it commits (the
// default 2 MiB did, about 5% of push time), and no automatic checkpoint
// (see checkpointer). The checkpointer's connection only ever runs
// wal_checkpoint.
//
// Readers map the database file (mmap_size) rather than reading each page
// with a system call into their cache: the dashboard's reads of a team's
// two years (the review queue, measure 9) spent a third of their time in
// those calls. The pages are the kernel's page cache; the WAL is still
// read as before. But each connection maps its own view, and the process's
// resident memory counts every view's pages: readers x mmap_size grew with
// the store up to 1 GiB on four readers (and with the cores beyond).
// Decision 0074 bounds them together: readerMapBytes shared out among the
// readers (64 MiB each on four), and each reader's page cache at 2 MiB
// (SQLite's default, written down): what SQLite holds of the file is then
// at most 256 + 8 MiB of readers and the writer's 64, whatever the store.
var (
	writerPragmas       = []string{"cache_size(-65536)", "wal_autocheckpoint(0)"}
	checkpointerPragmas = []string{"wal_autocheckpoint(0)"}
)

// readerMapBytes is the most of the file all the readers map together.
const readerMapBytes = 256 << 20

// readerPragmas are the pragmas of each of n readers.
func readerPragmas(n int) []string {
	return []string{fmt.Sprintf("mmap_size(%d)", readerMapBytes/n), "cache_size(-2000)"}
}
