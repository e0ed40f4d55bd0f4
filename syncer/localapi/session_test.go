package localapi

import (
	"context"
	"net/http"
	"testing"
	"time"

	"doorstep/internal/testkit"
	"doorstep/schema"
	"doorstep/syncer"
	"doorstep/syncer/localapi/localapitest"
)

// openWithoutSession is the allow-list of the routes that answer without
// the officer's session, each with the reason it needs none
// (docs/decisions/0017-one-gate-for-the-tablet.md). A route that is
// neither here nor refused without a session fails
// TestEveryRouteNeedsTheSession: a new route cannot escape the gate.
var openWithoutSession = map[string]string{
	"GET /healthz":        "liveness, nothing about the tablet",
	"HEAD /healthz":       "liveness",
	"POST /v1/login":      "how a session is obtained online",
	"POST /v1/unlock":     "how a session is obtained offline",
	"POST /v1/unlock/pin": "how a session is obtained with the PIN",
	"GET /v1/unlock":      "the tries left before a password is typed; no caseload data",
	"HEAD /v1/unlock":     "as GET",
}

// startGatedAPI is startAPI on clk, with the officer signed in once (so
// the tablet has a caseload and a verifier to unlock against).
func startGatedAPI(t *testing.T, clk *testkit.Clock) (localapitest.Client, *syncer.Agent) {
	t.Helper()
	peer := fakePeer(t, schema.NewID())
	a, err := syncer.Open(context.Background(), syncer.Config{DataDir: t.TempDir(), ServerURL: peer.URL, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	api := New(a, Config{Now: clk.Now, LockAfter: 5 * time.Minute})
	if err := api.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { api.Close() })
	c := localapitest.Client{T: t, Base: api.URL()}
	signed := c.SignIn("/v1/login", map[string]string{"username": "asha.officer", "password": testPassword})
	if st, out, _ := signed.Do("POST", "/v1/sync", "{}", nil); st != 200 {
		t.Fatalf("sync: %d %v", st, out)
	}
	return c, a
}

// TestEveryRouteNeedsTheSession is the sweep's finding (issue 12) as a
// test: it lists the routes from the router itself and proves that each
// one not on the allow-list refuses a request with no session, with a
// token the tablet does not know, and with a session that has locked, and
// that the refusal changes nothing; with the session, the same request
// gets past the gate.
func TestEveryRouteNeedsTheSession(t *testing.T) {
	t.Parallel()
	clk := testkit.NewClock(time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC))
	anon, a := startGatedAPI(t, clk)
	ctx := context.Background()
	routes := New(a, Config{}).Routes()
	listed := map[string]bool{}
	for _, r := range routes {
		listed[r] = true
	}
	for r := range openWithoutSession {
		if !listed[r] {
			t.Errorf("the allow-list names %q, which the router does not have: remove it", r)
		}
	}
	unlock := map[string]string{"username": "asha.officer", "password": testPassword}
	gated := 0
	for _, route := range routes {
		method, path := localapitest.Request(route)
		var body any
		if method != "GET" && method != "HEAD" {
			body = "{}"
		}
		if _, open := openWithoutSession[route]; open {
			st, out, _ := anon.Do(method, path, body, nil)
			if _, field := localapitest.ErrCode(out); st == 401 && field == "Authorization" {
				t.Errorf("%s is on the allow-list but the gate refused it: %d %v", route, st, out)
			}
			continue
		}
		gated++
		before, _ := a.Outbox(ctx)
		locked := anon.SignIn("/v1/unlock", unlock)
		clk.Advance(5*time.Minute + time.Second)
		for _, tc := range []struct {
			name string
			c    localapitest.Client
			hdr  map[string]string
			code string
		}{
			{"no session", anon, nil, schema.ECodeUnauthorized},
			{"a token the tablet does not know", localapitest.Client{T: t, Base: anon.Base, Token: "not-a-session"}, nil, schema.ECodeUnauthorized},
			{"a password instead of a token", anon, map[string]string{"Authorization": "Basic YXNoYS5vZmZpY2VyOmNvcnJlY3QgaG9yc2UgYmF0dGVyeQ=="}, schema.ECodeUnauthorized},
			{"a locked session", locked, nil, schema.ECodeLocked},
			{"a locked session, again", locked, nil, schema.ECodeUnauthorized},
		} {
			st, out, _ := tc.c.Do(method, path, body, tc.hdr)
			code, field := localapitest.ErrCode(out)
			if method == "HEAD" {
				code, field = tc.code, "Authorization" // no body to read
			}
			if st != http.StatusUnauthorized || code != tc.code || field != "Authorization" {
				t.Errorf("%s with %s: want 401 %s on Authorization, got %d %v", route, tc.name, tc.code, st, out)
			}
		}
		if after, _ := a.Outbox(ctx); len(after) != len(before) {
			t.Errorf("%s without a session changed the outbox: %d -> %d entries", route, len(before), len(after))
		}
		// With the session the same request gets past the gate (whatever
		// the route then makes of it), by header or by cookie.
		c := anon.SignIn("/v1/unlock", unlock)
		if st, out, _ := c.Do(method, path, body, nil); st == 401 {
			t.Errorf("%s with the session: %d %v", route, st, out)
		}
		c = anon.SignIn("/v1/unlock", unlock)
		if st, out, _ := anon.Do(method, path, body, map[string]string{"Cookie": SessionCookie + "=" + c.Token}); st == 401 {
			t.Errorf("%s with the session cookie: %d %v", route, st, out)
		}
	}
	if gated < 20 {
		t.Fatalf("only %d routes behind the gate: the router's list looks wrong (%v)", gated, routes)
	}
	// A path nobody serves is refused too: the gate answers before the
	// router says what exists.
	if st, out, _ := anon.Do("GET", "/v1/nothing", nil, nil); st != 401 {
		t.Fatalf("an unknown path without a session: %d %v", st, out)
	}
}

// TestLockAndLockoutEndTheSession: POST /v1/lock ends the session it is
// sent with, and a lockout by wrong passwords ends every session.
func TestLockAndLockoutEndTheSession(t *testing.T) {
	t.Parallel()
	clk := testkit.NewClock(time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC))
	anon, _ := startGatedAPI(t, clk)
	unlock := map[string]string{"username": "asha.officer", "password": testPassword}
	a, b := anon.SignIn("/v1/unlock", unlock), anon.SignIn("/v1/unlock", unlock)
	if st, out, _ := a.Do("POST", "/v1/lock", "{}", nil); st != 200 || out["locked"] != true {
		t.Fatalf("lock: %d %v", st, out)
	}
	if st, out, _ := a.Do("GET", "/v1/status", nil, nil); st != 401 {
		t.Fatalf("a locked session still reads: %d %v", st, out)
	}
	// Each session uses the clock on its own: b was used 4 minutes ago.
	clk.Advance(4 * time.Minute)
	if st, out, _ := b.Do("GET", "/v1/status", nil, nil); st != 200 || out["signed_in"] != true {
		t.Fatalf("another session after a lock: %d %v", st, out)
	}
	clk.Advance(4 * time.Minute)
	if st, out, _ := b.Do("GET", "/v1/outbox", nil, nil); st != 200 {
		t.Fatalf("a session used within the lock time: %d %v", st, out)
	}
	// Wrong passwords up to the lockout, waiting out each wait in steps
	// that keep b in use: b ends because of the lockout, not the clock.
	wrong := map[string]string{"username": "asha.officer", "password": "wrong password!"}
	for i := 0; i < syncer.MaxUnlockFailures; i++ {
		st, out, _ := anon.Do("POST", "/v1/unlock", wrong, nil)
		us, _ := out["unlock"].(map[string]any)
		if i < syncer.MaxUnlockFailures-1 {
			if st != 401 {
				t.Fatalf("wrong password %d: %d %v", i+1, st, out)
			}
			if st, out, _ := b.Do("GET", "/v1/outbox", nil, nil); st != 200 {
				t.Fatalf("b before the lockout: %d %v", st, out)
			}
		}
		for wait := time.Duration(toInt(us["wait_seconds"])) * time.Second; wait > 0; wait -= 4 * time.Minute {
			clk.Advance(min(wait, 4*time.Minute))
			b.Do("GET", "/v1/outbox", nil, nil)
		}
	}
	if st, out, _ := anon.Do("GET", "/v1/unlock", nil, nil); st != 200 || out["locked_out"] != true {
		t.Fatalf("after %d wrong passwords: %d %v", syncer.MaxUnlockFailures, st, out)
	}
	st, out, _ := b.Do("GET", "/v1/outbox", nil, nil)
	if code, _ := localapitest.ErrCode(out); st != 401 || code != schema.ECodeUnauthorized {
		t.Fatalf("a session after the lockout: want 401 unauthorized, got %d %v", st, out)
	}
}

func toInt(v any) int { f, _ := v.(float64); return int(f) }
