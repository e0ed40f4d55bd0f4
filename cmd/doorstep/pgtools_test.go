package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"doorstep/server/serverdb/serverdbtest"
)

// TestPgDumpCommandKeepsLibpqParams: admin backup --db's pg_dump command
// carries the URL's libpq parameters only (pgx's and pgxpool's, and the
// server settings pgx sends, would make pg_dump refuse the URL), the
// store's schema as --schema, the password redacted, quoted for the shell.
func TestPgDumpCommandKeepsLibpqParams(t *testing.T) {
	t.Parallel()
	got := pgDumpCommand("postgres://doorstep:s3cret@db.example:5432/doorstep?sslmode=verify-full&search_path=ds_north&pool_max_conns=8" +
		"&plan_cache_mode=auto&work_mem=32MB&jit=on&statement_cache_capacity=64&pool_min_conns=1&application_name=doorstep")
	want := "pg_dump --format=custom --file=doorstep-$(date +%F).dump --schema=ds_north " +
		"'postgres://doorstep:xxxxx@db.example:5432/doorstep?application_name=doorstep&sslmode=verify-full'"
	if got != want {
		t.Errorf("pg_dump command:\n got %s\nwant %s", got, want)
	}
	if got := pgDumpCommand("postgres://doorstep@db.example/doorstep"); got != "pg_dump --format=custom --file=doorstep-$(date +%F).dump postgres://doorstep@db.example/doorstep" {
		t.Errorf("a plain URL: %s", got)
	}
	if got := pgRestoreTarget("postgres://doorstep:s3cret@db.example/doorstep?search_path=ds_north&pool_max_conns=4"); got != "postgres://doorstep:xxxxx@db.example/doorstep" {
		t.Errorf("pg_restore's --dbname: %s", got)
	}
}

// TestPgDumpTakesTheHint: the command admin backup --db prints, for a
// store's URL with pgx's parameters (the tests' pool_max_conns, a
// plan_cache_mode), runs: pg_dump takes its URL and dumps the store's
// schema.
func TestPgDumpTakesTheHint(t *testing.T) {
	t.Parallel()
	dbURL := serverdbtest.PostgresURL(t) + "&plan_cache_mode=force_generic_plan&statement_cache_capacity=64"
	if _, err := exec.LookPath("pg_dump"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("pg_dump is not on PATH, and CI=true: install the PostgreSQL client tools")
		}
		t.Skip("pg_dump is not on PATH: install the PostgreSQL client tools to run this test")
	}
	dir := t.TempDir()
	if out, err := doorstep(t, "admin", "add-team", "--name", "North", "--db", dbURL); err != nil {
		t.Fatalf("add-team --db: %v\n%s", err, out)
	}
	_, err := doorstep(t, "admin", "backup", "--db", dbURL, "--data", dir)
	if err == nil {
		t.Fatal("admin backup --db: no error; want the pg_dump command")
	}
	var cmd string
	for _, line := range strings.Split(err.Error(), "\n") {
		if line = strings.TrimSpace(line); strings.HasPrefix(line, "pg_dump ") {
			cmd = line
		}
	}
	if cmd == "" {
		t.Fatalf("admin backup --db: %v; want a pg_dump command", err)
	}
	// The test database takes no password: the redacted one goes unused.
	run := strings.Replace(cmd, "--format=custom --file=doorstep-$(date +%F).dump", "--schema-only --file=dump.sql", 1)
	sh := exec.Command("sh", "-c", run)
	sh.Dir = dir
	if out, err := sh.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", run, err, out)
	}
	dump, err := os.ReadFile(filepath.Join(dir, "dump.sql"))
	if err != nil {
		t.Fatal(err)
	}
	schema := regexp.MustCompile(`--schema=(\S+)`).FindStringSubmatch(cmd)
	if schema == nil || !strings.Contains(dbURL, "search_path="+schema[1]) {
		t.Fatalf("%s: want --schema= the store's schema", cmd)
	}
	if !strings.Contains(string(dump), "CREATE TABLE "+schema[1]+".records (") {
		t.Errorf("the dump of %s lacks the store's records table:\n%.2000s", cmd, dump)
	}
}
