package officerapp

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"doorstep/schema"
	"doorstep/syncer/localapi"
	"doorstep/syncer/localapi/localapitest"
)

// openPages is the allow-list of the web app's routes that answer without
// the officer's session, each with the reason; the JSON API's are
// localapitest.OpenRoutes.
var openPages = map[string]string{
	"GET /":                  "a redirect to Today, which asks for the session",
	"HEAD /":                 "as GET",
	"GET /app":               "a redirect to Today, which asks for the session",
	"HEAD /app":              "as GET",
	"GET /app/static/:name":  "the app's shell, the same for everyone: the stylesheet, the script, the manifest, the icons, the offline page",
	"HEAD /app/static/:name": "as GET",
	"GET /app/sw.js":         "the service worker's script, the same for everyone; it keeps the shell only (installable.go)",
	"HEAD /app/sw.js":        "as GET",
	"GET /app/signin":        "the sign-in and unlock page",
	"HEAD /app/signin":       "as GET",
	"POST /app/signin":       "the online sign-in form",
	"POST /app/unlock":       "the unlock form",
	"POST /app/unlock/pin":   "the PIN unlock form",
}

func openTabletRoute(route string) bool {
	_, page := openPages[route]
	_, api := localapitest.OpenRoutes[route]
	return page || api
}

// noRedirects is a client that shows redirects instead of following them.
var noRedirects = &http.Client{Timeout: 30 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// call makes route's request (localapitest.Request) with the session
// cookie token (none when ""); a page's form posts go as forms, the JSON
// API's writes as JSON.
func call(t *testing.T, base, route, token string, hdr map[string]string) (status int, location string, out map[string]any) {
	t.Helper()
	method, path := localapitest.Request(route)
	var body io.Reader
	req, _ := http.NewRequest(method, base+path, nil)
	if method != "GET" && method != "HEAD" {
		if strings.HasPrefix(path, "/app/") {
			body = strings.NewReader("x=1")
			req, _ = http.NewRequest(method, base+path, body)
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		} else {
			req, _ = http.NewRequest(method, base+path, strings.NewReader("{}"))
			req.Header.Set("Content-Type", "application/json")
		}
	}
	if token != "" {
		req.AddCookie(&http.Cookie{Name: localapi.SessionCookie, Value: token})
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := noRedirects.Do(req)
	if err != nil {
		t.Fatalf("%s: %v", route, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	json.Unmarshal(raw, &out)
	return resp.StatusCode, resp.Header.Get("Location"), out
}

// TestEveryRouteOfTheTabletNeedsTheSession walks every route of the
// tablet's server as the router lists it, the web app's pages with the JSON
// API, and proves each one not on the allow-list refuses without the
// officer's session, and with a session that was locked (by "Lock now" or
// by the time without use): a page sends to the sign-in page, the
// autosave script and the JSON API get 401. The browser's session, which
// the app's pages run on, is also the JSON API's.
func TestEveryRouteOfTheTabletNeedsTheSession(t *testing.T) {
	e := startApp(t)
	b := e.browser()
	b.mustSignIn()
	base := e.api.URL()
	cookie := func(b *browser) string {
		u, _ := url.Parse(base)
		for _, c := range b.c.Jar.Cookies(u) {
			if c.Name == localapi.SessionCookie {
				return c.Value
			}
		}
		t.Fatal("the browser holds no session cookie")
		return ""
	}
	// The session the browser signed in with opens the JSON API too.
	live := cookie(b)
	if st, _, out := call(t, base, "GET /v1/status", live, nil); st != 200 || out["signed_in"] != true {
		t.Fatalf("the JSON API with the app's session: %d %v", st, out)
	}
	// "Lock now" on the page ends it for the JSON API as well.
	locked := cookie(e.browser().mustSignInAgain(t))
	if p := b.post("/app/lock", url.Values{"_csrf": {b.get("/app/today").token(csrfRE)}}); p.path != pathSignIn {
		t.Fatalf("lock: %d at %s", p.status, p.path)
	}
	before := e.outboxLen()
	routes := e.api.Routes()
	listed := map[string]bool{}
	for _, r := range routes {
		listed[r] = true
	}
	for r := range openPages {
		if !listed[r] {
			t.Errorf("the allow-list names %q, which the router does not have: remove it", r)
		}
	}
	var app *webApp // Owns needs no app
	pages, api := 0, 0
	for _, route := range routes {
		if openTabletRoute(route) {
			continue
		}
		method, path := localapitest.Request(route)
		for _, tc := range []struct{ name, token string }{{"no session", ""}, {"a locked session", live}, {"an unknown token", "0123abcd"}} {
			st, loc, out := call(t, base, route, tc.token, nil)
			if app.Owns(path) {
				if st != http.StatusSeeOther || !strings.HasPrefix(loc, pathSignIn) {
					t.Errorf("page %s with %s: want 303 to the sign-in page, got %d to %q", route, tc.name, st, loc)
				}
				if method == "POST" {
					st, _, out := call(t, base, route, tc.token, map[string]string{"X-Requested-With": "doorstep"})
					if st != 401 || out["locked"] != true {
						t.Errorf("script post %s with %s: want 401 {locked: true}, got %d %v", route, tc.name, st, out)
					}
				}
				continue
			}
			code, field := localapitest.ErrCode(out)
			if method == "HEAD" {
				code, field = schema.ECodeUnauthorized, "Authorization" // no body
			}
			if st != 401 || code != schema.ECodeUnauthorized || field != "Authorization" {
				t.Errorf("%s with %s: want 401 unauthorized on Authorization, got %d %v", route, tc.name, st, out)
			}
		}
		if app.Owns(path) {
			pages++
		} else {
			api++
		}
	}
	if n := e.outboxLen(); n != before {
		t.Fatalf("refused requests changed the outbox: %d -> %d entries", before, n)
	}
	if pages < 30 || api < 20 {
		t.Fatalf("only %d pages and %d API routes behind the gate: the router's list looks wrong (%v)", pages, api, routes)
	}
	// The lock after inactivity: the JSON API says so, as the page does.
	e.clock.Advance(e.api.LockAfter() + time.Second)
	if st, _, out := call(t, base, "GET /v1/records/:entity", locked, nil); st != 401 || out["error"].(map[string]any)["code"] != schema.ECodeLocked {
		t.Fatalf("a session idle past the lock time: want 401 locked, got %d %v", st, out)
	}
}

// mustSignInAgain signs a second browser in with the password (the
// tablet already has the officer).
func (b *browser) mustSignInAgain(t *testing.T) *browser {
	t.Helper()
	if p := b.unlockWith(testPassword); p.path != pathToday {
		t.Fatalf("unlock: %d at %s:\n%s", p.status, p.path, p.body)
	}
	return b
}
