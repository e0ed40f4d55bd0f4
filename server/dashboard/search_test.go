package dashboard

import (
	"strings"
	"testing"
)

// The search box is on every page; a search finds the people of the
// caller's scope only, per role (a supervisor their team's, an admin and
// an auditor everyone), is audited with the cases listed, and a query too
// short is refused in words, with nothing audited.
func TestDashboardSearch(t *testing.T) {
	t.Parallel()
	e := newDashReviewEnv(t) // Sam Doe: A000001 (asha), B000002 (ben) in team A; C000003 (carl) in team B
	sue := e.signedIn(t, "sue")
	for _, path := range []string{"/dashboard/", "/dashboard/overdue", "/dashboard/review", "/dashboard/cases/" + e.ashaCase} {
		mustContain(t, path, sue.get(path).body, `id="search-q"`, `action="/dashboard/search"`)
	}
	crns := func(body string) []string {
		var out []string
		for _, crn := range []string{"A000001", "B000002", "C000003"} {
			if strings.Contains(body, ">"+crn+"<") {
				out = append(out, crn)
			}
		}
		return out
	}
	for _, tt := range []struct {
		user, q, want string
	}{
		{"sue", "doe", "A000001 B000002"},
		{"sue", "SAM d", "A000001 B000002"},
		{"sue", "b0000", "B000002"},
		{"sue", "c000003", ""}, // team B's: not found, not hinted at
		{"sam", "doe", "C000003"},
		{"root", "doe", "A000001 B000002 C000003"},
		{"audrey", "sam", "A000001 B000002 C000003"},
	} {
		b := e.signedIn(t, tt.user)
		before := len(auditViews(t, e.env, tt.user))
		p := b.get("/dashboard/search?q=" + strings.ReplaceAll(tt.q, " ", "+"))
		mustStatus(t, tt.user+" "+tt.q, p, 200)
		if got := strings.Join(crns(p.body), " "); got != tt.want {
			t.Errorf("%s searching %q found %q, want %q", tt.user, tt.q, got, tt.want)
		}
		mustContain(t, tt.q, p.body, `value="`+tt.q+`"`)
		evs := auditViews(t, e.env, tt.user)[before:]
		if len(evs) != 1 || evs[0]["view"] != "dashboard/search" {
			t.Errorf("%s %q: audit %v", tt.user, tt.q, evs)
		} else if n, _ := evs[0]["case_count"].(float64); int(n) != len(crns(p.body)) || evs[0]["cases"] != nil {
			// A view records the query and how many cases it listed, not
			// the cases (docs/api.md, Audit trail).
			t.Errorf("%s %q: audited %v cases (detail %v), listed %d", tt.user, tt.q, evs[0]["case_count"], evs[0], len(crns(p.body)))
		}
	}
	p := sue.get("/dashboard/search?q=doe")
	mustContain(t, "a hit", p.body, "Sam Doe", "2 January 1990", "/dashboard/cases/"+e.ashaCase, "2 people in your cases match")
	if p := sue.get("/dashboard/search?q=sam+doe+c000003"); strings.Contains(p.body, "C000003") {
		t.Error("the CRN of another team's case is echoed in a hit")
	}
	before := len(auditViews(t, e.env, "sue"))
	p = sue.get("/dashboard/search?q=d")
	mustStatus(t, "one letter", p, 400)
	mustContain(t, "one letter", p.body, "Type 2 to 100 characters")
	mustStatus(t, "no query", sue.get("/dashboard/search"), 200)
	if n := len(auditViews(t, e.env, "sue")) - before; n != 0 {
		t.Errorf("a refused or empty search audited %d views", n)
	}
}
