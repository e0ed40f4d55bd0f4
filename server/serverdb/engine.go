package serverdb

import (
	"context"
	"database/sql"
	"errors"
)

// engine is what differs between the two databases the store runs on,
// SQLite (sqlite.go) and PostgreSQL (postgres.go). Everything else, the
// ~6,000 lines of queries and rules, is one code path over database/sql,
// written with `?` placeholders (the PostgreSQL driver numbers them).
type engine interface {
	// name is "sqlite" or "postgres".
	name() string
	// open sets db.w and db.r, refuses a database that belongs to
	// something else, applies pending migrations and loads the epoch.
	open(ctx context.Context, db *DB) error
	// close releases what open started beside the pools; the read pool
	// is closed, the writer still open.
	close() error
	// checkpoint makes the database compact after a bulk load, where the
	// engine has anything to do.
	checkpoint() error
	// analyze gives the planner statistics of the tables a bulk load or
	// a read model rebuild filled, where they are missing or stale
	// (decision 0061).
	analyze(ctx context.Context) error
	// backup writes a consistent copy of the database to the file out,
	// or says how to back the engine up instead.
	backup(ctx context.Context, out string) error
	// lockWriter takes the writer lock as the first statement of a write
	// transaction: one write transaction at a time, so change numbers
	// commit in number order (docs/sync-protocol.md, "Cursors with
	// several writers").
	lockWriter(ctx context.Context, tx *sql.Tx) error
	// readOptions begins a read transaction that sees one snapshot
	// across its statements.
	readOptions() *sql.TxOptions
	// bulkInsert writes rows into an append-only table in the write
	// transaction on c (PostgreSQL's COPY); SQLite has none (name says
	// which), and the multi-row INSERT builder writes (batch.go).
	bulkInsert(ctx context.Context, c *sql.Conn, table string, cols []string, rows [][]any) error

	// The JSON fragments. col is a column of JSON object text, key a
	// plain field name (never user input).

	// idsIn is a subquery over a JSON array of strings given as its one
	// `?`: `id IN (`+idsIn()+`)`.
	idsIn() string
	// jsonText is the field as text (NULL when absent).
	jsonText(col, key string) string
	// jsonTrue is a boolean: the field is JSON true.
	jsonTrue(col, key string) string
	// jsonValid is a boolean: col holds valid JSON.
	jsonValid(col string) string
	// anyChildUnseen is a boolean: col's "children" is an array and one
	// of them has "seen": "no".
	anyChildUnseen(col string) string
	// clockValues is a table of (key, value) rows, a row per field of
	// the JSON object col, for a FROM clause.
	clockValues(col string) string
}

// errNoBulkInsert: the engine has no bulk insert of its own.
var errNoBulkInsert = errors.New("this engine has no bulk insert")
