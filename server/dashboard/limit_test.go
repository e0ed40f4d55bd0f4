package dashboard

import (
	"context"
	"html"
	"net/url"
	"strings"
	"testing"
	"time"

	"doorstep/schema"
	"doorstep/server"
	"doorstep/server/serverdb/serverdbtest"
)

// The dashboard computes in Go over the cases it shows, so it keeps to the
// server's case limit (Config.MaxReportCases): at the limit the overview
// is shown; one case over it, an admin is asked to choose a team (a link
// per team, keeping the filters) and the chosen team's page is shown; a
// case's page reads only its officer's cases and is shown whatever the
// service's size.
func TestDashboardCaseLimit(t *testing.T) {
	t.Parallel()
	e := newEnvWith(t, serverdbtest.ConfigDB(t), func(c *server.Config) { c.MaxReportCases = 2 })
	root := e.signedIn(t, "root")
	sue := e.signedIn(t, "sue")
	mustStatus(t, "admin's overview at the limit (2 cases)", root.get("/dashboard/"), 200)

	carlCase := schema.NewID()
	if err := e.srv.DB().Seed(context.Background(), e.admin, []schema.Record{e.caseRecord(carlCase, "C000003", "carl")}); err != nil {
		t.Fatal(err)
	}
	const q = "from=2026-09-01&to=2026-10-31"
	p := root.get("/dashboard/?" + q)
	mustStatus(t, "admin's overview one case over the limit", p, 422)
	body := html.UnescapeString(p.body)
	if !strings.Contains(body, "Choose a team") || !strings.Contains(body, "All teams together hold 3 cases, more than the 2 one page may cover") {
		t.Errorf("over the limit: want the page to ask for a team and name the limit; got %s", p.body)
	}
	for _, tm := range []schema.Team{e.teamA, e.teamB} {
		href := "/dashboard/?" + url.Values{"from": {"2026-09-01"}, "to": {"2026-10-31"}, "team": {tm.ID}}.Encode()
		if !strings.Contains(p.body, `href="`+html.EscapeString(href)+`"`) {
			t.Errorf("over the limit: no link to %s (%s) in %s", tm.Name, href, p.body)
		}
	}
	mustStatus(t, "admin's overview of team B", root.get("/dashboard/?team="+e.teamB.ID+"&"+q), 200)
	mustStatus(t, "admin's measure page of team A", root.get("/dashboard/measures/overdue?team="+e.teamA.ID+"&"+q), 200)
	mustStatus(t, "admin's case page", root.get("/dashboard/cases/"+carlCase+"?"+q), 200)
	mustStatus(t, "the supervisor's overview (team A, at the limit)", sue.get("/dashboard/?"+q), 200)
}

// A page computed in Go holds one of the server's report jobs
// (Config.MaxReportJobs, decision 0060): with the one job held, it waits
// its turn, and after Config.ReportJobWait it is a "busy" page, 503 with
// Retry-After; a page of the store's own (the review queue) is shown.
func TestDashboardReportJobs(t *testing.T) {
	t.Parallel()
	e := newEnvWith(t, serverdbtest.ConfigDB(t), func(c *server.Config) { c.MaxReportJobs = 1; c.ReportJobWait = 10 * time.Millisecond })
	sue := e.signedIn(t, "sue")
	_, release, err := e.srv.Compliance().Job(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/dashboard/", "/dashboard/measures/overdue", "/dashboard/cases/" + e.ashaCase} {
		p := sue.get(path)
		if p.status != 503 || p.header.Get("Retry-After") != "5" || !strings.Contains(p.body, "The server is busy") {
			t.Errorf("%s with the one job held: %d, Retry-After %q; want 503, 5 and a busy page: %s", path, p.status, p.header.Get("Retry-After"), p.body)
		}
	}
	mustStatus(t, "the review queue with the one job held", sue.get("/dashboard/review"), 200)
	release()
	mustStatus(t, "the overview once the job is given back", sue.get("/dashboard/"), 200)
}
