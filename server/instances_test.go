package server

import (
	"context"
	"strconv"
	"testing"
	"time"

	"doorstep/internal/testkit"
	"doorstep/schema"
	"doorstep/server/serverdb/serverdbtest"
)

// pullAll pulls every page for tok from e and returns the records and the
// last cursor.
func (e *env) pullAll(tok, cursor string) ([]schema.Record, string) {
	e.t.Helper()
	var out []schema.Record
	for {
		r := e.do("POST", "/v1/sync/pull", schema.PullRequest{Cursor: cursor}, bearer(tok))
		if r.status != 200 {
			e.t.Fatalf("pull: %d %s", r.status, r.body)
		}
		var page schema.PullResponse
		r.decode(e.t, &page)
		out, cursor = append(out, page.Records...), page.Cursor
		if !page.HasMore {
			return out, cursor
		}
	}
}

// TestNoOpSyncMakesNoWriteTransaction: a tablet's sync with nothing to
// send and nothing new (a push of nothing, then a pull) makes no write
// transaction however often it comes; what the device reported is written
// in one batch, and the admin's device list shows it at once.
func TestNoOpSyncMakesNoWriteTransaction(t *testing.T) {
	t.Parallel()
	// The store's flusher writes the kept reports every 5 s of the
	// machine's time: under load the 25 syncs below can span one, a write
	// transaction that is not theirs. Here it waits an hour, so that the
	// only flush is the device list's, below.
	e := newEnvWith(t, func(c *Config) { c.deviceFlush = time.Hour })
	asha := e.login("asha", "dev-asha").AccessToken
	root := e.login("root", "dev-root").AccessToken
	_, cursor := e.pullAll(asha, "")
	db := e.srv.DB()
	writes := db.WriteTransactions()
	const n = 25
	for i := range n {
		e.clock.Advance(time.Second)
		h := with(bearer(asha), schema.HeaderAppVersion, "3.4.5", schema.HeaderOutboxPending, strconv.Itoa(i%2))
		r := e.do("POST", "/v1/sync/push", schema.PushRequest{Mutations: []schema.Mutation{}, Cursor: cursor}, h)
		if r.status != 200 {
			t.Fatalf("push of nothing: %d %s", r.status, r.body)
		}
		r = e.do("POST", "/v1/sync/pull", schema.PullRequest{Cursor: cursor}, h)
		var page schema.PullResponse
		r.decode(t, &page)
		if r.status != 200 || len(page.Records) != 0 || page.HasMore {
			t.Fatalf("no-op pull %d: %d, %d records", i, r.status, len(page.Records))
		}
		cursor = page.Cursor
	}
	if got := db.WriteTransactions() - writes; got != 0 {
		t.Fatalf("%d no-op syncs made %d write transactions, want 0", n, got)
	}
	r := e.do("GET", "/v1/admin/devices", nil, bearer(root))
	var list struct {
		Devices []schema.Device `json:"devices"`
	}
	r.decode(t, &list)
	now := schema.Timestamp(e.clock.Now().UTC().Format(time.RFC3339Nano))
	found := false
	for _, d := range list.Devices {
		if d.ID == "dev-asha" {
			found = true
			if d.AppVersion != "3.4.5" || !sameTime(d.LastSyncAt, now) || !sameTime(d.LastSeenAt, now) {
				t.Errorf("the device list: %+v; want app 3.4.5, seen and synced %s", d, now)
			}
		}
	}
	if r.status != 200 || !found {
		t.Fatalf("the device list: %d %s", r.status, r.body)
	}
	if got := db.WriteTransactions() - writes; got != 1 {
		t.Errorf("the device reports were written in %d transactions, want 1", got)
	}
}

// sameTime compares two timestamps as times.
func sameTime(a, b schema.Timestamp) bool {
	ta, err1 := time.Parse(time.RFC3339Nano, string(a))
	tb, err2 := time.Parse(time.RFC3339Nano, string(b))
	return err1 == nil && err2 == nil && ta.Equal(tb)
}

// engines runs f on SQLite, and on PostgreSQL in a fresh schema (skipped
// without DOORSTEP_TEST_POSTGRES, failed under CI=true), each in parallel;
// tweak sets the server's store.
func engines(t *testing.T, f func(t *testing.T, tweak func(*Config))) {
	if serverdbtest.Postgres() {
		t.Skip("it runs on both engines in the SQLite run already")
	}
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		f(t, nil)
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		dsn := serverdbtest.PostgresURL(t)
		f(t, func(c *Config) { c.DB = dsn })
	})
}

// secondInstance starts another server on e's store and secrets folder,
// as a second instance behind a load balancer.
func (e *env) secondInstance() *env {
	e.t.Helper()
	cfg := e.srv.cfg
	cfg.Addr = "127.0.0.1:0"
	srv, err := Open(context.Background(), cfg)
	if err != nil {
		e.t.Fatalf("open a second server on the store: %v", err)
	}
	if err := srv.Start(); err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { srv.Close() })
	two := *e
	two.srv, two.url = srv, srv.URL()
	return &two
}

// TestTwoInstances: two servers on one store (a data folder, or a
// PostgreSQL schema) and one secrets folder, as two instances behind a
// load balancer: a push to one is pulled from the other, and an access
// token ended on one (a log-out) is refused by the other at once.
func TestTwoInstances(t *testing.T) {
	t.Parallel()
	engines(t, testTwoInstances)
}

func testTwoInstances(t *testing.T, tweak func(*Config)) {
	one := newEnvWith(t, tweak)
	two := *one.secondInstance()

	tok := one.login("asha", "dev-asha")
	_, cursor := two.pullAll(tok.AccessToken, "")
	m := visitMutation(one.ashaCase, "dev-asha", one.clock.Now().UnixMilli())
	r := one.do("POST", "/v1/sync/push", schema.PushRequest{Mutations: []schema.Mutation{m}}, bearer(tok.AccessToken))
	var pushed schema.PushResponse
	r.decode(t, &pushed)
	if r.status != 200 || len(pushed.Results) != 1 || pushed.Results[0].Status != schema.StatusApplied {
		t.Fatalf("push to the first instance: %d %s", r.status, r.body)
	}
	got, _ := two.pullAll(tok.AccessToken, cursor)
	if len(got) != 1 || got[0].ID != m.RecordID {
		t.Fatalf("the second instance's pull after a push to the first: %d records %+v, want the visit %s", len(got), got, m.RecordID)
	}

	// Both instances take the token; a log-out on the second ends it on
	// the first.
	for name, e := range map[string]*env{"first": one, "second": &two} {
		if r := e.do("GET", "/v1/me", nil, bearer(tok.AccessToken)); r.status != 200 {
			t.Fatalf("the %s instance refused a good token: %d %s", name, r.status, r.body)
		}
	}
	if r := two.do("POST", "/v1/auth/logout", nil, bearer(tok.AccessToken)); r.status != 200 {
		t.Fatalf("log out on the second instance: %d %s", r.status, r.body)
	}
	if r := one.do("POST", "/v1/sync/pull", schema.PullRequest{}, bearer(tok.AccessToken)); r.status != 401 {
		t.Errorf("the first instance after a log-out on the second: %d %s, want 401", r.status, r.body)
	}
	if r := one.do("POST", "/v1/auth/refresh", schema.RefreshRequest{RefreshToken: tok.RefreshToken, DeviceID: "dev-asha"}, nil); r.status != 401 {
		t.Errorf("the first instance refreshed a token logged out on the second: %d %s", r.status, r.body)
	}
}

// TestPullWaitsForAChange: a pull that asks to wait (docs/sync-protocol.md
// §7.3) answers at once when there is something; when there is nothing it
// is held until a change in the device's scope is numbered, on whichever
// instance, or until its seconds pass; a change outside its scope does
// not end it; a server that stops answers it at once.
func TestPullWaitsForAChange(t *testing.T) {
	t.Parallel()
	engines(t, testPullWaitsForAChange)
}

func testPullWaitsForAChange(t *testing.T, tweak func(*Config)) {
	one := newEnvWith(t, tweak)
	two := one.secondInstance()
	asha := one.login("asha", "dev-asha").AccessToken
	asha2 := one.login("asha", "dev-asha-2").AccessToken
	ben := one.login("ben", "dev-ben").AccessToken
	if r := two.do("POST", "/v1/sync/pull", schema.PullRequest{Wait: -1}, bearer(asha)); r.status != 400 || r.errorResponse().Error.Field != "wait" {
		t.Fatalf("wait -1: %d %s; want 400 naming wait", r.status, r.body)
	}
	// Something to send: at once, as without wait.
	start := time.Now()
	var page schema.PullResponse
	r := two.do("POST", "/v1/sync/pull", schema.PullRequest{Wait: 20}, bearer(asha))
	r.decode(t, &page)
	if r.status != 200 || len(page.Records) != 1 || time.Since(start) > 5*time.Second {
		t.Fatalf("a pull from the start with wait: %d, %d records after %v; want the case at once", r.status, len(page.Records), time.Since(start))
	}
	cursor := page.Cursor

	type answer struct {
		r    resp
		took time.Duration
	}
	waitOn := func(e *env, tok string, wait int) <-chan answer {
		ch := make(chan answer, 1)
		before := e.srv.DB().Waiting()
		start := time.Now()
		go func() {
			r := e.do("POST", "/v1/sync/pull", schema.PullRequest{Cursor: cursor, Wait: wait}, bearer(tok))
			ch <- answer{r, time.Since(start)}
		}()
		testkit.WaitFor(t, 5*time.Second, "the pull to wait", func() bool { return e.srv.DB().Waiting() > before })
		return ch
	}
	push := func(e *env, tok, caseID, dev string) string {
		m := visitMutation(caseID, dev, one.clock.Now().UnixMilli())
		r := e.do("POST", "/v1/sync/push", schema.PushRequest{Mutations: []schema.Mutation{m}}, bearer(tok))
		if r.status != 200 {
			t.Fatalf("push: %d %s", r.status, r.body)
		}
		return m.RecordID
	}

	// A change outside asha's scope (ben's case, on the other instance)
	// does not end her wait: it runs its 3 seconds and answers empty.
	ch := waitOn(two, asha, 3)
	push(one, ben, one.benCase, "dev-ben")
	a := <-ch
	a.r.decode(t, &page)
	if a.r.status != 200 || len(page.Records) != 0 || a.took < 3*time.Second {
		t.Fatalf("a wait through a change out of scope: %d, %d records after %v; want an empty page after 3 s", a.r.status, len(page.Records), a.took)
	}
	cursor = page.Cursor

	// A change in her scope, pushed to the other instance by her other
	// tablet, ends the wait with it.
	ch = waitOn(two, asha, 20)
	id := push(one, asha2, one.ashaCase, "dev-asha-2")
	a = <-ch
	a.r.decode(t, &page)
	if a.r.status != 200 || len(page.Records) != 1 || page.Records[0].ID != id || a.took > 10*time.Second {
		t.Fatalf("a wait through a change in scope on the other instance: %d %s after %v; want the visit %s at once", a.r.status, a.r.body, a.took, id)
	}
	cursor = page.Cursor

	// A server that stops answers its waiting pulls rather than hold its
	// shutdown.
	ch = waitOn(two, asha, 25)
	start = time.Now()
	if err := two.srv.Close(); err != nil {
		t.Errorf("close: %v", err)
	}
	a = <-ch
	if a.r.status != 200 || time.Since(start) > 5*time.Second {
		t.Errorf("a waiting pull at the server's stop: %d %s after %v; want its empty page at once", a.r.status, a.r.body, time.Since(start))
	}
}
