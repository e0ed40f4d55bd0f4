package serverdb

import (
	"database/sql"
	"testing"

	"doorstep/server/serverdb/serverdbtest"

	"github.com/jackc/pgx/v5/stdlib"
)

// The store's contract is this package's tests: they run on SQLite in
// every `go test`, and TestPostgresContract runs them all again on
// PostgreSQL (each store in a fresh schema, serverdbtest.Target), so both
// engines are held to the same behaviour. A test that only makes sense on
// one engine says why (sqliteOnly).

// TestPostgresContract runs this package's tests again on PostgreSQL
// (serverdbtest.RerunOnPostgres); DOORSTEP_TEST_PG_RUN=<pattern> narrows
// that run, for working on one test.
func TestPostgresContract(t *testing.T) {
	serverdbtest.RerunOnPostgres(t, "the store's test suite", 6)
}

// testTarget is what a test opens for a new store: a file, or a fresh
// PostgreSQL schema in the PostgreSQL run.
func testTarget(t testing.TB) string {
	t.Helper()
	return serverdbtest.Target(t)
}

// onPostgres reports whether this is the PostgreSQL run.
func onPostgres() bool { return serverdbtest.Postgres() }

// sqliteOnly skips t in the PostgreSQL run, saying why it holds only of
// SQLite.
func sqliteOnly(t testing.TB, why string) {
	t.Helper()
	if onPostgres() {
		t.Skipf("SQLite only: %s", why)
	}
}

// rawDB opens the store's database as someone holding it would, past the
// store: the tests tamper with the trail through it. On PostgreSQL it is
// the schema of the URL, with the store's `?` placeholders.
func rawDB(t *testing.T, target string) *sql.DB {
	t.Helper()
	var db *sql.DB
	if IsPostgresURL(target) {
		cfg, _, err := pgConfig(target) // without pool_max_conns, as the store takes it
		if err != nil {
			t.Fatalf("open %s: %v", target, err)
		}
		db = sql.OpenDB(pgConnector{inner: stdlib.GetConnector(*cfg)})
	} else {
		var err error
		db, err = sql.Open(sqliteDriver, "file:"+target+"?_pragma=busy_timeout(10000)")
		if err != nil {
			t.Fatalf("open %s: %v", target, err)
		}
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// dropTrigger drops one of the audit trail's triggers, as whoever holds
// the database can.
func dropTrigger(t *testing.T, raw *sql.DB, name, table string) {
	t.Helper()
	q := `DROP TRIGGER ` + name
	if onPostgres() {
		q += ` ON ` + table
	}
	mustExec(t, raw, q)
}

func TestNumberPlaceholders(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ in, want string }{
		{`SELECT 1`, `SELECT 1`},
		{`SELECT ? , ?`, `SELECT $1 , $2`},
		{`WHERE a = '?' AND b = ?`, `WHERE a = '?' AND b = $1`},
		{`WHERE a = 'it''s ?' AND b = ?`, `WHERE a = 'it''s ?' AND b = $1`},
		{`SELECT "we?ird" FROM t WHERE x = ?`, `SELECT "we?ird" FROM t WHERE x = $1`},
		{"SELECT ? -- a comment?\n, ?", "SELECT $1 -- a comment?\n, $2"},
		{`SELECT /* ? */ ?`, `SELECT /* ? */ $1`},
		{`json_extract(fields, '$.a') = ? OR ? LIKE ? ESCAPE '\'`, `json_extract(fields, '$.a') = $1 OR $2 LIKE $3 ESCAPE '\'`},
		{`SELECT 'unterminated ?`, `SELECT 'unterminated ?`},
		{`SET a = max(a, ?1), b = ?2 WHERE ?1 > 0 AND id = ?11`, `SET a = max(a, $1), b = $2 WHERE $1 > 0 AND id = $11`},
	} {
		if got := numberPlaceholders(c.in); got != c.want {
			t.Errorf("numberPlaceholders(%q) = %q, want %q", c.in, got, c.want)
		}
		// Again, from the cache.
		if got := numberPlaceholders(c.in); got != c.want {
			t.Errorf("numberPlaceholders(%q) again = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestIsPostgresURL(t *testing.T) {
	t.Parallel()
	for s, want := range map[string]bool{
		"postgres://u@h/db":            true,
		"postgresql://u@h:5432/db?x=y": true,
		"/var/lib/doorstep/server.db":  false,
		"server.db":                    false,
		"postgres.db":                  false,
		"file:postgres://x":            false,
	} {
		if got := IsPostgresURL(s); got != want {
			t.Errorf("IsPostgresURL(%q) = %v, want %v", s, got, want)
		}
	}
}
