package localapi

import (
	"context"
	"net/http"
	"strconv"
	"testing"
	"time"

	"doorstep/internal/testkit"
	"doorstep/schema"
	"doorstep/syncer"
	"doorstep/syncer/localapi/localapitest"
)

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
	for r := range localapitest.OpenRoutes {
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
		if _, open := localapitest.OpenRoutes[route]; open {
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
	// Nor does a gated route dressed as an open one get through.
	for _, p := range []string{"/healthz/../v1/records/household-members", "/v1/unlock/../records/household-members",
		"/v1/unlock/pin/../../status", "/v1/login/%2e%2e/status", "/V1/RECORDS/household-members", "//v1/status",
		"/v1/records/household-members/", "/v1/status?x=/healthz"} {
		if st, out, _ := anon.Do("GET", p, nil, nil); st != 401 {
			t.Errorf("GET %s without a session: want 401, got %d %v", p, st, out)
		}
	}
}

// TestLockEndsTheSession: POST /v1/lock ends the session it is sent with,
// and no other; each session locks on its own clock.
func TestLockEndsTheSession(t *testing.T) {
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
	clk.Advance(4 * time.Minute)
	if st, out, _ := b.Do("GET", "/v1/status", nil, nil); st != 200 || out["signed_in"] != true {
		t.Fatalf("another session after a lock: %d %v", st, out)
	}
	clk.Advance(4 * time.Minute) // 8 minutes since b unlocked, 4 since it was used
	if st, out, _ := b.Do("GET", "/v1/outbox", nil, nil); st != 200 {
		t.Fatalf("a session used within the lock time: %d %v", st, out)
	}
}

// TestLockoutEndsEverySession: ten wrong passwords in a row, sent to the
// unlock or to the PIN's routes (which count them the same), lock the
// tablet out and end every session, the one that sent them included.
func TestLockoutEndsEverySession(t *testing.T) {
	t.Parallel()
	wrong := "wrong password!"
	for _, tc := range []struct {
		name  string
		send  func(anon, b localapitest.Client) (int, map[string]any, http.Header)
		field string // the refusal's field
	}{
		{"the unlock", func(anon, _ localapitest.Client) (int, map[string]any, http.Header) {
			return anon.Do("POST", "/v1/unlock", map[string]string{"username": "asha.officer", "password": wrong}, nil)
		}, ""},
		{"PUT /v1/pin", func(_, b localapitest.Client) (int, map[string]any, http.Header) {
			return b.Do("PUT", "/v1/pin", map[string]string{"password": wrong, "pin": goodPIN}, nil)
		}, "password"},
		{"DELETE /v1/pin", func(_, b localapitest.Client) (int, map[string]any, http.Header) {
			return b.Do("DELETE", "/v1/pin", map[string]string{"password": wrong}, nil)
		}, "password"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			clk := testkit.NewClock(time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC))
			anon, _ := startGatedAPI(t, clk)
			b := anon.SignIn("/v1/unlock", map[string]string{"username": "asha.officer", "password": testPassword})
			b.T = t
			// Wrong passwords up to the lockout, waiting out each wait in
			// steps that keep b in use: b ends because of the lockout,
			// not the clock.
			for i := 1; i <= syncer.MaxUnlockFailures; i++ {
				st, out, hdr := tc.send(anon, b)
				code, field := localapitest.ErrCode(out)
				if i < syncer.MaxUnlockFailures && (st != 401 || code != schema.ECodeUnauthorized || field != tc.field) {
					t.Fatalf("wrong password %d: want 401 unauthorized on %q, got %d %v", i, tc.field, st, out)
				}
				if i == syncer.MaxUnlockFailures && (st != 403 || code != schema.ECodeForbidden) {
					t.Fatalf("wrong password %d: want 403 forbidden (locked out), got %d %v", i, st, out)
				}
				_, us, _ := anon.Do("GET", "/v1/unlock", nil, nil)
				if i < syncer.MaxUnlockFailures && toInt(us["failures"]) != i || i == syncer.MaxUnlockFailures && us["locked_out"] != true {
					t.Fatalf("after wrong password %d: %v", i, us)
				}
				if w := toInt(us["wait_seconds"]); w > 0 && hdr.Get("Retry-After") != strconv.Itoa(w) {
					t.Fatalf("wrong password %d: a wait of %d s, Retry-After %q", i, w, hdr.Get("Retry-After"))
				}
				for wait := time.Duration(toInt(us["wait_seconds"])) * time.Second; wait > 0; wait -= 4 * time.Minute {
					clk.Advance(min(wait, 4*time.Minute))
					if st, out, _ := b.Do("GET", "/v1/outbox", nil, nil); st != 200 {
						t.Fatalf("b before the lockout: %d %v", st, out)
					}
				}
			}
			st, out, _ := b.Do("GET", "/v1/outbox", nil, nil)
			if code, _ := localapitest.ErrCode(out); st != 401 || code != schema.ECodeUnauthorized {
				t.Fatalf("a session after the lockout: want 401 unauthorized, got %d %v", st, out)
			}
		})
	}
}

func toInt(v any) int { f, _ := v.(float64); return int(f) }

// A session whose agent has dropped the data key (the tablet locked out,
// or the key's hold ran out) locks: without the key nothing of the
// caseload can be read, so the session must not pretend otherwise.
func TestSessionLocksWhenTheDataKeyIsDropped(t *testing.T) {
	t.Parallel()
	clk := testkit.NewClock(time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC))
	anon, a := startGatedAPI(t, clk)
	unlock := map[string]string{"username": "asha.officer", "password": testPassword}
	c := anon.SignIn("/v1/unlock", unlock)
	if st, out, _ := c.Do("GET", "/v1/records/cases", "", nil); st != 200 {
		t.Fatalf("cases with the session: %d %v", st, out)
	}
	a.DropKey()
	st, out, _ := c.Do("GET", "/v1/records/cases", "", nil)
	if code, _ := localapitest.ErrCode(out); st != http.StatusUnauthorized || code != schema.ECodeLocked {
		t.Fatalf("cases after the key was dropped: %d %v, want 401 locked", st, out)
	}
	if st, _, _ := c.Do("GET", "/v1/records/cases", "", nil); st != http.StatusUnauthorized {
		t.Fatalf("the locked session answered again: %d", st)
	}
	c = anon.SignIn("/v1/unlock", unlock)
	if st, out, _ := c.Do("GET", "/v1/records/cases", "", nil); st != 200 {
		t.Fatalf("cases after a new unlock: %d %v", st, out)
	}
}
