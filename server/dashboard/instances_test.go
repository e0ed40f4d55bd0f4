package dashboard

import (
	"context"
	"net/url"
	"testing"

	"doorstep/server"
	"doorstep/server/serverdb/serverdbtest"
)

// TestSignOutHoldsOnEveryInstance: two servers on one store (a data
// folder, or a PostgreSQL schema when DOORSTEP_TEST_POSTGRES is set), as
// two instances behind a load balancer. A session signed in on one works
// on the other; signed out on one, it is refused by the other.
func TestSignOutHoldsOnEveryInstance(t *testing.T) {
	t.Parallel()
	if serverdbtest.Postgres() {
		t.Skip("it runs on both engines in the SQLite run already")
	}
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		testSignOutHoldsOnEveryInstance(t, "")
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		testSignOutHoldsOnEveryInstance(t, serverdbtest.PostgresURL(t))
	})
}

func testSignOutHoldsOnEveryInstance(t *testing.T, db string) {
	one := newEnvOn(t, db)
	srv, err := server.Open(context.Background(), server.Config{Addr: "127.0.0.1:0", DataDir: one.dataDir, DB: db, Now: one.clock.Now, Mount: Mount})
	if err != nil {
		t.Fatalf("open a second server on the data folder: %v", err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	two := *one
	two.srv, two.url = srv, srv.URL()

	b := one.signedIn(t, "sue")
	// The same browser (its cookie) on the second instance.
	u1, _ := url.Parse(one.url + "/dashboard/")
	on2 := two.browser(t)
	u2, _ := url.Parse(two.url + "/dashboard/")
	on2.c.Jar.SetCookies(u2, b.c.Jar.Cookies(u1))
	mustStatus(t, "the first instance", b.get("/dashboard/"), 200)
	p := on2.get("/dashboard/")
	mustStatus(t, "the second instance with the first's session", p, 200)

	// Sign out on the second instance.
	p = on2.post("/dashboard/signout", url.Values{"_csrf": {on2.csrf}})
	if p.status != 303 {
		t.Fatalf("sign out on the second instance: %d %s", p.status, p.body)
	}
	if p = b.get("/dashboard/"); p.status != 303 {
		t.Errorf("the first instance still admits a session signed out on the second: %d", p.status)
	}
	if p = on2.get("/dashboard/"); p.status != 303 {
		t.Errorf("the second instance admits the session it signed out: %d", p.status)
	}
}
