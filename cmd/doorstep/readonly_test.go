package main

import (
	"context"
	"crypto/ed25519"
	"database/sql"
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"doorstep/internal/sqlitedb"
	"doorstep/schema"
	"doorstep/server"
	"doorstep/server/serverdb/serverdbtest"
)

// readOnlyAdmin are the read-only admin actions, each with what it prints
// (or, for verify-visit of an id never received, the error it gives) on
// a store holding the team North and the user sue.k.
var readOnlyAdmin = []struct {
	args []string
	want string
}{
	{[]string{"list-teams"}, "North"},
	{[]string{"list-users"}, "sue.k"},
	{[]string{"list-devices"}, "LAST SYNC"},
	{[]string{"audit", "verify"}, "audit trail intact"},
	{[]string{"verify-visit", "0190a2b4-0000-7000-8000-000000000001"}, "no signed visit or amendment with this id"},
}

// runReadOnlyAdmin runs each read-only action with extra flags and fails t
// unless each answers as readOnlyAdmin says.
func runReadOnlyAdmin(t *testing.T, extra ...string) {
	t.Helper()
	for _, a := range readOnlyAdmin {
		out, err := doorstep(t, append(append([]string{"admin"}, a.args...), extra...)...)
		if err != nil {
			out += "\nerror: " + err.Error()
		}
		if !strings.Contains(out, a.want) {
			t.Errorf("admin %s: %s\nwant %q", strings.Join(a.args, " "), out, a.want)
		}
	}
}

// writeVisitKey puts a visit signing key in secrets, as the server makes
// one at its first start (verify-visit reads it).
func writeVisitKey(t *testing.T, secrets string) {
	t.Helper()
	pub, priv, _ := ed25519.GenerateKey(nil)
	b, _ := json.Marshal(map[string]any{"public_key": []byte(pub), "private_key": priv.Seed(), "created_at": time.Now().UTC()})
	if err := os.MkdirAll(secrets, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(secrets, server.VisitKeyFile), b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// The operator's read-only commands open a SQLite store read-only: they
// answer while another connection holds the write lock (as a server does
// through a push), where before they waited for it and failed with
// "database is locked" after the busy timeout; they migrate nothing, and
// refuse a store older than the build, and a missing one, saying so.
func TestAdminReadOnlyOnSQLite(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	seedNorth(t, "--data", data)
	writeVisitKey(t, server.DefaultSecretsDir(data))
	file := filepath.Join(data, serverDBFile)

	// A writer holds the write lock throughout.
	ctx := context.Background()
	w, c := openConn(t, "sqlite", sqlitedb.DSN(file))
	if _, err := c.ExecContext(ctx, `BEGIN IMMEDIATE`); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ExecContext(ctx, `INSERT INTO settings (key, value) VALUES ('h4_test_writer', 'uncommitted')`); err != nil {
		t.Fatal(err)
	}
	runReadOnlyAdmin(t, "--data", data)
	if _, err := c.ExecContext(ctx, `ROLLBACK`); err != nil {
		t.Fatal(err)
	}
	c.Close()

	// A store older than the build: refused, and left as it was.
	if _, err := w.Exec(`DELETE FROM schema_migrations WHERE version = (SELECT max(version) FROM schema_migrations)`); err != nil {
		t.Fatal(err)
	}
	known := len(schema.ServerMigrations())
	for _, a := range readOnlyAdmin {
		_, err := doorstep(t, append(append([]string{"admin"}, a.args...), "--data", data)...)
		if err == nil || !strings.Contains(err.Error(), "older than this build's") || !strings.Contains(err.Error(), "start the server") {
			t.Errorf("admin %s on a store one migration behind: %v; want a refusal saying it is older", strings.Join(a.args, " "), err)
		}
	}
	var n int
	if err := w.QueryRow(`SELECT count(*) FROM schema_migrations`).Scan(&n); err != nil || n != known-1 {
		t.Errorf("migrations recorded after the read-only commands: %d, %v; want %d (none run)", n, err, known-1)
	}

	// A missing store: refused, nothing made.
	none := filepath.Join(dir, "none")
	if _, err := doorstep(t, "admin", "list-users", "--data", none); err == nil || !strings.Contains(err.Error(), "no server database") {
		t.Errorf("list-users of a missing store: %v", err)
	}
	if _, err := os.Stat(none); err == nil {
		t.Errorf("list-users of a missing store made %s", none)
	}
}

// The same on PostgreSQL: the read-only commands take neither the
// migration lock nor the writer lock (a write transaction of a server
// holds it), so they answer while another session holds the writer lock;
// before, the epoch's write transaction waited for it (here until the
// URL's lock_timeout). A schema older than the build is refused and not
// migrated; an empty schema is refused and left empty.
func TestAdminReadOnlyOnPostgres(t *testing.T) {
	t.Parallel()
	dbURL := serverdbtest.PostgresURL(t)
	data := filepath.Join(t.TempDir(), "data")
	seedNorth(t, "--db", dbURL)
	writeVisitKey(t, server.DefaultSecretsDir(data))
	ctx := context.Background()
	_, c := openConn(t, "pgx", plainPG(t, dbURL))
	// The store's writer lock (serverdb's lockWriter, "DSSW", and the
	// schema's key), held by this session as a write transaction holds it.
	const lockWriter = 0x44535357
	if _, err := c.ExecContext(ctx, `SELECT pg_advisory_lock($1, hashtext(current_schema()))`, lockWriter); err != nil {
		t.Fatal(err)
	}
	runReadOnlyAdmin(t, "--db", dbURL+"&lock_timeout=5000", "--data", data)
	if _, err := c.ExecContext(ctx, `SELECT pg_advisory_unlock($1, hashtext(current_schema()))`, lockWriter); err != nil {
		t.Fatal(err)
	}

	known := len(schema.ServerPostgresMigrations())
	if _, err := c.ExecContext(ctx, `DELETE FROM schema_migrations WHERE version = (SELECT max(version) FROM schema_migrations)`); err != nil {
		t.Fatal(err)
	}
	if _, err := doorstep(t, "admin", "list-teams", "--db", dbURL); err == nil || !strings.Contains(err.Error(), "older than this build's") {
		t.Errorf("list-teams on a schema one migration behind: %v; want a refusal saying it is older", err)
	}
	var n int
	if err := c.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations`).Scan(&n); err != nil || n != known-1 {
		t.Errorf("migrations recorded after list-teams: %d, %v; want %d (none run)", n, err, known-1)
	}

	empty := serverdbtest.PostgresURL(t)
	if _, err := doorstep(t, "admin", "list-users", "--db", empty); err == nil || !strings.Contains(err.Error(), "holds no Doorstep server database") {
		t.Errorf("list-users on an empty schema: %v", err)
	}
	e, err := sql.Open("pgx", plainPG(t, empty))
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if err := e.QueryRow(`SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema()`).Scan(&n); err != nil || n != 0 {
		t.Errorf("tables in the empty schema after list-users: %d, %v; want none", n, err)
	}
}

// plainPG is a store URL without pool_max_conns, which is the store's
// (not PostgreSQL's), for a connection of the test's own.
func plainPG(t *testing.T, store string) string {
	t.Helper()
	u, err := url.Parse(store)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Del("pool_max_conns")
	u.RawQuery = q.Encode()
	return u.String()
}

// seedNorth makes the team North and its supervisor sue.k in the store the
// flags name.
func seedNorth(t *testing.T, flags ...string) {
	t.Helper()
	for _, args := range [][]string{{"add-team", "--name", "North"}, {"add-user", "--username", "sue.k", "--name", "Sue K", "--role", "supervisor", "--team", "North"}} {
		if out, err := doorstep(t, append(append([]string{"admin"}, args...), flags...)...); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out)
		}
	}
}

// openConn opens a pool of the test's own on dsn and one connection of
// it, both closed when t ends.
func openConn(t *testing.T, driver, dsn string) (*sql.DB, *sql.Conn) {
	t.Helper()
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	c, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return db, c
}
