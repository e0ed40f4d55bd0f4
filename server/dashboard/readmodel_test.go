package dashboard

import (
	"context"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"doorstep/schema"
	"doorstep/schema/synth"
	"doorstep/server"
	"doorstep/server/compliance"
	"doorstep/server/serverdb"

	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"
)

// TestTrendsFromTheReadModelMatchTheGo is the oracle of decision 0058:
// the overview's panels built with the weekly trends the read model
// answers (readTrends) and built wholly in Go over the decoded records
// show the same figures, trends and charts, for a supervisor, an admin
// over every team, an admin's team filter and an officer filter, on a
// synthetic service. A RoSH or flag filter keeps every trend in Go.
func TestTrendsFromTheReadModelMatchTheGo(t *testing.T) {
	if testing.Short() {
		t.Skip("-short (CI's race pass): every panel built both ways for four scopes takes minutes under -race; the plain pass runs it")
	}
	t.Parallel()
	ctx := context.Background()
	s, cases := oracleCases(t)
	shown := 0
	for _, c := range cases {
		f := c.f
		in, shares := oracleInput(t, s, c)
		if got := slices.Sorted(maps.Keys(shares)); !slices.Equal(got, compliance.WeeklyShares()) {
			t.Fatalf("%s: the read model gave the trends of %v, want %v", c.name, got, compliance.WeeklyShares())
		}
		fromRM := buildPanels(&panelCtx{In: in, F: &f, Weekly: true, shares: shares})
		inGo := buildPanels(&panelCtx{In: in, F: &f, Weekly: true})
		for i, p := range panels {
			a, b := fromRM[i], inGo[i]
			if got, want := viewText(a), viewText(b); got != want {
				t.Errorf("%s: panel %s from the read model\n%s\nin Go\n%s", c.name, p.Slug, got, want)
			}
			if _, ok := shares[p.Slug]; ok {
				for _, pt := range b.Trend {
					if pt.Value != nil {
						shown++
					}
				}
			}
		}
	}
	if shown == 0 {
		t.Error("no week of a trend from the read model had a figure: the comparison tested nothing")
	}
	f := filters{From: "2026-08-26", To: "2026-11-23", AsOf: "2026-11-23", Today: "2026-11-23", Risk: "high"}
	admin := serverdb.Actor{UserID: "admin", Role: schema.RoleAdmin}
	if shares, err := readModelTrends(ctx, s, admin, &f, compliance.WeeklyShares()); err != nil || shares != nil {
		t.Errorf("with a RoSH filter: trends %v, %v; want none from the read model", shares, err)
	}
}

// readModelTrends reads from the read model the weekly trends of slugs
// (of compliance.WeeklyShares) for the filters f, as a counted page's
// panels show them: none when they choose a RoSH level or a flag, which
// the read model's figures do not filter by. Each point is the figure the
// Go measure gives for the week (decision 0058).
func readModelTrends(ctx context.Context, s *site, actor serverdb.Actor, f *filters, slugs []string) (map[string][]point, error) {
	if f.Risk != "" || f.Flag != "" {
		return nil, nil
	}
	out := map[string][]point{}
	weeks := f.weeks()
	for _, slug := range slugs {
		figs, err := s.comp.WeeklyShare(ctx, actor, slug, f.Officer, f.Team, weeks, f.AsOf)
		if err != nil {
			return nil, err
		}
		out[slug] = sharePoints(weeks, figs)
	}
	return out, nil
}

// A page built in Go (the overview while countOverview is off, a
// measure's, an officer's, the print page) computes every weekly trend
// over its decoded records and reads none from the read model (decision
// 0095: measures 1 and 4's statements cost more than their Go trends once
// the records are read); a counted page reads every trend its panels'
// Counts show. Before 0095 a page in Go read measures 1 and 4's.
func TestPageInGoReadsNoTrendFromTheReadModel(t *testing.T) {
	t.Parallel()
	srv, sup := synthServer(t, synth.Options{Teams: 1, OfficersPerTeam: 2, CasesPerOfficer: 6, HistoryDays: 200, Seed: 7})
	s := newSite(srv)
	actor := serverdb.Actor{UserID: sup.ID, Role: sup.Role, TeamID: sup.TeamID}
	f := filters{From: "2026-08-26", To: "2026-11-23", AsOf: "2026-11-23", Today: "2026-11-23"}
	app := fiber.New()
	for _, counted := range []bool{false, true} {
		c := app.AcquireCtx(&fasthttp.RequestCtx{})
		in, err := s.comp.InputOf(context.Background(), actor, compliance.Narrow{})
		if err != nil {
			t.Fatal(err)
		}
		pc, err := s.newPanelCtx(c, actor, f.apply(in), &f, true, counted, panels...)
		if err != nil {
			t.Fatal(err)
		}
		if err := pc.wait(); err != nil {
			t.Fatal(err)
		}
		app.ReleaseCtx(c)
		got := slices.Sorted(maps.Keys(pc.shares))
		want := []string{}
		if counted {
			want = slices.Sorted(slices.Values(compliance.WeeklyShares()))
		}
		if !slices.Equal(got, want) {
			t.Errorf("counted %v: trends %v read from the read model, want %v", counted, got, want)
		}
	}
}

// TestCountedPanelsMatchTheGo is the oracle of decision 0065: the
// overview's panels the read model answers whole (panel.Counts: measures
// 1, 4, 6, 7 and the exemptions) built from it show what the same panels built in Go over the
// decoded records show (figures, what is kept apart, headline beside the
// previous period, trend, bars, the officers' table's cells, charts) and
// cover the same cases (the audit), on the oracles' overviews. A RoSH or
// flag filter builds every panel in Go.
func TestCountedPanelsMatchTheGo(t *testing.T) {
	if testing.Short() {
		t.Skip("-short (CI's race pass): six overviews built both ways take minutes under -race; the plain pass runs it")
	}
	t.Parallel()
	ctx := context.Background()
	s, cases := oracleCases(t)
	var counted []string
	for _, p := range panels {
		if p.Counts != nil {
			counted = append(counted, p.Slug)
		}
	}
	if !slices.Equal(counted, []string{"first-home-visits", "overdue", "contacts", "enquiries", "households", "interventions", "reviews", "workload", "freshness", "exemptions", "risk-assessment-qa"}) {
		t.Fatalf("the panels with a Counts are %v", counted)
	}
	shown, rated := 0, 0
	for _, c := range cases {
		f := c.f
		in, _ := oracleInput(t, s, c)
		counts, err := s.newPanelCounts(ctx, c.actor, &f, true)
		if err != nil {
			t.Fatal(err)
		}
		// The trends as the overview reads them: on its one snapshot with
		// its panels (decision 0072); in Go, each week's measure.
		shares, err := counts.shares(panels)
		if err != nil || len(shares) != len(compliance.WeeklyShares()) {
			t.Fatalf("%s: the overview's trends %v, %v", c.name, shares, err)
		}
		pc := &panelCtx{In: in, F: &f, Weekly: true, shares: shares, counts: counts}
		goPC := &panelCtx{In: in, F: &f, Weekly: true}
		// Measure 9's store read, as the page reads it: its signed visits
		// are filtered by the page's cases, from the read model on a
		// counted page (decision 0075).
		opts := serverdb.FreshnessOptions{StaleDays: server.DefaultStaleDays, OfficerID: f.Officer, From: f.From, To: f.To}
		fr, err := s.db.Freshness(ctx, c.actor, opts)
		if err != nil {
			t.Fatal(err)
		}
		before, err := s.before.visits(ctx, s.db, c.actor, opts)
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range []*panelCtx{pc, goPC} {
			x.fresh = &freshRead{fr: &fr, before: before, done: make(chan struct{})}
			close(x.fresh.done)
		}
		// Measure 10's ratings and pool, as qaPanelInput reads them.
		ratings, err := s.comp.QARatingsFromReadModel(ctx, c.actor)
		if err != nil {
			t.Fatal(err)
		}
		pool, err := s.comp.Input(ctx, c.actor, "")
		if err != nil {
			t.Fatal(err)
		}
		goPC.QA = &compliance.QAInput{Ratings: ratings, Pool: pool.Cases}
		rated += len(ratings)
		fromRM := buildPanels(pc)
		if err := pc.wait(); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		inGo := buildPanels(goPC)
		// The officers' table: its caseloads from the read model
		// (compliance.Overview.Caseload) and every panel's cells.
		if got, want := fmt.Sprint(officersTable(pc, fromRM).Rows), fmt.Sprint(officersTable(goPC, inGo).Rows); got != want || len(in.Cases) == 0 {
			t.Errorf("%s: the officers' table from the read model\n%s\nin Go (%d cases)\n%s", c.name, got, len(in.Cases), want)
		}
		for i, p := range panels {
			a, b := fromRM[i], inGo[i]
			if got, want := viewText(a), viewText(b); got != want {
				t.Errorf("%s: panel %s from the read model\n%s\nin Go\n%s", c.name, p.Slug, got, want)
			}
			if got, want := slices.Sorted(slices.Values(a.CaseIDs)), slices.Sorted(slices.Values(b.CaseIDs)); !slices.Equal(got, want) {
				t.Errorf("%s: panel %s covers %d cases from the read model, %d in Go:\n%v\n%v", c.name, p.Slug, len(got), len(want), got, want)
			}
			if p.Counts == nil {
				continue
			}
			if a.Table != nil {
				t.Errorf("%s: panel %s has a table: it was built in Go", c.name, p.Slug)
			}
			if len(b.CaseIDs) > 0 && len(b.ByOfficer) > 0 {
				shown++
			}
		}
	}
	if shown == 0 {
		t.Error("no panel from the read model had a case: the comparison tested nothing")
	}
	if rated == 0 {
		t.Error("no QA rating: measure 10's comparison tested only its sample")
	}
	if everyPanelCounted([]*panel{panelBySlug("enquiries"), {Slug: "not-counted"}}) || !everyPanelCounted([]*panel{panelBySlug("enquiries")}) {
		t.Error("everyPanelCounted: the overview must be built from the read model only when every panel is")
	}
	f := filters{From: "2026-08-26", To: "2026-11-23", AsOf: "2026-11-23", Risk: "high"}
	pc := &panelCtx{F: &f, counts: &panelCounts{ctx: ctx, comp: s.comp}}
	for _, p := range panels {
		if pc.counted(p) {
			t.Errorf("with a RoSH filter, panel %s is built from the read model", p.Slug)
		}
	}
}

// oracleInput is c's records, filtered as the page filters them, and its
// weekly trends from the read model as a page built from it reads them.
func oracleInput(t *testing.T, s *site, c oracleCase) (compliance.Input, map[string][]point) {
	t.Helper()
	ctx := context.Background()
	in, err := s.comp.InputOf(ctx, c.actor, compliance.Narrow{TeamID: c.f.Team})
	if err != nil {
		t.Fatal(err)
	}
	shares, err := readModelTrends(ctx, s, c.actor, &c.f, compliance.WeeklyShares())
	if err != nil {
		t.Fatal(err)
	}
	return c.f.apply(in), shares
}

// oracleCase is one overview the read model's panels are compared on.
type oracleCase struct {
	name  string
	actor serverdb.Actor
	f     filters
}

// oracleCases is the oracles' synthetic service (2 teams, 3 officers
// each, 15 cases an officer) and the overviews they compare: a
// supervisor's over a quarter and a year, an admin's over every team
// now and in an older period, an admin's team filter and a supervisor's
// officer filter.
func oracleCases(t *testing.T) (*site, []oracleCase) {
	t.Helper()
	ctx := context.Background()
	srv, sup := synthServer(t, synth.Options{Teams: 2, OfficersPerTeam: 3, CasesPerOfficer: 15, HistoryDays: 400, Seed: 5})
	s := newSite(srv)
	users, err := srv.DB().ListUsers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var officer schema.User
	for _, u := range users {
		if u.Role == schema.RoleOfficer && u.TeamID == sup.TeamID {
			officer = u
		}
	}
	admin := serverdb.Actor{UserID: "admin", Role: schema.RoleAdmin}
	rateForQA(t, srv.DB(), admin, sup.ID)
	period := func(from, to schema.Date) filters { return filters{From: from, To: to, AsOf: to, Today: "2026-11-23"} }
	return s, []oracleCase{
		{"supervisor", serverdb.ActorOf(sup, ""), period("2026-08-26", "2026-11-23")},
		{"supervisor, a year", serverdb.ActorOf(sup, ""), period("2025-11-24", "2026-11-23")},
		{"admin", admin, period("2026-08-26", "2026-11-23")},
		{"admin, an older period", admin, period("2026-03-01", "2026-05-31")},
		{"admin, team filter", admin, filters{From: "2026-08-26", To: "2026-11-23", AsOf: "2026-11-23", Team: sup.TeamID}},
		{"supervisor, officer filter", serverdb.ActorOf(sup, ""), filters{From: "2026-08-26", To: "2026-11-23", AsOf: "2026-11-23", Officer: officer.ID}},
	}
}

// viewText is what a built panel shows on the overview: its figures, what
// is kept apart, its notes, headline, trend, bars and charts.
func viewText(v *panelView) string {
	pct := func(p *float64) string {
		if p == nil {
			return "nil"
		}
		return fmt.Sprint(*p)
	}
	var figs []string
	for _, f := range v.Figures {
		figs = append(figs, fmt.Sprintf("%s: %s (%s) too few %v", f.Label, f.Text(), pct(f.Percent), f.TooFew))
	}
	h := "none"
	if x := v.Headline; x != nil {
		h = fmt.Sprintf("%d of %d (%s) %s; before %d of %d (%s) %s", x.Numerator, x.Denominator, pct(x.Percent), x.Status,
			x.Previous.Numerator, x.Previous.Denominator, pct(x.Previous.Percent), x.Previous.Status)
	}
	return fmt.Sprintf("figures %v\napart %v\nnotes %v\nheadline %s\ntrend %v\nbars %v\nby officer %v\n%s\n%s", figs, v.Apart, v.Notes, h,
		pointsText(v.Trend), pointsText(v.Officers), v.ByOfficer, v.TrendSVG, v.BarsSVG)
}

// BenchmarkTrendsReadModel compares the two ways of measure 1's and 4's
// weekly trends on the overview of BenchmarkDashboardRender's team (500
// cases, 90 days, 13 weeks): "go" calls each measure once per week over
// the decoded records, as a page with a RoSH or flag filter does (the
// records' read not counted); "read-model" is readModelTrends, the four
// GROUP BY queries by week.
func BenchmarkTrendsReadModel(b *testing.B) {
	ctx := context.Background()
	s, actor, f, in := benchOverview(b)
	compliance.FirstHomeVisits(in, f.period(), f.AsOf) // the as-of day's requirements, as the page's figures leave them
	b.Run("go", func(b *testing.B) {
		for b.Loop() {
			for _, w := range f.weeks() {
				compliance.FirstHomeVisits(in, w, f.AsOf)
				compliance.Enquiries(in, w, f.AsOf)
			}
		}
	})
	b.Run("read-model", func(b *testing.B) {
		for b.Loop() {
			if _, err := readModelTrends(ctx, s, actor, f, []string{"first-home-visits", "enquiries"}); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkCountedPanels compares the two ways of the panels the read
// model answers whole (panel.Counts: measures 1, 4, 6, 7 and the
// exemptions) on the overview of BenchmarkDashboardRender's team (500
// cases, 90 days, 13 weeks): "go" builds them over the decoded records
// with their trends in Go (the records' read not counted), "read-model"
// builds them from the read model with their trends (decision 0065).
func BenchmarkCountedPanels(b *testing.B) {
	ctx := context.Background()
	s, actor, f, in := benchOverview(b)
	var counted []*panel
	for _, p := range panels {
		if p.Counts != nil {
			counted = append(counted, p)
		}
	}
	b.Run("go", func(b *testing.B) {
		for b.Loop() {
			pc := &panelCtx{In: in, F: f, Weekly: true}
			for _, p := range counted {
				buildPanel(p, pc)
			}
		}
	})
	b.Run("read-model", func(b *testing.B) {
		for b.Loop() {
			counts, err := s.newPanelCounts(ctx, actor, f, true)
			if err != nil {
				b.Fatal(err)
			}
			shares, err := counts.shares(counted)
			if err != nil {
				b.Fatal(err)
			}
			pc := &panelCtx{In: in, F: f, Weekly: true, shares: shares, counts: counts}
			for _, p := range counted {
				buildPanel(p, pc)
			}
			if err := pc.wait(); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// benchOverview is BenchmarkDashboardRender's team (500 cases, two years),
// its supervisor, the overview's filters (90 days, 13 weeks) and the
// team's decoded records.
func benchOverview(b *testing.B) (*site, serverdb.Actor, *filters, compliance.Input) {
	b.Helper()
	srv, sup := synthServer(b, synth.Options{Teams: 1, OfficersPerTeam: 10, CasesPerOfficer: 50, HistoryDays: 730, Seed: 1})
	s, actor := newSite(srv), serverdb.ActorOf(sup, "")
	in, err := srv.Compliance().InputOf(context.Background(), actor, compliance.Narrow{})
	if err != nil {
		b.Fatal(err)
	}
	return s, actor, &filters{From: "2026-08-26", To: "2026-11-23", AsOf: "2026-11-23", Today: "2026-11-23"}, in
}

// rateForQA writes DA risk assessment ratings (measure 10) by the
// supervisor by: of every third case of the service, sufficient or
// insufficient on a day of 2025 or 2026, every other one rated again
// three weeks later the other way (the latest counts).
func rateForQA(t testing.TB, db *serverdb.DB, admin serverdb.Actor, by string) {
	t.Helper()
	ctx := context.Background()
	in, err := compliance.NewService(db, nil).Input(ctx, admin, "")
	if err != nil {
		t.Fatal(err)
	}
	var recs []schema.Record
	rate := func(caseID, decision string, when time.Time) {
		o := schema.Oversight{SubjectEntity: "case", SubjectID: caseID, Aspect: schema.AspectDARiskAssessment, Decision: decision,
			By: by, At: schema.Timestamp(when.Format(time.RFC3339))}
		if decision == compliance.QAInsufficient {
			o.Reason = "no police check made"
		}
		recs = append(recs, schema.Record{Entity: "oversight", ID: schema.NewID(), CaseID: caseID, Fields: schema.FieldsOf(o)})
	}
	both := []string{compliance.QASufficient, compliance.QAInsufficient}
	for i, cr := range in.Cases {
		if i%3 != 0 {
			continue
		}
		day := time.Date(2025, 11, 1, 9, 0, 0, 0, time.UTC).AddDate(0, 0, (i*11)%385)
		rate(cr.Case.ID, both[i/3%2], day)
		if i%2 == 0 {
			rate(cr.Case.ID, both[(i/3+1)%2], day.AddDate(0, 0, 21))
		}
	}
	if err := db.Seed(ctx, serverdb.Actor{UserID: "setup", Role: schema.RoleAdmin}, recs); err != nil {
		t.Fatal(err)
	}
}

// TestCountedOverviewPage is the overview built wholly from the read
// model (countOverview, dashLoadCounted: the records not read) against
// the overview in Go, as a supervisor sees it: the same page, every
// panel's figures, trends and bars and the officers' table; and with a
// RoSH filter, which the read model does not filter by, the same too.
func TestCountedOverviewPage(t *testing.T) {
	if testing.Short() {
		t.Skip("-short (CI's race pass): it switches countOverview, which the parallel tests read; the plain pass runs it")
	}
	srv, sup := synthServer(t, synth.Options{Teams: 2, OfficersPerTeam: 2, CasesPerOfficer: 12, HistoryDays: 400, Seed: 7})
	rateForQA(t, srv.DB(), serverdb.Actor{UserID: "admin", Role: schema.RoleAdmin}, sup.ID)
	tok, err := newSite(srv).dashSessionToken(sup)
	if err != nil {
		t.Fatal(err)
	}
	page := func(path string, counted bool) string {
		countOverview = counted
		defer func() { countOverview = false }()
		return regexp.MustCompile(`name="_csrf" value="[^"]*"`).ReplaceAllString(string(dashGet(t, srv, tok, path)), "")
	}
	for _, path := range []string{"/dashboard/", "/dashboard/?risk=high"} {
		inGo, counted := page(path, false), page(path, true)
		if counted != inGo {
			t.Errorf("%s from the read model differs from the page in Go:\n%s", path, firstDiff(counted, inGo))
		}
		if !strings.Contains(inGo, "Visits due in the next 4 weeks") {
			t.Errorf("%s: no workload panel: the comparison tested nothing", path)
		}
	}
}

// firstDiff is where a and b part, with some of each around it.
func firstDiff(a, b string) string {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	return fmt.Sprintf("...%s\n---\n...%s", a[max(0, i-200):min(len(a), i+200)], b[max(0, i-200):min(len(b), i+200)])
}
