package serverdb

import (
	"context"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"doorstep/server/serverdb/serverdbtest"
)

// TestMigrationsMakeTheSameTables opens a new store on each engine and
// wants the same tables with the same columns, and the same nullability:
// schema.TestServerMigrationsTwinned holds the two migration lists to the
// same numbers and names; this holds what they make to the same shape, so
// a column added to one engine's migration and forgotten in the other's
// fails here rather than in a query on the forgotten engine.
func TestMigrationsMakeTheSameTables(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	lite, err := Open(ctx, filepath.Join(t.TempDir(), "server.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lite.Close() })
	pgURL := serverdbtest.PostgresURL(t)
	pg, err := Open(ctx, pgURL, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pg.Close() })

	want := columnsOf(t, lite, `SELECT m.name, p.name, p."notnull" OR p.pk > 0 FROM sqlite_master m, pragma_table_info(m.name) p
		WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%'`)
	got := columnsOf(t, pg, `SELECT table_name, column_name, is_nullable = 'NO' FROM information_schema.columns
		WHERE table_schema = current_schema()`)
	if len(want) < 10 {
		t.Fatalf("SQLite store has %d tables: %v; want the migrated schema", len(want), slices.Sorted(maps.Keys(want)))
	}
	// Bookkeeping of each engine's own, not part of the schema both share.
	for _, own := range []string{"schema_migrations", "doorstep_store"} {
		delete(want, own)
		delete(got, own)
	}
	for _, table := range slices.Sorted(maps.Keys(want)) {
		if got[table] == nil {
			t.Errorf("table %s: on SQLite, not on PostgreSQL", table)
			continue
		}
		if w, g := want[table], got[table]; !maps.Equal(w, g) {
			t.Errorf("table %s: columns (name: not null) on SQLite %v, on PostgreSQL %v", table, w, g)
		}
	}
	for _, table := range slices.Sorted(maps.Keys(got)) {
		if want[table] == nil {
			t.Errorf("table %s: on PostgreSQL, not on SQLite", table)
		}
	}
}

// columnsOf runs q (table, column, not null) on db's reader and returns
// each table's columns.
func columnsOf(t *testing.T, db *DB, q string) map[string]map[string]bool {
	t.Helper()
	rows, err := db.r.Query(q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]map[string]bool{}
	for rows.Next() {
		var table, col string
		var notNull bool
		if err := rows.Scan(&table, &col, &notNull); err != nil {
			t.Fatal(err)
		}
		table = strings.ToLower(table)
		if out[table] == nil {
			out[table] = map[string]bool{}
		}
		out[table][strings.ToLower(col)] = notNull
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
