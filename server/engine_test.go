package server

import (
	"testing"

	"doorstep/server/serverdb/serverdbtest"
)

// The server's tests run on SQLite in every `go test`, and
// TestPostgresSuite runs them all again on PostgreSQL: each server a
// store in a fresh schema (serverdbtest.ConfigDB), so the API is held to
// the same behaviour on both engines. A test that only makes sense on SQLite (the
// file, its permissions, its backups) says why (serverdbtest.SQLiteOnly).
// DOORSTEP_TEST_PG_RUN=<pattern> narrows the PostgreSQL run.
func TestPostgresSuite(t *testing.T) {
	t.Parallel() // it waits on PostgreSQL: let the SQLite run go on beside it
	serverdbtest.RerunOnPostgres(t, "the server's test suite", 6)
}
