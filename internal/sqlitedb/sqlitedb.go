// Package sqlitedb is the SQLite plumbing the two stores (server/serverdb
// and syncer/devicedb) share: the connection string and its pragmas, the one
// writer connection and the read pool, the PRAGMA application_id stamp, the
// migration runner and the text times are stored as.
//
// It uses database/sql only (and its driver interfaces, to wrap the
// writer's connection in a statement cache: stmtcache.go). Each store
// imports the driver (modernc.org/sqlite) and passes its name in, so that
// only the stores talk to a database; the decisions of each store (its extra pragmas, the size
// of its read pool, what to say about a foreign file) stay in the store.
package sqlitedb

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
)

// DSN returns the connection string for the file at path: busy_timeout
// first, so that the pragmas after it wait for a lock rather than fail,
// then WAL, foreign keys on and synchronous(FULL), then pragmas in the
// order given ("cache_size(-32000)").
//
// FULL, not NORMAL: under WAL, NORMAL syncs the log only at a checkpoint,
// so a commit survives the process's crash but may roll back when the
// machine loses power. The server answers a push once it committed, and
// the tablet then forgets what it sent (its outbox rows); the officer's
// app says "saved" once the tablet committed: either commit must survive
// a power cut (decision 0069). FULL syncs the log at every commit.
func DSN(path string, pragmas ...string) string {
	return dsn(path, false, pragmas)
}

func dsn(path string, immediate bool, pragmas []string) string {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "synchronous(FULL)")
	for _, p := range pragmas {
		q.Add("_pragma", p)
	}
	if immediate {
		q.Add("_txlock", "immediate")
	}
	return "file:" + path + "?" + q.Encode()
}

// OpenWriter opens the pool every write goes through: exactly one
// connection, kept open, whose transactions begin IMMEDIATE, so that a
// transaction never upgrades from a read lock (which fails with
// SQLITE_BUSY under WAL) and the writes commit in the order they begin.
// driver is the name the store's driver registered ("sqlite"). The
// connection keeps the statements it compiled, across transactions (see
// stmtcache.go).
func OpenWriter(driver, path string, pragmas ...string) (*sql.DB, error) {
	db, err := openCaching(driver, dsn(path, true, pragmas), writerLimits)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	return db, nil
}

// OpenReaders opens a pool of conns read connections, which WAL lets read
// beside the writer. They are query_only, so a bug can never write through
// them, and their transactions begin DEFERRED. Each keeps the statements
// it compiled, in a smaller cache than the writer's (stmtcache.go).
func OpenReaders(driver, path string, conns int, pragmas ...string) (*sql.DB, error) {
	db, err := openCaching(driver, dsn(path, false, append([]string{"query_only(1)"}, pragmas...)), readerLimits)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(conns)
	db.SetMaxIdleConns(conns)
	return db, nil
}

// openCaching opens a pool on dsn whose connections keep the statements
// they compile within limits.
func openCaching(driver, dsn string, limits cacheLimits) (*sql.DB, error) {
	// sql.Open opens no connection: it finds the driver by its name.
	byName, err := sql.Open(driver, "")
	if err != nil {
		return nil, err
	}
	drv := byName.Driver()
	byName.Close()
	stats := &cacheStats{}
	db := sql.OpenDB(&cachingConnector{drv: drv, dsn: dsn, stats: stats, limits: limits})
	keepStats(db, stats)
	return db, nil
}

// ApplicationID returns the application_id the file is stamped with, 0 for
// none. An error usually means the file is not an SQLite database.
func ApplicationID(ctx context.Context, db *sql.DB) (int64, error) {
	var id int64
	if err := db.QueryRowContext(ctx, "PRAGMA application_id").Scan(&id); err != nil {
		return 0, err
	}
	return id, nil
}

// SetApplicationID stamps the file with id, so that no other program (nor
// the other side of Doorstep) takes it for its own.
//
// A file stamped with id already is left alone: setting the pragma, even
// to the value it has, is a write transaction, and a store opened beside
// a busy writer (`doorstep admin backup` beside the running server) would
// wait for the write lock on every open, and fail with SQLITE_BUSY once
// its busy timeout ran out.
func SetApplicationID(ctx context.Context, db *sql.DB, id int64) error {
	if have, err := ApplicationID(ctx, db); err == nil && have == id {
		return nil
	}
	_, err := db.ExecContext(ctx, fmt.Sprintf("PRAGMA application_id = %d", id))
	return err
}

// HoldsOtherTables reports whether an unstamped file holds tables but no
// migrations table: a file of someone else's, which a store must not
// migrate into.
func HoldsOtherTables(ctx context.Context, db *sql.DB) (bool, error) {
	var n int
	err := db.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> 'schema_migrations'`).Scan(&n)
	if err != nil {
		return false, err
	}
	var migrated int
	_ = db.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'schema_migrations'`).Scan(&migrated)
	return n > 0 && migrated == 0, nil
}
