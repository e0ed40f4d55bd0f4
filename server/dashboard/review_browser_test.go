package dashboard

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"doorstep/internal/testkit"
	"doorstep/schema"
	"doorstep/schema/synth"
	"doorstep/server/serverdb"
)

// TestBrowserSupervisorReview drives the review queue in headless
// Chromium as a supervisor of a synthetic team: a conflict made by two
// edits of one visit on an officer's tablet, a change set aside, and the
// team's safety assessments with no decision. The supervisor opens the
// queue from the menu, sends the conflict's form without a decision (the
// error is next to the field, nothing is recorded), resolves it, then
// approves a safety assessment, and notes a signed visit from the visit's
// own page; each leaves the queue and the menu's count goes down. Screenshots at both tablet sizes go to artifacts/supervisor/
// (docs/supervisor.md and docs/review.md use two of them).
func TestBrowserSupervisorReview(t *testing.T) {
	t.Parallel()
	testkit.RequireBrowser(t) // before the fixture: skips in the PostgreSQL run
	srv, sup := synthServer(t, synth.Options{Teams: 1, OfficersPerTeam: 3, CasesPerOfficer: 6, HistoryDays: 120, Seed: 11})
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	db := srv.DB()
	admin := serverdb.Actor{UserID: "setup", Role: schema.RoleAdmin}
	users, err := db.ListUsers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var officers []schema.User
	for _, u := range users {
		if u.Role == schema.RoleOfficer && u.TeamID == sup.TeamID {
			officers = append(officers, u)
		}
	}
	caseOf := func(o schema.User) string {
		cases, err := db.List(ctx, admin, "case", "")
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cases {
			var k schema.Case
			_ = json.Unmarshal(mustJSON(c.Fields), &k)
			if k.OfficerID == o.ID && !k.Closed {
				return c.ID
			}
		}
		t.Fatalf("no open case of %s", o.Name)
		return ""
	}
	// The officer edits a draft visit's notes on the tablet twice; the
	// older edit arrives last and loses: a conflict. A visit written to a
	// colleague's case is set aside.
	o, other := officers[0], officers[1]
	dev := "tablet-" + o.Username
	if _, err := db.Login(ctx, o, dev, serverdb.DeviceInfo{Name: "Galaxy Tab"}, time.Hour); err != nil {
		t.Fatal(err)
	}
	actor := serverdb.ActorOf(o, dev)
	vid, caseID := schema.NewID(), caseOf(o)
	wall := synth.DefaultNow.Add(-2 * time.Hour).UnixMilli()
	push := func(m schema.Mutation) schema.MutationResult {
		res, err := db.Push(ctx, actor, []schema.Mutation{m})
		if err != nil {
			t.Fatal(err)
		}
		return res[0]
	}
	push(schema.Mutation{ID: schema.NewID(), Entity: "visit", RecordID: vid, CaseID: caseID, Clock: schema.HLC{Wall: wall + 60_000, Node: dev},
		Fields: rawFields("status", "draft", "planned_type", "home_unannounced", "observation_notes", "Flat tidy. Partner not at home; a neighbour says she left last week.")})
	if r := push(schema.Mutation{ID: schema.NewID(), Entity: "visit", RecordID: vid, CaseID: caseID, Clock: schema.HLC{Wall: wall, Node: dev},
		Fields: rawFields("observation_notes", "Flat tidy. Partner at home, seen alone in the kitchen.")}); r.Status != schema.StatusConflict {
		t.Fatalf("older edit = %+v, want a conflict", r)
	}
	if r := push(schema.Mutation{ID: schema.NewID(), Entity: "visit", RecordID: schema.NewID(), CaseID: caseOf(other), Clock: schema.HLC{Wall: wall, Node: dev},
		Fields: rawFields("status", "planned", "planned_type", "home_announced")}); r.Status != schema.StatusRejected {
		t.Fatalf("a visit in a colleague's case = %+v, want set aside", r)
	}

	br := testkit.StartBrowser(t, srv.URL(), "supervisor", 90*time.Second)
	bctx, do, text, location, shoot := br.Ctx, br.Do, br.Text, br.Location, br.Shoot
	count := func() int {
		n, err := strconv.Atoi(text("#queue-count"))
		if err != nil {
			t.Fatalf("the menu's count: %v", err)
		}
		return n
	}
	do("sign in", chromedp.Navigate(br.Base+"/dashboard/"), chromedp.WaitVisible(chromedp.CSS("#username")),
		chromedp.SendKeys(chromedp.CSS("#username"), sup.Username), chromedp.SendKeys(chromedp.CSS("#password"), pw),
		chromedp.Click(chromedp.CSS("#signin-submit")), chromedp.WaitVisible(chromedp.CSS(".cards")))
	start := count()
	if start < 3 {
		t.Fatalf("the menu counts %d items, want the conflict, the set-aside change and more", start)
	}

	// The queue, from the menu: both versions, readable, with their authors.
	do("open the queue", chromedp.Click(chromedp.CSS("#nav-review")), chromedp.WaitVisible(chromedp.CSS("#conflicts table")))
	if got := location(); !strings.HasPrefix(got, "/dashboard/review") {
		t.Fatalf("the menu's link went to %s", got)
	}
	row := text("#conflicts tbody tr")
	for _, want := range []string{"Partner at home, seen alone in the kitchen.", "a neighbour says she left last week", o.Name, o.Name + ", their tablet, Galaxy Tab"} {
		if !strings.Contains(strings.ToLower(row), strings.ToLower(want)) {
			t.Errorf("the conflict's row lacks %q: %s", want, row)
		}
	}
	if strings.Contains(row, dev) {
		t.Errorf("the conflict's row shows the device's id %s: %s", dev, row)
	}
	if sa := text("#set-aside tbody tr"); !strings.Contains(sa, o.Name) || !strings.Contains(sa, "home visit (announced)") {
		t.Errorf("the set-aside row: %s", sa)
	}
	shoot("07-review-queue")
	do("portrait", chromedp.EmulateViewport(800, 1280))
	if w, err := chromedp.Run(bctx, chromedp.Evaluate[int](`document.documentElement.scrollWidth`)); err != nil || w > 800 {
		t.Errorf("at 800 px wide the queue is %d px wide (%v)", w, err)
	}
	do("landscape", chromedp.EmulateViewport(1280, 800))

	// The conflict: sent without a decision, the error is next to the field.
	do("open the conflict", chromedp.Click(chromedp.CSS(`#conflicts tbody a[href*="/review/conflicts/"]`)), chromedp.WaitVisible(chromedp.CSS("#decide")))
	if v := text("#versions"); !strings.Contains(v, "Partner at home") || !strings.Contains(v, "neighbour") {
		t.Errorf("the versions: %s", v)
	}
	do("send without a decision", chromedp.SendKeys(chromedp.CSS("#decide-reason"), "The later notes are right: checked with the officer."),
		chromedp.Click(chromedp.CSS("#decide-submit")), chromedp.WaitVisible(chromedp.CSS("#decide-errors")))
	if e := text("#decide-decision .field-error"); !strings.Contains(e, "Choose a decision") {
		t.Errorf("the decision's error: %q", e)
	}
	if r, err := chromedp.Run(bctx, chromedp.Value(chromedp.CSS("#decide-reason"))); err != nil || !strings.Contains(r, "checked with the officer") {
		t.Errorf("the reason was not kept: %q %v", r, err)
	}
	shoot("08-review-error")
	do("keep the server's value", chromedp.Click(chromedp.CSS("#decide-d-keep_server")), chromedp.Click(chromedp.CSS("#decide-submit")),
		chromedp.WaitVisible(chromedp.CSS("#flash")))
	if f := text("#flash"); !strings.Contains(f, "Conflict resolved") {
		t.Errorf("flash: %q", f)
	}
	if e := text("#conflicts"); !strings.Contains(e, "No open conflicts.") {
		t.Errorf("the conflict is still queued: %s", e)
	}
	if n := count(); n != start-1 {
		t.Errorf("the count went from %d to %d, want %d", start, n, start-1)
	}

	// A safety assessment, approved.
	href, err := chromedp.Run(bctx, chromedp.Evaluate[string](`document.querySelector('#assessments tbody a[href*="/review/assessments/"]').getAttribute("href")`))
	if err != nil {
		t.Fatalf("no safety assessment in the queue: %v", err)
	}
	do("open the assessment", chromedp.Click(chromedp.CSS(`#assessments tbody a[href*="/review/assessments/"]`)), chromedp.WaitVisible(chromedp.CSS("#decide")))
	if h := text("h1"); !strings.HasPrefix(h, "Safety assessment") {
		t.Errorf("assessment page: %q", h)
	}
	do("approve", chromedp.Click(chromedp.CSS("#decide-d-approved")), chromedp.SendKeys(chromedp.CSS("#decide-reason"), "Lone-working plan in place."),
		chromedp.Click(chromedp.CSS("#decide-submit")), chromedp.WaitVisible(chromedp.CSS("#flash")))
	if f := text("#flash"); f != "Safety assessment reviewed: approved." {
		t.Errorf("flash: %q", f)
	}
	still, err := chromedp.Run(bctx, chromedp.Evaluate[bool](`!!document.querySelector('a[href="`+href+`"]')`))
	if err != nil || still {
		t.Errorf("the approved assessment is still in the queue (%v)", err)
	}
	if n := count(); n != start-2 {
		t.Errorf("the count is %d, want %d", n, start-2)
	}
	shoot("09-review-done")

	// A signed visit, reviewed from its own page.
	do("open a visit to review", chromedp.Click(chromedp.CSS(`#visits-review tbody tr:first-child a[href^="/dashboard/visits/"]`)),
		chromedp.WaitVisible(chromedp.CSS("#visit-review #decide")))
	if r := text("#visit-review"); !strings.Contains(r, "No manager has reviewed this visit yet.") {
		t.Errorf("visit review section: %s", r)
	}
	visitPage := location()
	do("note the visit", chromedp.Click(chromedp.CSS("#decide-d-noted")), chromedp.SendKeys(chromedp.CSS("#decide-reason"), "Discussed in supervision."),
		chromedp.Click(chromedp.CSS("#decide-submit")), chromedp.WaitVisible(chromedp.CSS("#flash")))
	if got := location(); got != visitPage+"#flash" {
		t.Errorf("after the review: %s, want %s#flash", got, visitPage)
	}
	if r := text("#visit-review"); !strings.Contains(r, "noted by "+sup.Name) || !strings.Contains(r, "Discussed in supervision.") {
		t.Errorf("the visit's reviews: %s", r)
	}
	shoot("10-visit-reviewed")
	if n := count(); n != start-3 {
		t.Errorf("the count is %d, want %d", n, start-3)
	}

	// The decision is in the store and in the audit log, with the views.
	id := href[strings.LastIndex(href, "/")+1:]
	id, _, _ = strings.Cut(id, "?")
	rec, err := db.Get(ctx, admin, "safety_assessment", id)
	if err != nil || string(rec.Fields["decision"]) != `"approved"` || string(rec.Fields["decided_by"]) != `"`+sup.ID+`"` {
		t.Errorf("the assessment: %v %v", rec.Fields, err)
	}
	seen := map[string]bool{}
	for _, action := range []string{"view", "oversight", "resolve_conflict"} {
		evs, err := db.AuditByAction(ctx, action)
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range evs {
			var d struct{ View string }
			_ = json.Unmarshal(ev.Detail, &d)
			if ev.UserID == sup.ID {
				seen[action+":"+d.View] = true
			}
		}
	}
	for _, want := range []string{"view:dashboard/review", "view:dashboard/review/conflict", "view:dashboard/review/safety_assessment", "oversight:", "resolve_conflict:"} {
		if !seen[want] {
			t.Errorf("audit lacks %s: %v", want, seen)
		}
	}
}

// TestBrowserReviewQueueBulk works through the signed visits of a
// synthetic team's queue in headless Chromium, a page of 4 at a time: the
// rows come in the store's order (risk, then age), the pager goes to the
// next page and back, and two visits ticked on the second page are
// approved with one reason, each recorded as its own oversight; the count
// and the pages follow.
func TestBrowserReviewQueueBulk(t *testing.T) {
	testkit.RequireBrowser(t) // before the fixture: skips in the PostgreSQL run
	// Not parallel: it changes reviewPageRows (see TestDashboardReviewPaging).
	defer func(n int) { reviewPageRows = n }(reviewPageRows)
	reviewPageRows = 4
	srv, sup := synthServer(t, synth.Options{Teams: 1, OfficersPerTeam: 3, CasesPerOfficer: 6, HistoryDays: 120, Seed: 11})
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	ctx, db := context.Background(), srv.DB()
	actor := serverdb.ActorOf(sup, "")
	q, err := db.ReviewQueue(ctx, actor, serverdb.ReviewFilter{Kind: serverdb.KindVisit, All: true})
	if err != nil {
		t.Fatal(err)
	}
	n := q.Counts.Visits
	if n < 9 {
		t.Fatalf("the synthetic team's queue has %d signed visits, want 9 or more for three pages", n)
	}
	order := make([]string, n)
	for i, v := range q.Visits {
		order[i] = v.ID
	}
	br := testkit.StartBrowser(t, srv.URL(), "supervisor", 90*time.Second)
	bctx, do, text := br.Ctx, br.Do, br.Text
	rowIDs := func() []string {
		t.Helper()
		ids, err := chromedp.Run(bctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('#visits-review tbody input.pick')].map(e => e.value)`))
		if err != nil {
			t.Fatal(err)
		}
		return ids
	}
	do("sign in", chromedp.Navigate(br.Base+"/dashboard/"), chromedp.WaitVisible(chromedp.CSS("#username")),
		chromedp.SendKeys(chromedp.CSS("#username"), sup.Username), chromedp.SendKeys(chromedp.CSS("#password"), pw),
		chromedp.Click(chromedp.CSS("#signin-submit")), chromedp.WaitVisible(chromedp.CSS(".cards")))
	do("the queue", chromedp.Click(chromedp.CSS("#nav-review")), chromedp.WaitVisible(chromedp.CSS("#more-visit")))
	if m := text("#more-visit"); !strings.Contains(m, "Show all "+strconv.Itoa(n)) {
		t.Errorf("the link to every signed visit: %q", m)
	}
	do("every signed visit", chromedp.Click(chromedp.CSS("#more-visit")), chromedp.WaitVisible(chromedp.CSS("#page-text")))
	if got := rowIDs(); strings.Join(got, " ") != strings.Join(order[:4], " ") {
		t.Errorf("page 1\n got %v\nwant %v", got, order[:4])
	}
	if p := text("#page-text"); p != "Items 1 to 4 of "+strconv.Itoa(n) {
		t.Errorf("page 1 says %q", p)
	}
	do("page 2", chromedp.Click(chromedp.CSS("#page-next")), chromedp.WaitVisible(chromedp.CSS("#page-prev")))
	if got := rowIDs(); strings.Join(got, " ") != strings.Join(order[4:8], " ") {
		t.Errorf("page 2\n got %v\nwant %v", got, order[4:8])
	}
	// Tick the second and fourth rows of page 2, give the reason, approve.
	// The ticks are clicked through the DOM, not by the mouse at a
	// position: under load the page could still shift between the two
	// clicks, and a tick that missed made this test fail now and then.
	ticked, err := chromedp.Run(bctx, chromedp.Evaluate[int](`[`+strconv.Quote(order[5])+`, `+strconv.Quote(order[7])+`].forEach(v => document.querySelector('input.pick[value="'+v+'"]').click()),
		document.querySelectorAll('#visits-review tbody input.pick:checked').length`))
	if err != nil || ticked != 2 {
		t.Fatalf("%d rows ticked (%v), want 2", ticked, err)
	}
	do("approve two", chromedp.SendKeys(chromedp.CSS("#bulk-reason"), "Read together in supervision, no concerns."),
		chromedp.Click(chromedp.CSS("#bulk-approve")), chromedp.WaitVisible(chromedp.CSS("#flash")))
	if f := text("#flash"); f != "Approved 2 signed visits, each recorded with your reason." {
		t.Errorf("flash: %q", f)
	}
	br.Shoot("11-review-bulk-approved")
	rest := append(append(append([]string{}, order[:5]...), order[6]), order[8:]...)
	last := min(8, len(rest))
	if got := rowIDs(); strings.Join(got, " ") != strings.Join(rest[4:last], " ") {
		t.Errorf("page 2 after approving\n got %v\nwant %v", got, rest[4:last])
	}
	if p := text("#page-text"); p != "Items 5 to "+strconv.Itoa(last)+" of "+strconv.Itoa(n-2) {
		t.Errorf("page 2 after approving says %q", p)
	}
	do("back to page 1", chromedp.Click(chromedp.CSS("#page-prev")), chromedp.WaitVisible(chromedp.CSS("#page-next")))
	if got := rowIDs(); strings.Join(got, " ") != strings.Join(order[:4], " ") {
		t.Errorf("page 1 after approving: %v", got)
	}
	// Find the person of the first visit from the search box in the
	// header, by a part of the family name, and open their case.
	k, err := db.Get(ctx, actor, "case", q.Visits[0].CaseID)
	if err != nil {
		t.Fatal(err)
	}
	var person schema.Case
	if err := k.Decode(&person); err != nil {
		t.Fatal(err)
	}
	part := strings.ToLower(person.FamilyName[:4])
	do("search", chromedp.SendKeys(chromedp.CSS("#search-q"), part), chromedp.Click(chromedp.CSS("#search-go")),
		chromedp.WaitVisible(chromedp.CSS("#search-found")))
	if found := text("#people tbody"); !strings.Contains(found, person.GivenName+" "+person.FamilyName) || !strings.Contains(found, person.CRN) {
		t.Errorf("searching %q found %s, want %s %s", part, found, person.CRN, person.FamilyName)
	}
	br.Shoot("12-search")
	do("open the case", chromedp.Click(chromedp.CSS(`#people tbody a[href*="`+k.ID+`"]`)), chromedp.WaitVisible(chromedp.CSS("h1")))
	if h := text("h1"); !strings.Contains(h, person.FamilyName) {
		t.Errorf("the case page's heading: %q", h)
	}
	evs, err := db.AuditByAction(ctx, "oversight")
	if err != nil || len(evs) != 2 {
		t.Fatalf("oversight events: %d %v, want 2", len(evs), err)
	}
	for i, want := range []string{order[5], order[7]} {
		var d struct {
			Reason string `json:"reason"`
			Bulk   int    `json:"bulk"`
		}
		_ = json.Unmarshal(evs[i].Detail, &d)
		if evs[i].RecordID != want || evs[i].UserID != sup.ID || d.Reason != "Read together in supervision, no concerns." || d.Bulk != 2 {
			t.Errorf("oversight event %d: %+v %s", i, evs[i], evs[i].Detail)
		}
	}
}
