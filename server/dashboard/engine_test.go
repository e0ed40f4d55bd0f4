package dashboard

import (
	"testing"

	"doorstep/server/serverdb/serverdbtest"
)

// The dashboard's tests run on SQLite in every `go test`, and
// TestPostgresSuite runs them all again on PostgreSQL: each server a
// store in a fresh schema (serverdbtest.ConfigDB).
// DOORSTEP_TEST_PG_RUN=<pattern> narrows the PostgreSQL run.
func TestPostgresSuite(t *testing.T) {
	t.Parallel() // it waits on PostgreSQL: let the SQLite run go on beside it
	serverdbtest.RerunOnPostgres(t, "the dashboard's test suite", 6)
}
