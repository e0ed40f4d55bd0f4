package dashboard

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"doorstep/internal/testkit"
	"doorstep/schema"
	"doorstep/schema/synth"
	"doorstep/server/serverdb"
)

// TestBrowserSupervisorDashboard drives the dashboard in headless
// Chromium as a supervisor of a synthetic team: sign in, the figures and
// charts, drill down team → officer → case → visit, and the officers
// table's CSV fetched with the browser's own session. Screenshots at both
// tablet sizes go to artifacts/supervisor/ (docs/supervisor.md uses them).
func TestBrowserSupervisorDashboard(t *testing.T) {
	t.Parallel()
	testkit.RequireBrowser(t) // before the fixture: skips in the PostgreSQL run
	srv, sup := synthServer(t, synth.Options{Teams: 2, OfficersPerTeam: 4, CasesPerOfficer: 12, HistoryDays: 200, Seed: 4})
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	br := testkit.StartBrowser(t, srv.URL(), "supervisor", 90*time.Second)
	ctx, do, text, location, shoot := br.Ctx, br.Do, br.Text, br.Location, br.Shoot
	base := br.Base

	// Signed out, the dashboard asks for a sign-in.
	do("open the dashboard", chromedp.Navigate(base+"/dashboard/"), chromedp.WaitVisible(chromedp.CSS("#username")))
	if h := text("h1"); h != "Sign in to the dashboard" {
		t.Fatalf("first page: %q", h)
	}
	shoot("01-sign-in")
	do("sign in",
		chromedp.SendKeys(chromedp.CSS("#username"), sup.Username),
		chromedp.SendKeys(chromedp.CSS("#password"), pw),
		chromedp.Click(chromedp.CSS("#signin-submit")),
		chromedp.WaitVisible(chromedp.CSS(".cards")))
	if got := location(); got != "/dashboard/" {
		t.Fatalf("after sign-in: %s", got)
	}

	// A longer period, chosen in the filter bar (the old page has cards
	// too: wait for the new one).
	br.NextPage("filter the period", chromedp.SetValue(chromedp.CSS("#f-from"), "2026-05-01"), chromedp.Click(chromedp.CSS("#apply")))
	do("wait for the cards", chromedp.WaitVisible(chromedp.CSS(".cards")))
	if got := location(); !strings.Contains(got, "from=2026-05-01") {
		t.Fatalf("after filtering: %s", got)
	}
	if p := text(".period"); !strings.Contains(p, "1 May 2026 to 23 November 2026") {
		t.Fatalf("period: %s", p)
	}

	// The team's figures, with their charts.
	team := text("#scope")
	for _, id := range []string{"first-home-visits", "overdue", "contacts", "enquiries"} {
		card := text("#m-" + id)
		if !strings.Contains(card, "%") && id != "overdue" {
			t.Errorf("panel %s shows no percentage: %s", id, card)
		}
		n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("#m-`+id+` svg.chart").length`))
		if err != nil || n != 2 {
			t.Errorf("panel %s has %d charts (%v), want 2", id, n, err)
		}
	}
	if ov := text("#m-overdue .big"); ov == "" {
		t.Error("no overdue figure")
	}
	officers := text("#officers tbody")
	shoot("02-dashboard")
	// The officers table, a column per measure, fits its panel at 1280 px
	// and on paper, without scrolling sideways.
	fits := func(what string) {
		t.Helper()
		w, err := chromedp.Run(ctx, chromedp.Evaluate[[]int](`(() => { const s = document.querySelector("#officers .scroll");
			return [s.querySelector("table").scrollWidth, s.clientWidth]; })()`))
		if err != nil || len(w) != 2 || w[0] > w[1] {
			t.Errorf("%s: the officers table is %v px wide in its panel (table, panel; %v)", what, w, err)
		}
	}
	do("1280 px", chromedp.EmulateViewport(1280, 800))
	fits("at 1280 px")
	media := func(m string) {
		t.Helper()
		if _, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{Media: m}); err != nil {
			t.Fatalf("emulate %q media: %v", m, err)
		}
	}
	media("print")
	do("A4 width", chromedp.EmulateViewport(700, 1000)) // an A4 page's printable width at 96 dpi
	fits("printed")
	media("")
	do("1280 px again", chromedp.EmulateViewport(1280, 800))
	// Nothing came from anywhere but this server; the portrait page does
	// not scroll sideways (wide tables scroll inside their own box); the
	// first Tab reaches the skip link.
	urls, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`performance.getEntriesByType("resource").map(e => e.name)`))
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range urls {
		if !strings.HasPrefix(u, base+"/") {
			t.Errorf("the page fetched %s", u)
		}
	}
	do("portrait", chromedp.EmulateViewport(800, 1280))
	if w, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.documentElement.scrollWidth`)); err != nil || w > 800 {
		t.Errorf("at 800 px wide the page is %d px wide (%v)", w, err)
	}
	do("landscape", chromedp.EmulateViewport(1280, 800), chromedp.KeyEvent("\t"))
	if cls, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.activeElement.className`)); err != nil || cls != "skip" {
		t.Errorf("the first Tab focuses %q (%v), want the skip link", cls, err)
	}

	// The officers table's CSV, fetched with this browser's session: the
	// same officers as the page.
	got, err := chromedp.Run(ctx, chromedp.Evaluate[string](`fetch(document.querySelector("#officers-csv").href).then(async r => JSON.stringify({status: r.status, disposition: r.headers.get("content-disposition"), body: await r.text()}))`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("fetch the CSV: %v", err)
	}
	var dl struct {
		Status      int
		Disposition string
		Body        string
	}
	if err := json.Unmarshal([]byte(got), &dl); err != nil {
		t.Fatal(err)
	}
	if dl.Status != 200 || !strings.HasPrefix(dl.Disposition, `attachment; filename="overview-officers.csv"`) {
		t.Fatalf("CSV answer: %d %q", dl.Status, dl.Disposition)
	}
	rows, err := csv.NewReader(strings.NewReader(dl.Body)).ReadAll()
	if err != nil {
		t.Fatalf("CSV: %v\n%s", err, dl.Body)
	}
	if len(rows) != 5 || rows[0][0] != "Officer" || rows[0][1] != "Cases" || rows[0][2] != "First home visit on time" {
		t.Fatalf("CSV rows: %v", rows)
	}
	for _, r := range rows[1:] {
		if !strings.Contains(officers, r[0]) || r[1] != "12" {
			t.Errorf("CSV row %v: not an officer of the page with 12 cases", r)
		}
	}

	// Drill down: an officer.
	name := text("#officers tbody tr:first-child a")
	do("open an officer", chromedp.Click(chromedp.CSS("#officers tbody tr:first-child a")), chromedp.WaitVisible(chromedp.CSS("#caseload")))
	if h := text("h1"); !strings.Contains(h, name) {
		t.Fatalf("officer page: %q, want %q", h, name)
	}
	shoot("03-officer")
	// Sort the caseload by the last contact, latest first, from the keyboard-reachable header links.
	do("sort by last contact", chromedp.Click(chromedp.CSS(`#caseload th:last-child a`)), chromedp.WaitVisible(chromedp.CSS(`#caseload th[aria-sort=ascending]`)))
	do("sort by last contact, latest first", chromedp.Click(chromedp.CSS(`#caseload th:last-child a`)), chromedp.WaitVisible(chromedp.CSS(`#caseload th[aria-sort=descending]`)))

	// A case.
	crn := text("#caseload tbody tr:first-child a")
	do("open a case", chromedp.Click(chromedp.CSS("#caseload tbody tr:first-child a")), chromedp.WaitVisible(chromedp.CSS("#visits")))
	if h := text("h1"); !strings.Contains(h, crn) {
		t.Fatalf("case page: %q, want %q", h, crn)
	}
	for _, id := range []string{"#requirements", "#visits", "#flags", "#household", "#enquiries", "#referrals", "#safety"} {
		if text(id+" h2") == "" {
			t.Errorf("case page lacks %s", id)
		}
	}
	caseURL := location()
	shoot("04-case")

	// A visit, as signed: the latest signed one (a draft or a planned
	// visit may come first).
	do("open a visit", chromedp.Click(chromedp.Search(`//*[@id="visits"]//tbody/tr[td[3][normalize-space()="signed"]][1]//a`)),
		chromedp.WaitVisible(chromedp.CSS("#fields")))
	if f := text("#fields"); !strings.Contains(f, "As signed") || !strings.Contains(f, "With amendments") {
		t.Fatalf("visit page: %s", f)
	}
	// The officer amends it (on the tablet; here straight into the store):
	// the page lists the amendment and shows both values.
	visitID := strings.TrimPrefix(location(), "/dashboard/visits/")
	visitID, _, _ = strings.Cut(visitID, "?")
	admin := serverdb.Actor{UserID: "setup", Role: schema.RoleAdmin}
	rec, err := srv.DB().Get(context.Background(), admin, "visit", visitID)
	if err != nil {
		t.Fatal(err)
	}
	var signedBy string
	_ = json.Unmarshal(rec.Fields["signed_by"], &signedBy)
	am := schema.Amendment{VisitID: visitID, Reason: "Notes typed into the wrong case at first; corrected the same day.",
		AmendedBy: signedBy, AmendedAt: "2026-11-20T16:05:00+00:00",
		Changes: rawFields("observation_notes", "Kitchen clean and stocked. A second toothbrush in the bathroom: asked, said a friend stays sometimes.")}
	if err := srv.DB().Seed(context.Background(), admin, []schema.Record{{Entity: "amendment", ID: schema.NewID(), CaseID: rec.CaseID, Fields: schema.FieldsOf(am)}}); err != nil {
		t.Fatal(err)
	}
	do("reload the visit", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("#amendments table")))
	if a := text("#amendments tbody"); !strings.Contains(a, "corrected the same day") {
		t.Fatalf("amendments: %s", a)
	}
	if f := text("#fields"); !strings.Contains(f, "second toothbrush") || !strings.Contains(f, "amended") {
		t.Fatalf("the amended field: %s", f)
	}
	shoot("05-visit")

	// The print page for a supervision meeting.
	do("open the print page", chromedp.Click(chromedp.CSS(`.nav a[href^="/dashboard/print"]`)), chromedp.WaitVisible(chromedp.CSS(".print-cards")))
	if p := text(".period"); !strings.Contains(p, "1 May 2026 to 23 November 2026") {
		t.Errorf("the print page lost the filters: %s", p)
	}
	if h := text("h1"); h != "Supervision meeting: "+team {
		t.Errorf("print page: %q", h)
	}
	shoot("06-print")

	// Both views were written to the audit log.
	evs, err := srv.DB().AuditByAction(context.Background(), "view")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, ev := range evs {
		var d struct{ View string }
		_ = json.Unmarshal(ev.Detail, &d)
		if ev.UserID == sup.ID {
			seen[d.View] = true
		}
	}
	if !seen["dashboard/case"] || !seen["dashboard/visit"] {
		t.Errorf("audit: %v, want the case and the visit views (case page %s)", seen, caseURL)
	}
}
