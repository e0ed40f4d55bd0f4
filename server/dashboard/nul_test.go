package dashboard

import (
	"net/url"
	"strings"
	"testing"
)

// TestNULIsRefused: a NUL character in a form or a query is refused with
// a page saying what is wrong (the sign-in form, the search), or answered
// as any text that names nothing, never a 500, on SQLite as on PostgreSQL,
// whose text holds no NUL: there the sign-in and the search were 500s
// (decision 0048).
func TestNULIsRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	anon := e.browser(t)
	if p := anon.signIn("s\x00ue", pw); p.status != 422 || !strings.Contains(p.body, "The username holds a NUL character") {
		t.Errorf("sign in with a NUL in the username: %d, want 422 saying the username holds a NUL\n%s", p.status, p.body)
	}
	if p := anon.signIn("sue", "a\x00b"); p.status != 401 {
		t.Errorf("sign in with a NUL in the password: %d, want 401 (not right)", p.status)
	}
	b := e.signedIn(t, "sue")
	if p := b.get("/dashboard/search?q=Ro%00ok"); p.status != 400 || !strings.Contains(p.body, "Type 2 to 100 characters") {
		t.Errorf("a search with a NUL: %d, want 400 with the search's advice\n%s", p.status, p.body)
	}
	for _, path := range []string{"/dashboard/cases/" + e.ashaCase + "?table=a%00b&format=csv",
		"/dashboard/cases/a%00b", "/dashboard/visits/a%00b", "/dashboard/officers/a%00b", "/dashboard/review?officer=a%00b&kind=a%00b",
		"/dashboard/review/visit/a%00b", "/dashboard/periods/a%00b", "/dashboard/overdue?team=a%00b&officer=a%00b", "/dashboard/?from=a%00b",
		"/dashboard/signin?next=a%00b"} {
		if p := b.get(path); p.status >= 500 {
			t.Errorf("GET %s: %d, want no 5xx\n%s", path, p.status, p.body)
		}
	}
	for _, c := range []struct {
		path string
		form url.Values
	}{
		{"/dashboard/periods", url.Values{"from": {"2026-11-01"}, "to": {"2026-11-30"}, "reason": {"a\x00b"}}},
		{"/dashboard/cases/" + e.ashaCase + "/qa-rating", url.Values{"rating": {"good"}, "comment": {"a\x00b"}}},
		{"/dashboard/review/approve", url.Values{"ids": {"a\x00b"}, "reason": {"a\x00b"}}},
		{"/dashboard/review/conflict/a%00b", url.Values{"decision": {"a\x00b"}, "reason": {"a\x00b"}}},
	} {
		c.form.Set("_csrf", b.csrf)
		if p := b.post(c.path, c.form); p.status >= 500 {
			t.Errorf("POST %s: %d, want no 5xx\n%s", c.path, p.status, p.body)
		}
	}
}
