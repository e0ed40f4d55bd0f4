package dashboard

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"doorstep/internal/testkit"
	"doorstep/schema"
	"doorstep/schema/synth"
	"doorstep/server/compliance"
	"doorstep/server/serverdb"

	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"
)

// visitsOf keeps, in their order, the signed visits of the cases asked
// for, as the appends it replaced did (decision 0108); given visits all of
// those cases, it gives the list itself rather than a copy, and otherwise
// a list made to its count.
func TestVisitsOfKeepsTheCasesInOrder(t *testing.T) {
	var vs []serverdb.VisitLatency
	for i := range 300 {
		vs = append(vs, serverdb.VisitLatency{VisitID: fmt.Sprintf("v%03d", i), CaseID: fmt.Sprintf("c%d", i%7), Seconds: float64(i * 13 % 101)})
	}
	appended := func(in map[string]bool) []serverdb.VisitLatency {
		var out []serverdb.VisitLatency
		for _, v := range vs {
			if in[v.CaseID] {
				out = append(out, v)
			}
		}
		return out
	}
	all := map[string]bool{}
	for i := range 7 {
		all[fmt.Sprintf("c%d", i)] = true
	}
	for _, in := range []map[string]bool{all, {"c1": true, "c4": true}, {"c6": true}, {"other": true}, {}} {
		got, want := visitsOf(vs, in), appended(in)
		if !slices.Equal(got, want) {
			t.Errorf("cases %v: %d visits, want %d, or not in order", in, len(got), len(want))
		}
		if len(want) == len(vs) && &got[0] != &vs[0] {
			t.Errorf("cases %v: every visit kept, but copied", in)
		}
		if len(want) < len(vs) && cap(got) != len(want) {
			t.Errorf("cases %v: %d visits in a list of %d places", in, len(got), cap(got))
		}
	}
	if got := visitsOf(nil, all); len(got) != 0 {
		t.Errorf("no visits: got %d", len(got))
	}
}

// TestMeasure9ReadBesideTheRecords: the overview starts measure 9's read
// (the store's Freshness and the previous period's signed visits) once
// its filters are read, beside the records' load rather than after it
// (decision 0116). With the load held waiting for its cases (another job
// holds the whole budget of cases in flight), measure 9's previous period
// is read all the same; once the budget is given back, the page is built
// with it. Before, measure 9 was read only once the records were loaded:
// it failed.
func TestMeasure9ReadBesideTheRecords(t *testing.T) {
	t.Parallel()
	srv, sup := synthServer(t, synth.Options{Teams: 1, OfficersPerTeam: 2, CasesPerOfficer: 6, HistoryDays: 200, Seed: 7})
	s := newSite(srv)
	ctx := context.Background()
	admin := serverdb.Actor{UserID: "setup", Role: schema.RoleAdmin}
	ids, err := s.db.ScopeCases(ctx, admin, serverdb.ScopeNarrow{})
	if err != nil {
		t.Fatal(err)
	}
	s.comp.MaxJobs, s.comp.MaxCasesInFlight, s.comp.JobWait = 2, len(ids), time.Minute
	job, release, err := s.comp.Job(ctx)
	if err != nil {
		t.Fatal(err)
	}
	released := false
	defer func() {
		if !released {
			release()
		}
	}()
	if _, err := s.comp.InputOf(job, admin, compliance.Narrow{}); err != nil { // holds every case until released
		t.Fatal(err)
	}
	app := fiber.New()
	c := app.AcquireCtx(&fasthttp.RequestCtx{})
	defer app.ReleaseCtx(c)
	c.Locals("dash", &dashSession{user: sup})
	type page struct {
		pp  *panelsPage
		err error
	}
	done := make(chan page, 1)
	go func() {
		pp, err := s.allPanels(c, false)
		done <- page{pp, err}
	}()
	// Both, in either order: the page's load may take its job after measure
	// 9 is read (CI saw it still taking it). The records cannot load while
	// the cases are held, so measure 9 read before the release was read
	// without them.
	testkit.WaitFor(t, 30*time.Second, "measure 9's previous period read, and the page's load waiting for its cases", func() bool {
		s.before.mu.Lock()
		defer s.before.mu.Unlock()
		return len(s.before.m) > 0 && s.comp.JobStats().Waiting == 1
	})
	if st := s.comp.JobStats(); st.Waiting != 1 || st.Running != 2 {
		t.Fatalf("the page's load is not waiting for its cases: %+v", st)
	}
	release()
	released = true
	p := <-done
	if p.err != nil {
		t.Fatal(p.err)
	}
	if p.pp.pc.Fresh() == nil || len(p.pp.pc.In.Cases) == 0 {
		t.Fatalf("the page's measure 9 %v, its cases %d", p.pp.pc.Fresh(), len(p.pp.pc.In.Cases))
	}
}

// TestPagesWithoutPanelTablesBuildNone: the overview (and the print page,
// through allPanels) shows no panel's table, so its panels leave them out
// (decision 0116); a measure's page, which shows it, still has it.
// Before, the overview built and dropped every panel's table: it failed.
func TestPagesWithoutPanelTablesBuildNone(t *testing.T) {
	t.Parallel()
	srv, sup := synthServer(t, synth.Options{Teams: 1, OfficersPerTeam: 2, CasesPerOfficer: 6, HistoryDays: 200, Seed: 7})
	s := newSite(srv)
	app := fiber.New()
	c := app.AcquireCtx(&fasthttp.RequestCtx{})
	defer app.ReleaseCtx(c)
	c.Locals("dash", &dashSession{user: sup})
	pp, err := s.allPanels(c, false)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range pp.views {
		if v.Table != nil {
			t.Errorf("the overview's %s panel built its table (%d rows)", v.Panel.Slug, len(v.Table.Rows))
		}
	}
	actor, f, in, err := s.dashLoad(c)
	if err != nil {
		t.Fatal(err)
	}
	p := panelBySlug("contacts")
	pc, err := s.newPanelCtx(c, actor, in, f, true, false, p)
	if err != nil {
		t.Fatal(err)
	}
	if v := buildPanel(p, pc); v.Table == nil || len(v.Table.Rows) == 0 {
		t.Errorf("the contacts measure's page has no table: %+v", v.Table)
	}
	if err := pc.wait(); err != nil {
		t.Fatal(err)
	}
}
