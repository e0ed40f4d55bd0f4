package sqlitedb

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"doorstep/schema"

	_ "modernc.org/sqlite" // the stores' driver, for real files in the tests
)

const driver = "sqlite"

func tempPath(t *testing.T) string {
	t.Helper()
	return filepath.Join(t.TempDir(), "test.db")
}

func openWriter(t *testing.T, path string) *sql.DB {
	t.Helper()
	w, err := OpenWriter(driver, path, "cache_size(-2000)")
	if err != nil {
		t.Fatalf("OpenWriter: %v", err)
	}
	t.Cleanup(func() { w.Close() })
	return w
}

func pragmaInt(t *testing.T, db *sql.DB, name string) int64 {
	t.Helper()
	var v int64
	if err := db.QueryRow("PRAGMA " + name).Scan(&v); err != nil {
		t.Fatalf("PRAGMA %s: %v", name, err)
	}
	return v
}

func TestDSNPutsBusyTimeoutFirst(t *testing.T) {
	got := DSN("/data/x.db", "cache_size(-1)", "mmap_size(2)")
	want := "file:/data/x.db?_pragma=busy_timeout%2810000%29&_pragma=journal_mode%28WAL%29&_pragma=foreign_keys%281%29" +
		"&_pragma=synchronous%28FULL%29&_pragma=cache_size%28-1%29&_pragma=mmap_size%282%29"
	if got != want {
		t.Errorf("DSN =\n%s\nwant\n%s", got, want)
	}
	if w := dsn("/data/x.db", true, nil); !strings.HasSuffix(w, "&_txlock=immediate") {
		t.Errorf("writer DSN %s does not begin transactions IMMEDIATE", w)
	}
}

func TestWriterAndReadersHaveTheirPragmas(t *testing.T) {
	path := tempPath(t)
	w := openWriter(t, path)
	r, err := OpenReaders(driver, path, 3, "cache_size(-3000)")
	if err != nil {
		t.Fatalf("OpenReaders: %v", err)
	}
	defer r.Close()
	var mode string
	if err := w.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode = %q (%v), want wal", mode, err)
	}
	for _, c := range []struct {
		db     *sql.DB
		pragma string
		want   int64
	}{
		{w, "busy_timeout", 10000},
		{w, "foreign_keys", 1},
		{w, "synchronous", 2}, // FULL: a commit survives a power cut
		{w, "cache_size", -2000},
		{w, "query_only", 0},
		{r, "busy_timeout", 10000},
		{r, "foreign_keys", 1},
		{r, "cache_size", -3000},
		{r, "query_only", 1},
	} {
		if got := pragmaInt(t, c.db, c.pragma); got != c.want {
			t.Errorf("PRAGMA %s = %d, want %d", c.pragma, got, c.want)
		}
	}
	if n := w.Stats().MaxOpenConnections; n != 1 {
		t.Errorf("writer allows %d connections, want 1", n)
	}
	if n := r.Stats().MaxOpenConnections; n != 3 {
		t.Errorf("read pool allows %d connections, want 3", n)
	}
	if _, err := w.Exec("CREATE TABLE t (a INTEGER) STRICT"); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Exec("INSERT INTO t (a) VALUES (1)"); err == nil {
		t.Error("the read pool wrote a row; want it refused (query_only)")
	}
}

func TestApplicationIDStampAndForeignTables(t *testing.T) {
	ctx := context.Background()
	w := openWriter(t, tempPath(t))
	if id, err := ApplicationID(ctx, w); err != nil || id != 0 {
		t.Fatalf("new file: application_id %#x, %v; want 0", id, err)
	}
	if other, err := HoldsOtherTables(ctx, w); err != nil || other {
		t.Fatalf("empty file: HoldsOtherTables = %v, %v; want false", other, err)
	}
	if _, err := w.Exec("CREATE TABLE theirs (a INTEGER)"); err != nil {
		t.Fatal(err)
	}
	if other, err := HoldsOtherTables(ctx, w); err != nil || !other {
		t.Fatalf("file with a table of someone else's: HoldsOtherTables = %v, %v; want true", other, err)
	}
	if err := Migrate(ctx, w, nil, func() string { return "" }, nil); err != nil {
		t.Fatal(err)
	}
	if other, err := HoldsOtherTables(ctx, w); err != nil || other {
		t.Fatalf("file with schema_migrations: HoldsOtherTables = %v, %v; want false", other, err)
	}
	if err := SetApplicationID(ctx, w, schema.DeviceApplicationID); err != nil {
		t.Fatal(err)
	}
	if id, err := ApplicationID(ctx, w); err != nil || id != schema.DeviceApplicationID {
		t.Fatalf("stamped file: application_id %#x, %v; want %#x", id, err, schema.DeviceApplicationID)
	}
}

// TestSetApplicationIDTakesNoLockWhenStamped: a file stamped already is
// opened beside a writer holding its transaction without waiting for the
// write lock (admin backup beside a busy server); a file stamped with
// another id is still stamped again.
func TestSetApplicationIDTakesNoLockWhenStamped(t *testing.T) {
	ctx := context.Background()
	path := tempPath(t)
	busy := openWriter(t, path)
	if err := SetApplicationID(ctx, busy, schema.ServerApplicationID); err != nil {
		t.Fatal(err)
	}
	tx, err := busy.BeginTx(ctx, nil) // IMMEDIATE: holds the write lock
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec("CREATE TABLE held (a INTEGER)"); err != nil {
		t.Fatal(err)
	}
	other := openWriter(t, path)
	start := time.Now()
	if err := SetApplicationID(ctx, other, schema.ServerApplicationID); err != nil {
		t.Fatalf("stamping a file stamped already, beside a writer: %v; want nothing to do", err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("stamping a file stamped already took %v; want no wait for the writer", took)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	if err := SetApplicationID(ctx, other, schema.DeviceApplicationID); err != nil {
		t.Fatal(err)
	}
	if id, err := ApplicationID(ctx, busy); err != nil || id != schema.DeviceApplicationID {
		t.Fatalf("restamped file: application_id %#x, %v; want %#x", id, err, schema.DeviceApplicationID)
	}
}

func TestMigrateAppliesEachOnceInOrder(t *testing.T) {
	ctx := context.Background()
	w := openWriter(t, tempPath(t))
	migs := []schema.Migration{
		{Version: 1, Name: "0001_a.sql", SQL: "CREATE TABLE a (id INTEGER PRIMARY KEY) STRICT;"},
		{Version: 2, Name: "0002_b.sql", SQL: "CREATE TABLE b (a_id INTEGER NOT NULL REFERENCES a (id)) STRICT;"},
	}
	at := func() string { return "2026-12-04T10:00:00.000Z" }
	if err := Migrate(ctx, w, migs[:1], at, nil); err != nil {
		t.Fatalf("first migration: %v", err)
	}
	if err := Migrate(ctx, w, migs, at, nil); err != nil {
		t.Fatalf("second run: %v", err)
	}
	if err := Migrate(ctx, w, migs, at, nil); err != nil {
		t.Fatalf("third run, nothing to apply: %v", err)
	}
	rows, err := w.Query("SELECT version, name, applied_at FROM schema_migrations ORDER BY version")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for rows.Next() {
		var v int
		var name, when string
		rows.Scan(&v, &name, &when)
		got = append(got, name+" "+when)
	}
	rows.Close()
	want := []string{"0001_a.sql 2026-12-04T10:00:00.000Z", "0002_b.sql 2026-12-04T10:00:00.000Z"}
	if !slices.Equal(got, want) {
		t.Errorf("schema_migrations = %q, want %q", got, want)
	}

	// A file migrated further than this build knows is refused.
	var tooNew *TooNewError
	if err := Migrate(ctx, w, migs[:1], at, nil); !errors.As(err, &tooNew) || tooNew.Version != 2 || tooNew.Known != 1 {
		t.Errorf("Migrate with fewer migrations than recorded = %v, want a TooNewError (2 > 1)", err)
	}

	// A failing migration leaves nothing behind: its transaction rolls back.
	bad := append(migs, schema.Migration{Version: 3, Name: "0003_bad.sql", SQL: "CREATE TABLE c (x INTEGER) STRICT; SELECT * FROM nowhere;"})
	if err := Migrate(ctx, w, bad, at, nil); err == nil || !strings.Contains(err.Error(), "0003_bad.sql") {
		t.Fatalf("Migrate(bad) = %v, want an error naming 0003_bad.sql", err)
	}
	var n int
	w.QueryRow("SELECT count(*) FROM sqlite_schema WHERE name = 'c'").Scan(&n)
	if n != 0 {
		t.Error("the failed migration's table exists; want its transaction rolled back")
	}
	w.QueryRow("SELECT count(*) FROM schema_migrations").Scan(&n)
	if n != 2 {
		t.Errorf("schema_migrations has %d rows after a failed migration, want 2", n)
	}
}

func TestCheckForeignKeys(t *testing.T) {
	ctx := context.Background()
	path := tempPath(t)
	w := openWriter(t, path)
	if _, err := w.Exec("CREATE TABLE a (id INTEGER PRIMARY KEY); CREATE TABLE b (a_id INTEGER REFERENCES a (id))"); err != nil {
		t.Fatal(err)
	}
	if err := CheckForeignKeys(ctx, w); err != nil {
		t.Fatalf("CheckForeignKeys on a sound file = %v", err)
	}
	// Another program, without foreign keys on, leaves a dangling row.
	raw, err := sql.Open(driver, "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec("INSERT INTO b (a_id) VALUES (7)"); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	var fk *ForeignKeyError
	if err := CheckForeignKeys(ctx, w); !errors.As(err, &fk) || fk.Table != "b" || fk.Parent != "a" || fk.RowID != 1 {
		t.Errorf("CheckForeignKeys = %v, want table b row 1 refers to a missing a row", err)
	}
}

func TestTimeText(t *testing.T) {
	at := time.Date(2026, 12, 4, 10, 0, 5, 120_000_000, time.FixedZone("+2", 2*3600))
	tests := []struct {
		layout string
		want   string
	}{
		{SortableTime, "2026-12-04T08:00:05.120Z"},
		{time.RFC3339Nano, "2026-12-04T08:00:05.12Z"},
	}
	for _, tt := range tests {
		got := FormatTime(at, tt.layout)
		if got != tt.want {
			t.Errorf("FormatTime(%v, %q) = %q, want %q", at, tt.layout, got, tt.want)
		}
		if back := ParseTime(got); !back.Equal(at) {
			t.Errorf("ParseTime(%q) = %v, want %v", got, back, at)
		}
		if got := FormatTime(time.Time{}, tt.layout); got != "" {
			t.Errorf("FormatTime(zero, %q) = %q, want \"\"", tt.layout, got)
		}
	}
	for _, s := range []string{"", "yesterday", "2026-12-04"} {
		if got := ParseTime(s); !got.IsZero() {
			t.Errorf("ParseTime(%q) = %v, want the zero time", s, got)
		}
	}
	// ParseTime keeps the offset a time was written with.
	if got := ParseTime("2026-12-04T10:00:05+02:00"); got.Format(time.RFC3339) != "2026-12-04T10:00:05+02:00" {
		t.Errorf("ParseTime kept %v, want the +02:00 offset", got)
	}
}

// TestSortableTimeSortsAsText holds why the server's layout is fixed
// width: times one whole second apart and a fraction apart order as text
// as they do as instants (RFC3339Nano's "05Z" sorts after "05.5Z").
func TestSortableTimeSortsAsText(t *testing.T) {
	base := time.Date(2026, 12, 4, 10, 0, 5, 0, time.UTC)
	instants := []time.Time{base, base.Add(500 * time.Millisecond), base.Add(time.Second), base.Add(10 * time.Second)}
	var texts []string
	for _, at := range instants {
		texts = append(texts, FormatTime(at, SortableTime))
	}
	if !slices.IsSorted(texts) {
		t.Errorf("SortableTime texts of ordered instants do not sort: %q", texts)
	}
}
