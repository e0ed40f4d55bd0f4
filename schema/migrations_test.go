package schema

import "testing"

// TestServerMigrationsTwinned holds the two server stores' migrations one
// for one: the same numbers and names, so a SQLite and a PostgreSQL store
// at the same build report the same schema version, and a migration added
// to one folder and not the other fails here.
func TestServerMigrationsTwinned(t *testing.T) {
	t.Parallel()
	lite, pg := ServerMigrations(), ServerPostgresMigrations()
	if len(lite) != len(pg) {
		t.Fatalf("sql/server has %d migrations, sql/server-pg %d; want the same: write each migration for both engines", len(lite), len(pg))
	}
	for i := range lite {
		if lite[i].Version != pg[i].Version || lite[i].Name != pg[i].Name {
			t.Errorf("migration %d: sql/server has %s, sql/server-pg %s; want the same number and name", i+1, lite[i].Name, pg[i].Name)
		}
		if pg[i].SQL == "" {
			t.Errorf("sql/server-pg/%s is empty", pg[i].Name)
		}
	}
}
