// Package serverdbtest gives tests a server database to open: a SQLite file
// or a fresh PostgreSQL schema, as the environment selects. It is test
// scaffolding; only tests import it.
//
// DOORSTEP_TEST_POSTGRES holds the URL of a PostgreSQL database tests may
// make schemas in (trust or password in the URL); when it is empty the
// tests that need PostgreSQL skip, saying so, except under CI=true, where
// they fail. DOORSTEP_TEST_ENGINE=postgres makes Target answer PostgreSQL
// schemas (serverdb's TestPostgresContract sets it to run the store's
// whole suite again on PostgreSQL).
package serverdbtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Environment variables.
const (
	// EnvPostgres holds the PostgreSQL URL tests make schemas in.
	EnvPostgres = "DOORSTEP_TEST_POSTGRES"
	// EnvEngine selects the engine Target answers: "postgres", or SQLite
	// when empty.
	EnvEngine = "DOORSTEP_TEST_ENGINE"
)

// TestPoolMax is the most connections each pool of a test's PostgreSQL
// store opens (pool_max_conns in PostgresURL's URL): a store has two (the
// writers', the readers').
const TestPoolMax = 2

// DriverURL is a store's PostgreSQL URL as another client takes it (pgx's
// own sql driver, pgx.Connect): without pool_max_conns, which only the
// store knows and PostgreSQL would refuse as a setting. Other URLs pass
// unchanged.
func DriverURL(store string) string {
	u, err := url.Parse(store)
	if err != nil || !u.Query().Has("pool_max_conns") {
		return store
	}
	q := u.Query()
	q.Del("pool_max_conns")
	u.RawQuery = q.Encode()
	return u.String()
}

// Postgres reports whether Target answers PostgreSQL schemas in this run.
func Postgres() bool { return os.Getenv(EnvEngine) == "postgres" }

// Engine names the engine Target answers: "postgres" or "sqlite".
func Engine() string {
	if Postgres() {
		return "postgres"
	}
	return "sqlite"
}

// Target returns what to give serverdb.Open for a new, empty store: a file
// in t.TempDir(), or, when Postgres(), the URL of a fresh schema (see
// PostgresURL).
func Target(t testing.TB) string {
	t.Helper()
	if Postgres() {
		return PostgresURL(t)
	}
	return filepath.Join(t.TempDir(), "server.db")
}

// RequirePostgres returns the URL in DOORSTEP_TEST_POSTGRES; when it is
// empty it skips t, saying how to run it, or fails t under CI=true.
func RequirePostgres(t testing.TB) string {
	t.Helper()
	base := os.Getenv(EnvPostgres)
	if base == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is empty, and CI=true: the PostgreSQL tests must run in CI (.ci/run sets it)", EnvPostgres)
		}
		t.Skipf("PostgreSQL tests skipped: set %s to a PostgreSQL URL (e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable) to run them", EnvPostgres)
	}
	return base
}

// PostgresURL makes a new schema in the database of DOORSTEP_TEST_POSTGRES
// and returns a URL whose search_path is that schema; the schema is
// dropped, with all it holds, when t ends (after the cleanups registered
// later, so close the store first with t.Cleanup). Without the variable it
// skips t (fails under CI=true).
func PostgresURL(t testing.TB) string {
	t.Helper()
	base := RequirePostgres(t)
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("%s: %v", EnvPostgres, err)
	}
	b := make([]byte, 6)
	rand.Read(b)
	name := "doorstep_test_" + hex.EncodeToString(b)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("connect to %s: %v", u.Redacted(), err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+name); err != nil {
		t.Fatalf("create schema %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Errorf("drop schema %s: %v", name, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP SCHEMA "+name+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", name, err)
		}
	})
	q := u.Query()
	q.Set("search_path", name)
	// Small pools: the suites of several packages run at once, each
	// with many stores open, under PostgreSQL's max_connections (100).
	if !q.Has("pool_max_conns") {
		q.Set("pool_max_conns", strconv.Itoa(TestPoolMax))
	}
	u.RawQuery = q.Encode()
	return u.String()
}
