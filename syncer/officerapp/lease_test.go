package officerapp

import (
	"crypto/ed25519"
	"crypto/rand"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"doorstep/syncer"
	"doorstep/syncer/localapi/localapitest"
)

// TestAppLocksWhenTheLeaseRunsOut: once the offline lease has run out,
// every page of the app sends the officer to the sign-in page (the
// autosave script gets 423), which offers the online sign-in only and
// says why, what is kept and when the tablet destroys its keys; the
// offline unlock is refused there too; and the online sign-in opens the
// app again.
func TestAppLocksWhenTheLeaseRunsOut(t *testing.T) {
	t.Parallel()
	e := startApp(t)
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	e.peer.mu.Lock()
	e.peer.leaseKey, e.peer.leaseDays = key, 7
	e.peer.mu.Unlock()
	b := e.browser()
	b.mustSignIn()
	ls := e.agent.Lease()
	if ls.State != syncer.LeaseValid {
		t.Fatalf("after the online sign-in the lease is %+v", ls)
	}
	u, _ := url.Parse(e.api.URL())
	var live string
	for _, c := range b.c.Jar.Cookies(u) {
		if c.Name == sessionCookie {
			live = c.Value
		}
	}

	e.peer.down.Store(true)
	e.clock.Set(ls.ValidUntil.Add(time.Minute))
	p := b.get("/app/today")
	if p.path != pathSignIn || p.status != 200 {
		t.Fatalf("Today once the lease ran out: want the sign-in page, got %d at %s", p.status, p.path)
	}
	mustContain(t, p, `id="lease-notice"`, "Connect to the network and sign in online", "destroys its keys", `action="/app/signin"`)
	mustNotContain(t, p, `action="/app/unlock"`, `id="pin-form"`)

	base := e.api.URL()
	var app *webApp
	walked := 0
	for _, route := range e.api.Routes() {
		method, path := localapitest.Request(route)
		if _, open := openPages[route]; open || !app.Owns(path) {
			continue
		}
		if st, loc, _ := call(t, base, route, live, nil); st != http.StatusSeeOther || !strings.HasPrefix(loc, pathSignIn) {
			t.Errorf("page %s with the session of before: want 303 to the sign-in page, got %d to %q", route, st, loc)
		}
		if method == "POST" {
			if st, _, out := call(t, base, route, live, map[string]string{"X-Requested-With": "doorstep"}); st != http.StatusLocked || out["lease_expired"] != true {
				t.Errorf("script post %s: want 423 {lease_expired: true}, got %d %v", route, st, out)
			}
		}
		walked++
	}
	if walked < 30 {
		t.Fatalf("only %d pages walked: the router's list looks wrong", walked)
	}
	if p := b.unlockWith(testPassword); p.status != http.StatusLocked || p.path != "/app/unlock" {
		t.Fatalf("the offline unlock once the lease ran out: want 423 on the page, got %d at %s", p.status, p.path)
	} else {
		mustContain(t, p, `id="lease-notice"`)
	}

	e.peer.down.Store(false)
	if p := b.signIn(pathSignIn, officer.Username, testPassword); p.path != pathToday {
		t.Fatalf("the online sign-in: want Today, got %d at %s:\n%s", p.status, p.path, p.body)
	}
	if ls := e.agent.Lease(); ls.State != syncer.LeaseValid {
		t.Fatalf("after the online sign-in the lease is %+v", ls)
	}
}
