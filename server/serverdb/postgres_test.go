package serverdb

import (
	"context"
	"strings"
	"sync"
	"testing"

	"doorstep/schema"
)

// postgresOnly skips t outside the PostgreSQL run, saying why it holds
// only of PostgreSQL.
func postgresOnly(t testing.TB, why string) {
	t.Helper()
	if !onPostgres() {
		t.Skipf("PostgreSQL only (TestPostgresContract runs it): %s", why)
	}
}

// Several instances starting at once on an empty schema: every Open
// succeeds, each migration is applied once (the migration lock), and all
// agree on the one epoch made.
func TestConcurrentOpensMigrateOnce(t *testing.T) {
	t.Parallel()
	postgresOnly(t, "SQLite has one server process per file")
	ctx := context.Background()
	target := testTarget(t)
	const n = 8
	dbs := make([]*DB, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { dbs[i], errs[i] = Open(ctx, target, Options{}) })
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("Open %d of %d at once: %v", i+1, n, errs[i])
		}
		defer dbs[i].Close()
	}
	var rows, distinct int
	if err := dbs[0].r.QueryRow(`SELECT count(*), count(DISTINCT version) FROM schema_migrations`).Scan(&rows, &distinct); err != nil {
		t.Fatal(err)
	}
	if want := len(schema.ServerPostgresMigrations()); rows != want || distinct != want {
		t.Errorf("schema_migrations: %d rows, %d versions; want each of the %d once", rows, distinct, want)
	}
	for i, db := range dbs {
		if db.Epoch() != dbs[0].Epoch() {
			t.Errorf("instance %d has epoch %q, instance 1 %q; want one", i+1, db.Epoch(), dbs[0].Epoch())
		}
	}
	applied, known, err := dbs[n-1].Migrations(ctx)
	if err != nil || applied != known {
		t.Errorf("Migrations = %d of %d, %v", applied, known, err)
	}
}

// A schema holding someone else's tables is refused before anything is
// written to it, as a SQLite file stamped by another application is.
func TestRefusesForeignSchema(t *testing.T) {
	t.Parallel()
	postgresOnly(t, "the doorstep_store marker; TestRefusesForeignDatabase is SQLite's")
	ctx := context.Background()

	target := testTarget(t)
	raw := rawDB(t, target)
	mustExec(t, raw, `CREATE TABLE invoices (id BIGINT PRIMARY KEY)`)
	if _, err := Open(ctx, target, Options{}); err == nil || !strings.Contains(err.Error(), "is not a Doorstep server database") {
		t.Fatalf("Open(schema with other tables) = %v; want refused as not a Doorstep server database", err)
	}
	var n int
	if err := raw.QueryRow(`SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name <> 'schema_migrations'`).Scan(&n); err != nil || n != 1 {
		t.Errorf("tables after the refusal: %d, %v; want only invoices", n, err)
	}

	// A store stamped by another application.
	target = testTarget(t)
	db, err := Open(ctx, target, Options{})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	mustExec(t, rawDB(t, target), `UPDATE doorstep_store SET application = ?`, schema.DeviceApplicationID)
	if _, err := Open(ctx, target, Options{}); err == nil || !strings.Contains(err.Error(), "is not a Doorstep server database") {
		t.Fatalf("Open(schema stamped by the device) = %v; want refused", err)
	}

	// A search_path naming no schema: said so, nothing created.
	missing := strings.Replace(testTarget(t), "search_path=doorstep_test_", "search_path=doorstep_missing_", 1)
	if _, err := Open(ctx, missing, Options{}); err == nil || !strings.Contains(err.Error(), "no schema of the search_path exists") {
		t.Errorf("Open(search_path of no schema) = %v; want it said", err)
	}

	// The URL's password never appears in a message.
	_, err = Open(ctx, "postgres://doorstep:s3cret-pw@127.0.0.1:1/nowhere?connect_timeout=1", Options{})
	if err == nil || strings.Contains(err.Error(), "s3cret-pw") {
		t.Errorf("Open(unreachable) = %v; want an error without the password", err)
	}
}

// Backup and Restore are SQLite's; a PostgreSQL store says to use
// pg_dump and pg_restore.
func TestPostgresBackupSaysPgDump(t *testing.T) {
	t.Parallel()
	postgresOnly(t, "SQLite backs up with VACUUM INTO (TestBackupAndRestoreRefusals)")
	f := newFixture(t)
	err := f.db.Backup(context.Background(), t.TempDir()+"/backup.db")
	if err == nil || !strings.Contains(err.Error(), "pg_dump") {
		t.Fatalf("Backup = %v; want an error naming pg_dump", err)
	}
	err = Restore(context.Background(), t.TempDir()+"/backup.db", f.db.Path())
	if err == nil || !strings.Contains(err.Error(), "pg_restore") {
		t.Fatalf("Restore into PostgreSQL = %v; want an error naming pg_restore", err)
	}
}

// The push apply writes its new records, mutation log and audit events
// with COPY, not the multi-row INSERT builder.
func TestPushWritesWithCopy(t *testing.T) {
	t.Parallel()
	postgresOnly(t, "COPY is PostgreSQL's bulk path")
	f := newFixture(t)
	e := f.db.eng.(*pgEngine)
	before := e.copied.Load()
	muts := make([]schema.Mutation, 300)
	for i := range muts {
		muts[i] = mutation("household_member", schema.NewID(), f.ashaCase, stamp(f.clock.Now().UnixMilli(), f.ashaDev),
			raw("relation", "lodger", "residence", "lives_here", "name", "Lee"))
	}
	for _, r := range f.push(t, f.actor(f.asha, f.ashaDev), muts...) {
		if r.Status != schema.StatusApplied {
			t.Fatalf("push: %+v", r)
		}
	}
	// A record, a mutation row and at least one audit event each.
	if got := e.copied.Load() - before; got < 3*int64(len(muts)) {
		t.Errorf("rows copied for a push of %d creates: %d; want at least %d", len(muts), got, 3*len(muts))
	}
	var n int
	if err := f.db.r.QueryRow(`SELECT count(*) FROM records WHERE entity = 'household_member'`).Scan(&n); err != nil || n != len(muts) {
		t.Errorf("household members stored: %d, %v; want %d", n, err, len(muts))
	}
}

// Checkpoint after a bulk load vacuums and analyzes the store's tables on
// PostgreSQL: the planner then knows how many records there are
// (reltuples, -1 until a table is first analyzed) and their pages are
// marked all-visible, so the index-only scans over records_case skip the
// heap. Without it the report queries after a Seed planned from defaults
// and read every record's page (docs/performance.md).
func TestCheckpointAnalyzesAfterBulkLoad(t *testing.T) {
	t.Parallel()
	postgresOnly(t, "SQLite's checkpoint empties its WAL (TestCheckpoint…)")
	f := newFixture(t)
	ctx := context.Background()
	recs := make([]schema.Record, 200)
	for i := range recs {
		recs[i] = schema.Record{Entity: "household_member", ID: schema.NewID(), CaseID: f.ashaCase,
			Fields: raw("relation", "lodger", "residence", "lives_here", "name", "Lee")}
	}
	if err := f.db.Seed(ctx, f.admin, recs); err != nil {
		t.Fatal(err)
	}
	if err := f.db.Checkpoint(); err != nil {
		t.Fatalf("Checkpoint: %v", err)
	}
	// Pages are marked all-visible only once no transaction of the
	// database is older than the load, which the tests running beside
	// this one do not promise; the statistics are certain.
	var tuples float64
	err := f.db.r.QueryRowContext(ctx, `SELECT reltuples FROM pg_class
		WHERE oid = to_regclass(current_schema() || '.records')`).Scan(&tuples)
	if err != nil {
		t.Fatal(err)
	}
	if tuples < float64(len(recs)) {
		t.Errorf("records after Checkpoint: reltuples %v; want at least %d (analyzed)", tuples, len(recs))
	}
}

// The readers run without JIT compilation (decision 0057): PostgreSQL
// spent longer compiling the report queries than running them. They sort
// and hash in up to readerWorkMem a node (decision 0064): at PostgreSQL's
// default 4 MB the report set's counts of a quarter's contacts spilled to
// disk. They plan every run for its parameters (decision 0078): a
// generic plan of a report statement, blind to its period, made the
// exemptions report ten times slower by a connection's fifth report set.
// The writers keep the server's settings, and a URL that sets one is
// obeyed.
func TestReadersRunWithoutJIT(t *testing.T) {
	t.Parallel()
	postgresOnly(t, "SQLite compiles no query and has no work_mem")
	ctx := context.Background()
	target := testTarget(t)
	show := func(q querier, name string) string {
		t.Helper()
		rs, err := q.QueryContext(ctx, `SHOW `+name)
		if err != nil {
			t.Fatal(err)
		}
		defer rs.Close()
		var v string
		if !rs.Next() {
			t.Fatalf("SHOW %s: no row", name)
		}
		if err := rs.Scan(&v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	db, err := Open(ctx, target, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	sep := "?"
	if strings.Contains(target, "?") {
		sep = "&"
	}
	for _, c := range []struct{ name, reader, url string }{{"jit", "off", "on"}, {"work_mem", readerWorkMem, "8MB"},
		{"plan_cache_mode", readerPlanCache, "auto"}} {
		if got := show(db.r, c.name); got != c.reader {
			t.Errorf("a reader's %s = %q; want %q", c.name, got, c.reader)
		}
		if got := show(db.w, c.name); got == c.reader {
			t.Errorf("a writer's %s = %q; want the server's", c.name, got)
		}
		set, err := Open(ctx, target+sep+c.name+"="+c.url, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if got := show(set.r, c.name); got != c.url {
			t.Errorf("with %s=%s in the URL, a reader's %s = %q; want %q", c.name, c.url, c.name, got, c.url)
		}
		set.Close()
	}
}
