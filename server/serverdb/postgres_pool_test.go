package serverdb

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"doorstep/server/serverdb/serverdbtest"
)

// pool_max_conns in a PostgreSQL URL caps each of the store's pools and
// is not sent to PostgreSQL as a setting (which would refuse it); a value
// that is not a number of connections is refused naming it. The tests'
// URLs carry pool_max_conns=2, so that suites run at once stay under
// max_connections.
func TestPostgresPoolMaxConns(t *testing.T) {
	t.Parallel()
	if serverdbtest.Postgres() {
		t.Skip("it runs in the SQLite run already")
	}
	target := serverdbtest.PostgresURL(t)
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	if got := u.Query().Get("pool_max_conns"); got != "2" {
		t.Fatalf("the tests' PostgreSQL URL has pool_max_conns=%q, want 2", got)
	}
	ctx := context.Background()
	for _, n := range []string{"2", "3"} {
		q := u.Query()
		q.Set("pool_max_conns", n)
		u.RawQuery = q.Encode()
		db, err := Open(ctx, u.String(), Options{})
		if err != nil {
			t.Fatalf("open with pool_max_conns=%s: %v", n, err)
		}
		for _, p := range db.PoolStats() {
			if want := map[string]int{"2": 2, "3": 3}[n]; p.MaxOpenConnections != want {
				t.Errorf("pool_max_conns=%s: pool %s opens at most %d, want %d", n, p.Name, p.MaxOpenConnections, want)
			}
		}
		if _, err := db.ListTeams(ctx); err != nil {
			t.Errorf("pool_max_conns=%s: a read: %v", n, err)
		}
		db.Close()
	}
	for _, bad := range []string{"1", "many"} {
		q := u.Query()
		q.Set("pool_max_conns", bad)
		u.RawQuery = q.Encode()
		if db, err := Open(ctx, u.String(), Options{}); err == nil || !strings.Contains(err.Error(), "pool_max_conns") {
			if db != nil {
				db.Close()
			}
			t.Errorf("pool_max_conns=%s: %v, want a refusal naming it", bad, err)
		}
	}
}
