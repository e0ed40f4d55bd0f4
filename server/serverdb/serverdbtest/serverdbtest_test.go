package serverdbtest

import (
	"context"
	"net/url"
	"testing"

	"github.com/jackc/pgx/v5"
)

// PostgresURL gives a schema of its own, named in the URL's search_path,
// and drops it when the test ends.
func TestPostgresURL(t *testing.T) {
	base := RequirePostgres(t)
	var name string
	t.Run("schema", func(t *testing.T) {
		u, err := url.Parse(PostgresURL(t))
		if err != nil {
			t.Fatal(err)
		}
		name = u.Query().Get("search_path")
		if name == "" || !exists(t, base, name) {
			t.Fatalf("schema %q of %s: want one made for the test", name, u.Redacted())
		}
	})
	if exists(t, base, name) {
		t.Errorf("schema %s is still there after its test; want it dropped", name)
	}
}

func exists(t *testing.T, base, schema string) bool {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var n int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM information_schema.schemata WHERE schema_name = $1`, schema).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n == 1
}
