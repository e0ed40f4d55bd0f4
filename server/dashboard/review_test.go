package dashboard

import (
	"context"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"doorstep/schema"
	"doorstep/schema/synth"
	"doorstep/server/serverdb"
)

// dashReviewEnv is newReviewEnv (an open conflict in asha's case, team A,
// and in carl's, team B) plus a set-aside change of asha's (to ben's case),
// one of carl's (to asha's case), a signed visit and a safety assessment
// in asha's case.
type dashReviewEnv struct {
	*reviewEnv
	ashaSetAside, carlSetAside string
	visit, assessment          string
}

func newDashReviewEnv(t *testing.T) *dashReviewEnv {
	t.Helper()
	e := &dashReviewEnv{reviewEnv: newReviewEnv(t)}
	m := schema.Mutation{ID: schema.NewID(), Entity: "visit", RecordID: schema.NewID(), CaseID: e.benCase,
		Fields: rawFields("status", "planned", "planned_type", "home_unannounced"), Clock: schema.HLC{Wall: 3000, Node: "dev-asha"}}
	if res := e.push("asha", m); res[0].Status != schema.StatusRejected {
		t.Fatalf("asha's push to ben's case = %+v, want rejected", res[0])
	}
	e.ashaSetAside = m.ID
	m = schema.Mutation{ID: schema.NewID(), Entity: "visit", RecordID: schema.NewID(), CaseID: e.ashaCase,
		Fields: rawFields("status", "planned", "planned_type", "office"), Clock: schema.HLC{Wall: 3000, Node: "dev-carl"}}
	if res := e.push("carl", m); res[0].Status != schema.StatusRejected {
		t.Fatalf("carl's push to asha's case = %+v, want rejected", res[0])
	}
	e.carlSetAside = m.ID
	asha := e.users["asha"]
	e.visit, e.assessment = schema.NewID(), schema.NewID()
	// Three days before the test's clock, so the visit is in
	// the dashboard's default period.
	at := e.clock.Now().Add(-72 * time.Hour).Truncate(time.Hour)
	ts := func(d time.Duration) schema.Timestamp { return schema.TimestampOf(at.Add(d)) }
	v := schema.Visit{OfficerID: asha.ID, PlannedType: "home_announced", Type: "home_announced", Status: "signed", Outcome: "completed",
		Location: "home", FaceToFace: true, StartedAt: ts(0), EndedAt: ts(40 * time.Minute), PersonSeen: "yes",
		PartnerPresent: "no_partner", ChildrenPresent: "no_children", SignedAt: ts(time.Hour), SignedBy: asha.ID}
	a := schema.SafetyAssessment{Address: "1 High St", Dogs: "yes", Weapons: "no", AssessedOn: schema.DateOf(at), AssessedBy: asha.ID}
	if err := e.srv.DB().Seed(context.Background(), e.admin, []schema.Record{
		{Entity: "visit", ID: e.visit, CaseID: e.ashaCase, Fields: schema.FieldsOf(v)},
		{Entity: "safety_assessment", ID: e.assessment, CaseID: e.ashaCase, Fields: schema.FieldsOf(a)},
	}); err != nil {
		t.Fatal(err)
	}
	return e
}

func (b *browser) decide(path string, kv ...string) page {
	b.t.Helper()
	form := url.Values{"_csrf": {b.csrf}}
	for i := 0; i+1 < len(kv); i += 2 {
		form.Set(kv[i], kv[i+1])
	}
	return b.post(path, form)
}

func mustContain(t *testing.T, what, body string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(body, w) {
			t.Errorf("%s lacks %q", what, w)
		}
	}
}

func TestDashboardReviewQueue(t *testing.T) {
	t.Parallel()
	e := newDashReviewEnv(t)
	sue := e.signedIn(t, "sue")
	before := len(auditViews(t, e.env, "sue"))
	p := sue.get("/dashboard/review")
	mustStatus(t, "queue", p, 200)
	// Both versions, readable, with their authors; the team's items only.
	mustContain(t, "sue's queue", p.body, "A000001", "losing value", "server value", "asha, their tablet",
		"/dashboard/review/conflicts/"+e.ashaConflict, "/dashboard/review/set-aside/"+e.ashaSetAside,
		"home visit (unannounced)", "B000002", "/dashboard/review/visits/"+e.visit, "/dashboard/review/assessments/"+e.assessment,
		"1 High St", `id="queue-count">4<`)
	if strings.Contains(p.body, "dev-asha") {
		t.Error("the queue shows a device's id where a person reads")
	}
	if strings.Contains(p.body, "Show all") {
		t.Error(`a table that shows every item of its kind ends with "Show all"`)
	}
	for _, other := range []string{e.carlConflict, e.carlSetAside, "C000003"} {
		if strings.Contains(p.body, other) {
			t.Errorf("sue's queue shows team B's %s", other)
		}
	}
	evs := auditViews(t, e.env, "sue")[before:]
	if len(evs) != 1 || evs[0]["view"] != "dashboard/review" {
		t.Fatalf("audit of the view: %v", evs)
	}
	if evs[0]["case_count"] != 2.0 { // asha's case, and ben's (the set-aside change's)
		t.Errorf("audited %v cases, want 2: asha's and ben's", evs[0]["case_count"])
	}
	// The nav's count is on every page.
	mustContain(t, "overview", sue.get("/dashboard/").body, `id="nav-review"`, `id="queue-count">4<`)

	// Filters: one kind; one officer; a bad kind is refused.
	p = sue.get("/dashboard/review?kind=safety_assessment")
	mustStatus(t, "kind", p, 200)
	if strings.Contains(p.body, "losing value") || !strings.Contains(p.body, "1 High St") {
		t.Errorf("kind=safety_assessment shows other kinds or not its own")
	}
	mustContain(t, "sort links keep the kind", p.body, "kind=safety_assessment&amp;sort=assessments.")
	p = sue.get("/dashboard/review?officer=" + e.users["ben"].ID)
	if strings.Contains(p.body, "losing value") || strings.Contains(p.body, "1 High St") {
		t.Errorf("ben's items show asha's")
	}
	c := e.counts()
	mustStatus(t, "bad kind", sue.get("/dashboard/review?kind=everything"), 400)
	if e.counts() != c {
		t.Errorf("a refused view wrote something")
	}
	// Sorting and the CSV.
	p = sue.get("/dashboard/review?sort=conflicts.crn&dir=desc")
	mustStatus(t, "sorted", p, 200)
	mustContain(t, "sorted", p.body, `aria-sort="descending"`)
	rows := sue.csv("/dashboard/review.csv?table=conflicts")
	if len(rows) != 2 || rows[0][0] != "Decide" || rows[0][1] != "CRN" || rows[1][0] != "" || rows[1][1] != "A000001" || rows[1][2] != "Sam Doe" || rows[1][3] != "High RoSH" || rows[1][7] != "losing value" {
		t.Errorf("conflicts CSV = %v", rows)
	}
	rows = sue.csv("/dashboard/review.csv?table=set-aside")
	if len(rows) != 2 || rows[1][1] != "asha" || !strings.Contains(rows[1][9], "Planned type: home visit (unannounced)") {
		t.Errorf("set-aside CSV = %v", rows)
	}
	// Team B's supervisor sees team B's; the auditor everything, without forms.
	sam := e.signedIn(t, "sam")
	p = sam.get("/dashboard/review")
	mustContain(t, "sam's queue", p.body, "C000003", e.carlConflict, e.carlSetAside)
	if strings.Contains(p.body, e.ashaConflict) {
		t.Errorf("sam's queue shows team A's conflict")
	}
	// An admin's team filter keeps that team's items.
	root := e.signedIn(t, "root")
	p = root.get("/dashboard/review?team=" + e.teamB.ID)
	mustContain(t, "admin's team B", p.body, e.carlConflict, e.carlSetAside)
	if strings.Contains(p.body, e.ashaConflict) || strings.Contains(p.body, e.ashaSetAside) {
		t.Errorf("the admin's team B queue shows team A's items")
	}
	audrey := e.signedIn(t, "audrey")
	p = audrey.get("/dashboard/review")
	mustContain(t, "auditor's queue", p.body, e.ashaConflict, e.carlConflict, "You can see the queue but not decide")
	for _, path := range []string{"/dashboard/review/conflicts/" + e.ashaConflict, "/dashboard/visits/" + e.visit, "/dashboard/cases/" + e.ashaCase} {
		p = audrey.get(path)
		mustStatus(t, "auditor's "+path, p, 200)
		if strings.Contains(p.body, `name="decision"`) {
			t.Errorf("the auditor is offered a decision form on %s", path)
		}
	}
}

func TestDashboardReviewConflict(t *testing.T) {
	t.Parallel()
	e := newDashReviewEnv(t)
	sue, sam := e.signedIn(t, "sue"), e.signedIn(t, "sam")
	path := "/dashboard/review/conflicts/" + e.ashaConflict
	p := sue.get(path)
	mustStatus(t, "item", p, 200)
	mustContain(t, "item", p.body, "<h1>Sync conflict, Sam Doe (A000001)", "Both versions", "losing value", "server value", "asha, their tablet", `name="decision"`, "keep_server")
	mustStatus(t, "team B's item", sue.get("/dashboard/review/conflicts/"+e.carlConflict), 404)
	sam.get("/dashboard/review") // for sam's CSRF token
	for _, tc := range []struct {
		name   string
		b      *browser
		form   []string
		status int
		says   string
	}{
		{"another team's conflict", sam, []string{"decision", "keep_server", "reason", "x"}, 404, "Not found"},
		{"no decision", sue, []string{"reason", "x"}, 422, "Choose a decision."},
		{"a decision not offered", sue, []string{"decision", "toss", "reason", "x"}, 422, "Choose one of the decisions listed."},
		{"no reason", sue, []string{"decision", "keep_server", "reason", "  "}, 422, "Give a reason for your decision."},
		{"a reason too long", sue, []string{"decision", "keep_server", "reason", strings.Repeat("x", 1901)}, 422, "The reason is too long"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := e.counts()
			p := tc.b.decide(path, tc.form...)
			mustStatus(t, tc.name, p, tc.status)
			mustContain(t, tc.name, p.body, tc.says)
			if tc.status == 422 {
				mustContain(t, tc.name, p.body, "Nothing was recorded.", `class="field-error"`)
			}
			if e.counts() != c {
				t.Errorf("a refused decision wrote something")
			}
		})
	}
	// The form's token is checked.
	c := e.counts()
	p = sue.post(path, url.Values{"_csrf": {"forged"}, "decision": {"keep_server"}, "reason": {"x"}})
	mustStatus(t, "forged token", p, 403)
	mustContain(t, "forged token", p.body, "This form has expired")
	if e.counts() != c {
		t.Errorf("a forged form wrote something")
	}
	// The reason typed is kept when the form comes back with an error.
	p = sue.decide(path, "reason", "typed <b>once</b>")
	mustContain(t, "kept reason", p.body, "typed &lt;b&gt;once&lt;/b&gt;")

	p = sue.decide(path, "decision", "keep_server", "reason", "the later value is right", "next", "/dashboard/review")
	if p.status != 303 || p.header.Get("Location") != "/dashboard/review"+"#flash" {
		t.Fatalf("decision: %d %s\n%s", p.status, p.header.Get("Location"), p.body)
	}
	p = sue.get("/dashboard/review")
	mustContain(t, "after", p.body, `id="flash"`, "Conflict resolved: the server&#39;s value stands.")
	if strings.Contains(p.body, e.ashaConflict) {
		t.Errorf("the resolved conflict is still in the queue")
	}
	if p = sue.get("/dashboard/review"); strings.Contains(p.body, `id="flash"`) {
		t.Errorf("the flash shows twice")
	}
	rec, err := e.srv.DB().Get(context.Background(), e.admin, "conflict", e.ashaConflict)
	if err != nil || string(rec.Fields["status"]) != `"resolved"` || string(rec.Fields["resolution"]) != `"keep_server: the later value is right"` {
		t.Errorf("conflict = %v %v", rec.Fields, err)
	}
	if evs, _ := e.srv.DB().AuditByAction(context.Background(), "resolve_conflict"); len(evs) != 1 || evs[0].UserID != e.users["sue"].ID {
		t.Errorf("audit = %+v", evs)
	}
	// Deciding again: it has left the queue.
	mustStatus(t, "decided item", sue.get(path), 404)
	c = e.counts()
	p = sue.decide(path, "decision", "keep_server", "reason", "again")
	mustStatus(t, "decide twice", p, 409)
	mustContain(t, "decide twice", p.body, "Someone has already decided this item")
	if e.counts() != c {
		t.Errorf("deciding twice wrote something")
	}
}

func TestDashboardReviewSetAside(t *testing.T) {
	t.Parallel()
	e := newDashReviewEnv(t)
	sue, sam := e.signedIn(t, "sue"), e.signedIn(t, "sam")
	path := "/dashboard/review/set-aside/" + e.ashaSetAside
	p := sue.get(path)
	mustStatus(t, "item", p, 200)
	mustContain(t, "item", p.body, "B000002", "tablet of asha", "Planned type", "home visit (unannounced)", "(no such record yet)")
	mustStatus(t, "team B's item", sue.get("/dashboard/review/set-aside/"+e.carlSetAside), 404)
	// sam's team sent a change to team A's case: it cannot be applied by sam.
	samPath := "/dashboard/review/set-aside/" + e.carlSetAside
	p = sam.get(samPath)
	mustContain(t, "sam's item", p.body, "a case outside your team")
	c := e.counts()
	mustStatus(t, "no reason", sue.decide(path, "decision", "applied"), 422)
	p = sam.decide(samPath, "decision", "applied", "reason", "carl covered it")
	mustStatus(t, "apply out of scope", p, 422)
	mustContain(t, "apply out of scope", p.body, "outside your team, so it cannot be applied")
	mustStatus(t, "sam decides sue's", sam.decide(path, "decision", "dismissed", "reason", "x"), 404)
	if e.counts() != c {
		t.Errorf("refused decisions wrote something")
	}
	p = sue.decide(path, "decision", "applied", "reason", "asha covered ben's visit")
	if p.status != 303 || p.header.Get("Location") != "/dashboard/review"+"#flash" {
		t.Fatalf("apply: %d %s %s", p.status, p.header.Get("Location"), p.body)
	}
	p = sue.get("/dashboard/review")
	mustContain(t, "after", p.body, "The set-aside visit change was applied, in your name.")
	if strings.Contains(p.body, e.ashaSetAside) {
		t.Errorf("the applied change is still in the queue")
	}
	p = sam.decide(samPath, "decision", "dismissed", "reason", "wrong case")
	mustStatus(t, "dismiss", p, 303)
}

func TestDashboardReviewOversight(t *testing.T) {
	t.Parallel()
	e := newDashReviewEnv(t)
	sue := e.signedIn(t, "sue")
	path := "/dashboard/review/assessments/" + e.assessment
	mustContain(t, "item", sue.get(path).body, "<h1>Safety assessment, Sam Doe, "+ukDate(schema.DateOf(e.clock.Now().Add(-72*time.Hour))),
		"1 High St", "Refer to a senior officer", "Decision so far")
	mustContain(t, "visit item", sue.get("/dashboard/review/visits/"+e.visit).body, "<h1>Signed visit: Visit to Sam Doe, ")
	sam := e.signedIn(t, "sam")
	sam.get("/dashboard/review")
	c := e.counts()
	p := sue.decide(path, "decision", "not_approved")
	mustStatus(t, "not approved without a reason", p, 422)
	mustContain(t, "not approved without a reason", p.body, "Give a reason: one is required", `aria-invalid="true"`)
	if e.counts() != c {
		t.Errorf("a refused oversight wrote something")
	}
	mustStatus(t, "another team's assessment", sam.decide(path, "decision", "approved"), 404)
	mustStatus(t, "another team's visit", sam.decide("/dashboard/review/visits/"+e.visit, "decision", "approved"), 404)
	mustStatus(t, "a visit cannot be referred", sue.decide("/dashboard/review/visits/"+e.visit, "decision", "referred", "reason", "x"), 422)
	if e.counts() != c {
		t.Errorf("refused oversight wrote something")
	}

	// The case page offers the latest assessment's form; it goes back there.
	casePath := "/dashboard/cases/" + e.ashaCase
	p = sue.get(casePath)
	mustContain(t, "case page", p.body, `id="assessment-review"`, `action="/dashboard/review/assessments/`+e.assessment+`#decide"`)
	p = sue.decide(path, "decision", "approved", "reason", "", "next", casePath)
	if p.status != 303 || p.header.Get("Location") != casePath+"#flash" {
		t.Fatalf("approve: %d %s %s", p.status, p.header.Get("Location"), p.body)
	}
	p = sue.get(casePath)
	mustContain(t, "case page after", p.body, "Safety assessment reviewed: approved.", "approved by sue")
	rec, err := e.srv.DB().Get(context.Background(), e.admin, "safety_assessment", e.assessment)
	if err != nil || string(rec.Fields["decision"]) != `"approved"` || string(rec.Fields["decided_by"]) != `"`+e.users["sue"].ID+`"` {
		t.Errorf("assessment = %v %v", rec.Fields, err)
	}

	// The visit page offers the visit's review.
	visitPath := "/dashboard/visits/" + e.visit
	p = sue.get(visitPath)
	mustContain(t, "visit page", p.body, "No manager has reviewed this visit yet.", `action="/dashboard/review/visits/`+e.visit+`#decide"`)
	p = sue.decide("/dashboard/review/visits/"+e.visit, "decision", "exempted", "reason", "", "next", visitPath)
	mustStatus(t, "exempt without a reason", p, 422)
	p = sue.decide("/dashboard/review/visits/"+e.visit, "decision", "noted", "reason", "seen in supervision", "next", visitPath)
	if p.status != 303 || p.header.Get("Location") != visitPath+"#flash" {
		t.Fatalf("note: %d %s %s", p.status, p.header.Get("Location"), p.body)
	}
	mustContain(t, "visit page after", sue.get(visitPath).body, "Visit reviewed: noted.", "noted by sue", "seen in supervision")
	q, err := e.srv.DB().ReviewQueue(context.Background(), serverdb.ActorOf(e.users["sue"], ""), serverdb.ReviewFilter{})
	if err != nil || len(q.Visits) != 0 || len(q.Assessments) != 0 {
		t.Errorf("queue after = %+v %v", q, err)
	}
	// A next that leaves the dashboard is not followed.
	p = sue.decide("/dashboard/review/visits/"+e.visit, "decision", "approved", "next", "https://evil.example/")
	if p.status != 303 || p.header.Get("Location") != "/dashboard/"+"#flash" {
		t.Errorf("an outside next: %d %s", p.status, p.header.Get("Location"))
	}
	// An auditor cannot decide.
	audrey := e.signedIn(t, "audrey")
	audrey.get("/dashboard/review")
	c = e.counts()
	mustStatus(t, "auditor", audrey.decide(path, "decision", "approved"), 403)
	if e.counts() != c {
		t.Errorf("the auditor's decision wrote something")
	}
}

func TestDashboardReviewItemViewsAudited(t *testing.T) {
	t.Parallel()
	e := newDashReviewEnv(t)
	sue := e.signedIn(t, "sue")
	before := len(auditViews(t, e.env, "sue"))
	for _, p := range []string{"conflicts/" + e.ashaConflict, "set-aside/" + e.ashaSetAside, "visits/" + e.visit, "assessments/" + e.assessment} {
		mustStatus(t, p, sue.get("/dashboard/review/"+p), 200)
	}
	evs := auditViews(t, e.env, "sue")[before:]
	want := []string{"dashboard/review/conflict", "dashboard/review/set_aside", "dashboard/review/visit", "dashboard/review/safety_assessment"}
	if len(evs) != len(want) {
		t.Fatalf("views = %v", evs)
	}
	for i, w := range want {
		if evs[i]["view"] != w {
			t.Errorf("view %d = %v, want %s", i, evs[i]["view"], w)
		}
	}
	// A visit not signed has no review.
	draft := schema.NewID()
	if err := e.srv.DB().Seed(context.Background(), e.admin, []schema.Record{{Entity: "visit", ID: draft, CaseID: e.ashaCase,
		Fields: schema.FieldsOf(schema.Visit{OfficerID: e.users["asha"].ID, PlannedType: "office", Status: "planned"})}}); err != nil {
		t.Fatal(err)
	}
	if p := sue.get("/dashboard/visits/" + draft); strings.Contains(p.body, `name="decision"`) {
		t.Errorf("a planned visit's page offers a review")
	}
	c := e.counts()
	mustStatus(t, "a planned visit", sue.get("/dashboard/review/visits/"+draft), 404)
	// The store refuses it; a visit not signed has no review page to show
	// the error on, so the answer is the not-found page.
	mustStatus(t, "review a planned visit", sue.decide("/dashboard/review/visits/"+draft, "decision", "approved"), 404)
	mustStatus(t, "unknown kind", sue.get("/dashboard/review/cases/"+e.ashaCase), 404)
	mustStatus(t, "unknown id", sue.get("/dashboard/review/visits/"+schema.NewID()), 404)
	if e.counts() != c {
		t.Errorf("a refused view wrote something")
	}
}

func TestDashboardFreshnessPanel(t *testing.T) {
	t.Parallel()
	e := newDashReviewEnv(t)
	e.login("ben", "dev-ben") // a tablet that never synced
	sue := e.signedIn(t, "sue")
	before := len(auditViews(t, e.env, "sue"))
	p := sue.get("/dashboard/measures/freshness")
	mustStatus(t, "freshness", p, 200)
	mustContain(t, "freshness", p.body, `<span class="big">1</span> <span class="figure-text">of 2 tablets not synced for more than 7 days`,
		"set-aside changes not yet decided: <strong>1</strong>", "signed visits in the period: <strong>1</strong>", "From signing to the server: median")
	if strings.Contains(p.body, "dev-carl") {
		t.Errorf("sue's page shows team B's tablet")
	}
	// The same figures as the JSON API.
	var fr serverdb.Freshness
	e.do("GET", "/v1/compliance/freshness", nil, bearer(e.tokens["sue"])).decode(t, &fr)
	if fr.Total.StaleDevices.N != 1 || fr.Total.Devices.N != 2 || fr.Total.SetAsideOpen.N != 1 {
		t.Errorf("API: %+v", fr.Total)
	}
	rows := sue.csv("/dashboard/measures/freshness.csv?table=devices")
	if len(rows) != 3 {
		t.Fatalf("devices CSV = %v", rows)
	}
	for _, r := range rows[1:] {
		switch {
		case r[1] == "tablet of ben": // a tablet without a name: its user's, never its id
			if r[3] != "never" || r[4] != "" || r[5] != "yes" {
				t.Errorf("ben's tablet: %v", r)
			}
		case r[1] == "tablet of asha":
			if r[4] != "0" || r[5] != "no" || r[7] != "1" || r[8] != "1" {
				t.Errorf("asha's tablet: %v", r)
			}
		default:
			t.Errorf("row %v", r)
		}
	}
	evs := auditViews(t, e.env, "sue")[before:]
	if len(evs) == 0 || evs[0]["view"] != "dashboard/measure/freshness" {
		t.Fatalf("views = %v", evs)
	}
	if evs[0]["case_id"] != e.ashaCase {
		t.Errorf("audited case = %v, want the signed visit's", evs[0]["case_id"])
	}
	// A week and a day later asha's tablet is stale too.
	e.clock.Advance(8 * 24 * time.Hour)
	sue = e.signedIn(t, "sue") // the session has ended meanwhile
	mustContain(t, "a week later", sue.get("/dashboard/measures/freshness").body, `<span class="big">2</span> <span class="figure-text">of 2 tablets`)
	// The overview has its card and its column; the officer page its figures.
	p = sue.get("/dashboard/")
	mustContain(t, "overview", p.body, `id="m-freshness"`, "Data freshness", "1 of 1 stale")
	mustContain(t, "officer page", sue.get("/dashboard/officers/"+e.users["asha"].ID).body, `of 1 tablets not synced`)
}

// BenchmarkDashboardReviewReads times what the review queue and measure 9
// add to the dashboard's pages, for BenchmarkDashboardRender's team: the
// menu's count (every page), the freshness figures (every page with
// panels), the queue itself.
func BenchmarkDashboardReviewReads(b *testing.B) {
	srv, sup := synthServer(b, synth.Options{Teams: 1, OfficersPerTeam: 10, CasesPerOfficer: 50, HistoryDays: 730, Seed: 1})
	ctx, actor := context.Background(), serverdb.ActorOf(sup, "")
	b.Run("count", func(b *testing.B) {
		for b.Loop() {
			if _, err := srv.DB().ReviewCount(ctx, actor); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("freshness", func(b *testing.B) {
		for b.Loop() {
			if _, err := srv.DB().Freshness(ctx, actor, serverdb.FreshnessOptions{StaleDays: 7, From: "2026-08-26", To: "2026-11-23"}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("queue", func(b *testing.B) {
		for b.Loop() {
			if _, err := srv.DB().ReviewQueue(ctx, actor, serverdb.ReviewFilter{}); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// seedQueueVisits adds signed home visits to asha's case (high RoSH: the
// default rules queue each), one a day from 1 November 2026, and returns
// their ids, oldest first.
func (e *dashReviewEnv) seedQueueVisits(t *testing.T, n int) []string {
	t.Helper()
	var ids []string
	var recs []schema.Record
	for i := range n {
		day := time.Date(2026, 11, 1+i, 10, 0, 0, 0, time.UTC)
		v := schema.Visit{OfficerID: e.users["asha"].ID, Type: "home_announced", Status: "signed", Outcome: "completed",
			StartedAt: schema.TimestampOf(day), SignedAt: schema.TimestampOf(day.Add(time.Hour)), SignedBy: e.users["asha"].ID}
		ids = append(ids, schema.NewID())
		recs = append(recs, schema.Record{Entity: "visit", ID: ids[i], CaseID: e.ashaCase, Fields: schema.FieldsOf(v)})
	}
	if err := e.srv.DB().Seed(context.Background(), e.admin, recs); err != nil {
		t.Fatal(err)
	}
	return ids
}

// The page shows reviewPageRows of a table, oldest first among equal risk;
// the pager goes through the rest and says where it is; the all-kinds view
// links to the rest; the CSV has every row; a bad page is refused.
func TestDashboardReviewPaging(t *testing.T) {
	// Not parallel: it changes reviewPageRows, which every page of the
	// queue reads; sequential tests end before parallel ones run.
	e := newDashReviewEnv(t)
	defer func(n int) { reviewPageRows = n }(reviewPageRows)
	reviewPageRows = 2
	ids := e.seedQueueVisits(t, 3) // with the fixture's visit (three days ago): 4
	sue := e.signedIn(t, "sue")
	p := sue.get("/dashboard/review")
	mustContain(t, "all kinds", p.body, `id="more-visit"`, "Show all 4: Signed visits to review")
	p = sue.get("/dashboard/review?kind=visit")
	mustContain(t, "page 1", p.body, "Items 1 to 2 of 4", `id="page-next"`, "/dashboard/review/visits/"+ids[0], "/dashboard/review/visits/"+ids[1])
	if strings.Contains(p.body, ids[2]) || strings.Contains(p.body, `id="page-prev"`) {
		t.Error("page 1 shows the third visit, or a previous page")
	}
	if strings.Index(p.body, ids[0]) > strings.Index(p.body, ids[1]) {
		t.Error("page 1 is not oldest first")
	}
	p = sue.get("/dashboard/review?kind=visit&page=2")
	mustContain(t, "page 2", p.body, "Items 3 to 4 of 4", `id="page-prev"`, "/dashboard/review/visits/"+ids[2], "/dashboard/review/visits/"+e.visit)
	if strings.Contains(p.body, `id="page-next"`) || strings.Contains(p.body, ids[0]) {
		t.Error("page 2 offers a next page, or shows page 1's visit")
	}
	if rows := sue.csv("/dashboard/review.csv?table=visits-review&kind=visit&page=2"); len(rows) != 5 {
		t.Errorf("CSV has %d rows, want a header and 4", len(rows))
	}
	c := e.counts()
	for _, bad := range []string{"page=0", "page=x", "page=2"} {
		mustStatus(t, bad, sue.get("/dashboard/review?"+bad), 400)
	}
	if e.counts() != c {
		t.Error("a refused page wrote something")
	}
}

// Approve selected: the ticked visits, one oversight each with the one
// reason; without a reason or a tick nothing is written and the page says
// so; an auditor has no form.
func TestDashboardReviewApproveSelected(t *testing.T) {
	t.Parallel()
	e := newDashReviewEnv(t)
	ids := e.seedQueueVisits(t, 3)
	sue := e.signedIn(t, "sue")
	p := sue.get("/dashboard/review?kind=visit")
	mustContain(t, "the form", p.body, `id="bulk"`, `form="bulk"`, `value="`+ids[0]+`"`, `id="bulk-approve"`)
	if strings.Contains(sue.get("/dashboard/review").body, `form="bulk"`) {
		t.Error("the all-kinds view has tick boxes")
	}
	approve := func(kv ...string) page {
		form := url.Values{"_csrf": {sue.csrf}, "kind": {"visit"}, "next": {"/dashboard/review?kind=visit"}}
		for i := 0; i+1 < len(kv); i += 2 {
			form.Add(kv[i], kv[i+1])
		}
		return sue.post("/dashboard/review/approve", form)
	}
	for _, tc := range []struct {
		name string
		kv   []string
		says string
	}{
		{"no reason", []string{"id", ids[0]}, "Nothing was approved: give the reason"},
		{"no tick", []string{"reason", "fine"}, "Nothing was approved: tick the items"},
		{"unknown id", []string{"reason", "fine", "id", ids[0], "id", schema.NewID()}, "Nothing was approved: no visit"},
	} {
		c := e.counts()
		mustStatus(t, tc.name, approve(tc.kv...), 303)
		if e.counts() != c {
			t.Fatalf("%s: a refused approval wrote something", tc.name)
		}
		mustContain(t, tc.name, sue.get("/dashboard/review?kind=visit").body, tc.says)
	}
	mustStatus(t, "approve", approve("reason", "Read in supervision", "id", ids[0], "id", ids[2]), 303)
	p = sue.get("/dashboard/review?kind=visit")
	mustContain(t, "after", p.body, "Approved 2 signed visits, each recorded with your reason.", "Items 1 to 2 of 2")
	if strings.Contains(p.body, ids[0]) || strings.Contains(p.body, ids[2]) || !strings.Contains(p.body, ids[1]) {
		t.Error("the queue after approving")
	}
	evs, err := e.srv.DB().AuditByAction(context.Background(), "oversight")
	if err != nil || len(evs) != 2 || evs[0].RecordID != ids[0] || evs[1].RecordID != ids[2] || !strings.Contains(string(evs[1].Detail), `"reason":"Read in supervision"`) {
		t.Errorf("oversight events %+v %v", evs, err)
	}
	audrey := e.signedIn(t, "audrey")
	if strings.Contains(audrey.get("/dashboard/review?kind=visit").body, `id="bulk"`) {
		t.Error("the auditor has the approval form")
	}
	mustStatus(t, "auditor posts", audrey.post("/dashboard/review/approve", url.Values{"_csrf": {audrey.csrf}, "kind": {"visit"}, "reason": {"x"}, "id": {ids[1]}}), 403)
	// Team B's supervisor, with team A's visit: nothing approved, and the
	// answer an id that does not exist gets.
	sam := e.signedIn(t, "sam")
	sam.get("/dashboard/review?kind=visit") // the form's token
	c := e.counts()
	mustStatus(t, "another team's visit", sam.post("/dashboard/review/approve", url.Values{"_csrf": {sam.csrf}, "kind": {"visit"},
		"reason": {"x"}, "id": {ids[1]}, "next": {"/dashboard/review?kind=visit"}}), 303)
	if e.counts() != c {
		t.Fatal("another team's supervisor approved team A's visit")
	}
	if p := sam.get("/dashboard/review?kind=visit"); !strings.Contains(p.body, "Nothing was approved: no visit &#34;"+ids[1]+"&#34;. Reload the queue") {
		t.Errorf("another team's visit: want the notice a missing visit gets\n%s", p.body)
	}
}

// The menu's count follows every change: a decision that writes no record
// (a set-aside change dismissed), one that does, and a new conflict pushed
// by a tablet.
func TestDashboardReviewMenuCount(t *testing.T) {
	t.Parallel()
	e := newDashReviewEnv(t)
	sue := e.signedIn(t, "sue")
	countRE := regexp.MustCompile(`id="queue-count">(\d+)<`)
	menu := func() string {
		t.Helper()
		m := countRE.FindStringSubmatch(sue.get("/dashboard/overdue").body)
		if m == nil {
			t.Fatal("no count in the menu")
		}
		return m[1]
	}
	if n := menu(); n != "4" {
		t.Fatalf("count %s, want 4", n)
	}
	mustStatus(t, "dismiss", sue.decide("/dashboard/review/set-aside/"+e.ashaSetAside, "decision", "dismissed", "reason", "wrong case"), 303)
	if n := menu(); n != "3" {
		t.Errorf("after a dismissal: %s, want 3", n)
	}
	mustStatus(t, "approve", sue.decide("/dashboard/review/assessments/"+e.assessment, "decision", "approved"), 303)
	if n := menu(); n != "2" {
		t.Errorf("after an approval: %s, want 2", n)
	}
	e.tokens["ben"] = e.login("ben", "dev-ben").AccessToken
	e.makeConflict("ben", e.benCase)
	if n := menu(); n != "3" {
		t.Errorf("after a new conflict: %s, want 3", n)
	}
}
