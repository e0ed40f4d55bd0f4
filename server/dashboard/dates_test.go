package dashboard

import (
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"

	"doorstep/schema"
	"doorstep/schema/synth"
)

var (
	isoDate     = regexp.MustCompile(`\b\d{4}-\d{2}-\d{2}\b`)
	rawTime     = regexp.MustCompile(`\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?|\dT\d{2}:\d{2}`)
	hrefAttr    = regexp.MustCompile(`href="(/dashboard/[^"?#]*)`)
	hiddenParts = regexp.MustCompile(`(?is)<(script|style|textarea)\b.*?</(script|style|textarea)>|<[^>]*>`)
)

// demoTeam is a server with the demo team (synth's defaults) and a
// getter of its dashboard pages as the team's supervisor.
func demoTeam(t *testing.T) (get func(path string) (int, string), sup schema.User) {
	t.Helper()
	srv, sup := synthServer(t, synth.Options{Seed: 1})
	tok, err := newSite(srv).dashSessionToken(sup)
	if err != nil {
		t.Fatal(err)
	}
	return func(path string) (int, string) {
		req := httptest.NewRequest("GET", path, nil)
		req.AddCookie(&http.Cookie{Name: dashCookie, Value: tok})
		res, err := srv.App().Test(req, -1)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}, sup
}

// visibleText is what a reader sees of a page: the text between the tags,
// with script, style and form boxes (and every attribute) left out.
func visibleText(page string) string {
	return html.UnescapeString(hiddenParts.ReplaceAllString(page, "\n"))
}

// TestDashboardPagesShowNoStoredDates walks the dashboard of the demo team
// (synth's defaults) as its supervisor, following the links from the
// overview (every measure, the overdue list, the review queue and its
// items, officers, cases, visits, the print page and a search): no page
// shows a date as stored (2026-11-23) or a time with seconds or their
// fractions in its visible text.
func TestDashboardPagesShowNoStoredDates(t *testing.T) {
	if testing.Short() {
		t.Skip("-short (CI's race pass): a few pages of every kind of a 4,000-record team takes minutes under -race; the plain pass runs it")
	}
	t.Parallel()
	get, sup := demoTeam(t)
	// Up to perKind pages of each kind (the path's first part after
	// /dashboard/: cases, visits, officers, review...), so that every
	// template is read on several records without reading all 4,000.
	const perKind = 6
	kinds := map[string]int{}
	seen := map[string]bool{}
	queue := []string{"/dashboard/", "/dashboard/print", "/dashboard/search?q=" + strings.Fields(sup.Name)[0]}
	pages := 0
	for len(queue) > 0 {
		path := queue[0]
		queue = queue[1:]
		status, body := get(path)
		if status != 200 {
			t.Errorf("GET %s: %d", path, status)
			continue
		}
		pages++
		text := visibleText(body)
		for _, re := range []*regexp.Regexp{isoDate, rawTime} {
			for _, m := range re.FindAllStringIndex(text, 3) {
				if rest := text[m[1]:]; re == isoDate && len(rest) > 1 && rest[0] == '.' && rest[1] >= '0' && rest[1] <= '9' {
					continue // a rules version, "2026-11-23.1", names a file, not a day
				}
				from, to := max(m[0]-40, 0), min(m[1]+40, len(text))
				t.Errorf("%s shows %q as stored: …%s…", path, text[m[0]:m[1]], strings.Join(strings.Fields(text[from:to]), " "))
			}
		}
		for _, m := range hrefAttr.FindAllStringSubmatch(body, -1) {
			link := m[1]
			if seen[link] || strings.HasSuffix(link, ".csv") || strings.Contains(link, "/static/") || strings.HasSuffix(link, "/signout") {
				continue
			}
			seen[link] = true
			kind, _, _ := strings.Cut(strings.TrimPrefix(link, "/dashboard/"), "/")
			if kinds[kind] >= perKind {
				continue
			}
			kinds[kind]++
			queue = append(queue, link)
		}
	}
	for _, k := range []string{"measures", "overdue", "review", "officers", "cases", "visits"} {
		if kinds[k] == 0 {
			t.Errorf("walked no %s page (kinds %v): the walk does not reach every page", k, kinds)
		}
	}
	got := slices.Sorted(func(yield func(string) bool) {
		for k := range kinds {
			if !yield(k) {
				return
			}
		}
	})
	t.Logf("walked %d pages of kinds %v", pages, got)
}
