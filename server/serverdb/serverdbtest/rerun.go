package serverdbtest

import (
	"bytes"
	"flag"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"
)

// EnvRun restricts a PostgreSQL run to the tests matching it (a -run
// pattern), for working on one test: DOORSTEP_TEST_PG_RUN=TestPull.
const EnvRun = "DOORSTEP_TEST_PG_RUN"

// RerunOnPostgres runs the calling package's test binary again with
// DOORSTEP_TEST_ENGINE=postgres, so that every test whose store comes from
// Target (or a helper that asks Postgres) runs on a fresh PostgreSQL
// schema, parallel tests at most parallel at once; suite names the suite in
// the failure ("the server's test suite"). It skips in the PostgreSQL run
// itself, with -short (CI's race pass), and without DOORSTEP_TEST_POSTGRES
// (fails under CI=true). It waits first for a place among the PostgreSQL
// runs of this machine (EnvSuites).
func RerunOnPostgres(t *testing.T, suite string, parallel int) {
	t.Helper()
	if Postgres() {
		t.Skip("this is the PostgreSQL run")
	}
	if testing.Short() {
		// CI's race-detector pass is -short: the PostgreSQL run of the
		// suite would double it, past the package timeout; CI's plain pass
		// (go test ./..., not -short) runs it.
		t.Skip("-short: the suite's PostgreSQL run is in the plain go test ./... (CI's first pass)")
	}
	RequirePostgres(t)
	// At most EnvSuites such runs at once on the machine, over every test
	// process: each opens up to parallel stores' connections at once.
	suiteSlot(t)
	// A PostgreSQL run waits on the database more than it computes: more
	// tests at once than cores.
	args := []string{"-test.count=1", "-test.timeout=20m", "-test.parallel=" + strconv.Itoa(parallel)}
	if p := os.Getenv(EnvRun); p != "" {
		args = append(args, "-test.run="+p)
	}
	if f := flag.Lookup("test.v"); f != nil && f.Value.String() == "true" {
		args = append(args, "-test.v")
	}
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), EnvEngine+"=postgres")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s FAILED on PostgreSQL (%v, after %s); its output:\n%s", suite, err, time.Since(start).Round(time.Millisecond), out.String())
	}
	t.Logf("%s passed on PostgreSQL in %s", suite, time.Since(start).Round(time.Millisecond))
	if testing.Verbose() {
		t.Logf("its output:\n%s", out.String())
	}
}

// ConfigDB is what a test gives a server for its store (server.Config.DB):
// "", a SQLite file in its data folder, or, when Postgres(), the URL of a
// fresh schema (PostgresURL).
func ConfigDB(t testing.TB) string {
	t.Helper()
	if Postgres() {
		return PostgresURL(t)
	}
	return ""
}

// SQLiteOnly skips t in a PostgreSQL run, saying why what it tests holds
// only of SQLite (the file, its permissions, its backups).
func SQLiteOnly(t testing.TB, why string) {
	t.Helper()
	if Postgres() {
		t.Skipf("SQLite only: %s", why)
	}
}

// NotTheEngines skips t in a PostgreSQL run: a test whose store is not
// Target's (a SQLite file it opens itself, or a database it makes apart)
// does the very same work in both runs, so the suite's SQLite run, which
// every run has, is where it runs. why says what it opens. CI's plain pass
// runs it once (decision 0083).
func NotTheEngines(t testing.TB, why string) {
	t.Helper()
	if Postgres() {
		t.Skipf("the same in both runs (%s): it runs in the suite's SQLite run", why)
	}
}
