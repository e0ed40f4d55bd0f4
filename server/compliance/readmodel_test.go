package compliance_test

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"testing"
	"time"

	"doorstep/internal/testkit"
	"doorstep/schema"
	"doorstep/schema/policy"
	"doorstep/schema/synth"
	"doorstep/server/compliance"
	"doorstep/server/serverdb"
	"doorstep/server/serverdb/serverdbtest"
)

// fig is one figure of one set of cases, as either side counts it.
type fig struct {
	rows   int
	cases  []string
	max    int
	byWeek [serverdb.WorkloadWeeks]int
}

// goFigures are a Go report's figures by figure name, then by group:
// "" for the totals, "team:<id>" and "officer:<id>".
type goFigures map[string]map[string]fig

func (g goFigures) put(name, group string, f fig) {
	if g[name] == nil {
		g[name] = map[string]fig{}
	}
	if f.cases == nil {
		f.cases = []string{}
	}
	g[name][group] = f
}

func idsFig(x compliance.IDs) fig { return fig{rows: x.N, cases: x.CaseIDs} }

func overdueFigures(rep *compliance.OverdueReport) goFigures {
	g := goFigures{}
	add := func(group string, f compliance.OverdueFigures) {
		g.put("cases", group, fig{rows: f.Requirements, cases: f.Cases.CaseIDs, max: f.MaxDaysOverdue})
	}
	add("", rep.Totals)
	for _, b := range rep.Teams {
		add("team:"+b.ID, b.F)
	}
	for _, b := range rep.Officers {
		add("officer:"+b.ID, b.F)
	}
	return g
}

func workloadFigures(rep *compliance.WorkloadReport) goFigures {
	g := goFigures{}
	add := func(group string, f compliance.WorkloadFigures) {
		g.put("caseload", group, idsFig(f.Caseload))
		g.put("da_cases", group, idsFig(f.DACases))
		g.put("high_rosh", group, idsFig(f.HighRoSH))
		g.put("not_started", group, idsFig(f.NotStarted))
		g.put("due_cases", group, fig{rows: f.Due, cases: f.DueCases.CaseIDs, byWeek: f.ByWeek})
		g.put("overdue_cases", group, fig{rows: f.Overdue, cases: f.OverdueCases.CaseIDs})
		g.put("planned", group, fig{rows: f.Planned.N, cases: f.Planned.CaseIDs})
	}
	add("", rep.Totals)
	for _, b := range rep.Teams {
		add("team:"+b.ID, b.F)
	}
	for _, b := range rep.Officers {
		add("officer:"+b.ID, b.F)
	}
	return g
}

func firstVisitFigures(rep *compliance.FirstVisitReport) goFigures {
	g := goFigures{}
	add := func(group string, f compliance.FirstVisitFigures) {
		for name, x := range map[string]compliance.IDs{"cases": f.Cases, "denominator": f.Denominator, "numerator": f.Numerator,
			"met_late": f.MetLate, "missed": f.Missed, "not_yet_due": f.NotYetDue, "not_yet_due_visited": f.NotYetDueVisited,
			"exempted": f.Exempted, "cancelled": f.Cancelled, "no_requirement": f.NoRequirement,
			"safety_not_approved": f.SafetyNotApproved, "safety_exempted": f.SafetyExempted,
			"visited_at_all.numerator": f.VisitedAtAll.Numerator, "visited_at_all.denominator": f.VisitedAtAll.Denominator} {
			g.put(name, group, idsFig(x))
		}
	}
	add("", rep.Totals)
	for _, b := range rep.Teams {
		add("team:"+b.ID, b.F)
	}
	for _, b := range rep.Officers {
		add("officer:"+b.ID, b.F)
	}
	return g
}

// sqlFigure is one figure counted by the read model: the totals and each
// team's and officer's, from FigureGroups, and the totals' case list
// read page by page with FigureCases.
func sqlFigure(t *testing.T, db *serverdb.DB, actor serverdb.Actor, q serverdb.FigureQuery) map[string]fig {
	t.Helper()
	ctx := context.Background()
	groups, err := db.FigureGroups(ctx, actor, q)
	if err != nil {
		t.Fatalf("FigureGroups %s.%s: %v", q.Measure, q.Figure, err)
	}
	out := map[string]fig{}
	sum := func(key string, gr serverdb.FigureGroup) {
		f := out[key]
		f.rows += gr.Rows
		f.max = max(f.max, gr.Max)
		for i, n := range gr.ByWeek {
			f.byWeek[i] += n
		}
		out[key] = f
	}
	counts := map[string]int{}
	for _, gr := range groups {
		for _, key := range []string{"", "team:" + gr.TeamID, "officer:" + gr.OfficerID} {
			sum(key, gr)
			counts[key] += gr.Cases
		}
	}
	var all []string
	for after := ""; ; {
		page, err := db.FigureCases(ctx, actor, q, after, 37)
		if err != nil {
			t.Fatalf("FigureCases %s.%s: %v", q.Measure, q.Figure, err)
		}
		all = append(all, page...)
		if len(page) < 37 {
			break
		}
		after = page[len(page)-1]
	}
	tot := out[""]
	tot.cases = all
	if tot.cases == nil {
		tot.cases = []string{}
	}
	out[""] = tot
	for key, f := range out {
		if key != "" {
			f.cases = make([]string, counts[key]) // compared by count
			out[key] = f
		}
	}
	return out
}

// compareFigure holds the read model's figure to the Go measure's: the
// same totals and case list, and the same count for every team and
// officer the Go measure counts anything for.
func compareFigure(t *testing.T, label string, want, got map[string]fig) {
	t.Helper()
	for key, w := range want {
		g := got[key]
		if key == "" {
			if !slices.Equal(w.cases, g.cases) {
				t.Errorf("%s totals: the read model lists %d cases, the Go measure %d (%v vs %v)", label, len(g.cases), len(w.cases),
					diff(g.cases, w.cases), diff(w.cases, g.cases))
			}
		} else if len(w.cases) != len(g.cases) {
			t.Errorf("%s %s: the read model counts %d cases, the Go measure %d", label, key, len(g.cases), len(w.cases))
		}
		if w.rows != g.rows || w.max != g.max || w.byWeek != g.byWeek {
			t.Errorf("%s %s: the read model says rows %d, max %d, by week %v; the Go measure %d, %d, %v", label, key,
				g.rows, g.max, g.byWeek, w.rows, w.max, w.byWeek)
		}
	}
	for key, g := range got {
		if _, ok := want[key]; !ok && (g.rows > 0 || len(g.cases) > 0) {
			t.Errorf("%s %s: the read model counts %d rows where the Go measure has no such group", label, key, g.rows)
		}
	}
}

func diff(a, b []string) []string {
	var out []string
	for _, x := range a {
		if !slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}

func TestMain(m *testing.M) {
	code := m.Run()
	serverdbtest.RemoveTemplates()
	os.Exit(code)
}

// readModelService loads a synthetic service (several teams, hundreds of
// cases) into a store, with amendments made to some signed visits after
// the fact, the way a supervisor corrects one.
//
// It is built once a run and copied for each test (serverdbtest.Copy):
// building it took each of nine tests 15-20 s on a loaded machine.
//
// The tests over it compare every figure both ways, a minute of CPU in
// all: with -short (CI's race-detector pass, where they take ten times as
// long and test no concurrency) they are skipped; the plain run of the
// suite runs them.
func readModelService(t testing.TB) (*serverdb.DB, *synth.Dataset) {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: the read model's checks over the synthetic service run without -short (go test ./...)")
	}
	path := serverdbtest.Copy(t, "compliance's synthetic service", buildReadModelService)
	db, err := serverdb.Open(context.Background(), path, serverdb.Options{Now: testkit.NewClock(synth.DefaultNow.Add(4 * time.Hour)).Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db, readModelDataset
}

// readModelDataset is the synthetic service readModelService's store
// holds, set when it is built (once a run); tests read it, never change it.
var readModelDataset *synth.Dataset

// buildReadModelService makes readModelService's store at path, once a
// run (serverdbtest.Copy): every test opens a copy of it.
func buildReadModelService(t testing.TB, path string) {
	ctx := context.Background()
	clock := testkit.NewClock(synth.DefaultNow.Add(4 * time.Hour))
	db, err := serverdb.Open(ctx, path, serverdb.Options{Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ds := synth.Generate(synth.Options{Seed: 13, Teams: 3, OfficersPerTeam: 3, CasesPerOfficer: 40, HistoryDays: 400})
	setup := serverdb.Actor{UserID: "setup", Role: schema.RoleAdmin}
	for _, tm := range ds.Teams {
		if err := db.CreateTeam(ctx, setup, tm); err != nil {
			t.Fatal(err)
		}
	}
	for _, u := range ds.Users {
		if err := db.CreateUser(ctx, setup, u, "correct horse battery"); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Seed(ctx, setup, ds.Records); err != nil {
		t.Fatal(err)
	}
	// Amend every fifth signed visit: some were phone calls, some no
	// answer, some took place a week later than recorded, some at home.
	var amends []schema.Record
	k := 0
	for _, r := range ds.Records {
		if r.Entity != "visit" || string(r.Fields["status"]) != `"signed"` {
			continue
		}
		k++
		if k%5 != 0 {
			continue
		}
		var v schema.Visit
		if err := json.Unmarshal(mustJSON(t, r.Fields), &v); err != nil {
			t.Fatal(err)
		}
		var ch map[string]json.RawMessage
		switch k / 5 % 4 {
		case 0:
			ch = map[string]json.RawMessage{"type": json.RawMessage(`"phone"`), "location": json.RawMessage(`null`)}
		case 1:
			ch = map[string]json.RawMessage{"outcome": json.RawMessage(`"no_answer"`)}
		case 2:
			at, err := time.Parse(time.RFC3339, string(v.StartedAt))
			if err != nil {
				continue
			}
			ch = map[string]json.RawMessage{"started_at": json.RawMessage(`"` + at.AddDate(0, 0, 7).Format(time.RFC3339) + `"`)}
		case 3:
			ch = map[string]json.RawMessage{"type": json.RawMessage(`"home_announced"`), "location": json.RawMessage(`"home"`),
				"face_to_face": json.RawMessage(`true`), "outcome": json.RawMessage(`"completed"`)}
		}
		amends = append(amends, schema.Record{Entity: "amendment", ID: schema.NewID(), CaseID: r.CaseID,
			Fields: schema.FieldsOf(schema.Amendment{VisitID: r.ID, Reason: "corrected by the supervisor", Changes: ch,
				AmendedBy: v.SignedBy, AmendedAt: "2026-11-20T09:00:00Z"})})
	}
	if len(amends) < 20 {
		t.Fatalf("made %d amendments; want a good number", len(amends))
	}
	if err := db.Seed(ctx, setup, amends); err != nil {
		t.Fatal(err)
	}
	// Safety assessments that exempt home visits or do not approve them
	// (some decided later than they were made, some overtaken by a later
	// approval), closed cases and cases not started yet, each written as
	// a change of its own.
	n := 0
	for _, r := range ds.Records {
		if r.Entity != "case" {
			continue
		}
		n++
		var c schema.Case
		if err := json.Unmarshal(mustJSON(t, r.Fields), &c); err != nil {
			t.Fatal(err)
		}
		start := c.SupervisionStart.Time()
		day := func(d int) json.RawMessage {
			return json.RawMessage(`"` + string(schema.DateOf(start.AddDate(0, 0, d))) + `"`)
		}
		write := func(entity, id string, fields map[string]json.RawMessage) {
			t.Helper()
			if _, err := db.Write(ctx, setup, entity, id, r.ID, fields); err != nil {
				t.Fatalf("write %s of case %s: %v", entity, r.ID, err)
			}
		}
		assess := func(assessed, decided int, decision string) {
			write("safety_assessment", schema.NewID(), map[string]json.RawMessage{"address": mustJSON(t, cmp.Or(c.Address, "1 Hostel Road")),
				"assessed_on": day(assessed), "decision": mustJSON(t, decision), "decision_reason": json.RawMessage(`"a dog"`),
				"decided_on": day(decided)})
		}
		switch {
		case n%7 == 0:
			assess(1, 20+n%60, []string{"exempted", "not_approved"}[n/7%2])
			if n%3 == 0 { // then the person moves: the assessment is of an old address
				write("case", r.ID, map[string]json.RawMessage{"address": json.RawMessage(`"99 New Street"`)})
			}
		case n%7 == 3:
			assess(1, 2, "not_approved")
			assess(30, 31, "approved")
		case n%11 == 0:
			write("case", r.ID, map[string]json.RawMessage{"closed": json.RawMessage(`true`)})
		case n%17 == 0:
			write("case", r.ID, map[string]json.RawMessage{"supervision_start": json.RawMessage(`"2026-12-10"`)})
		}
	}
	readModelDataset = ds
}

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestReadModelAgreesWithTheGoMeasures computes every measure the read
// model answers both ways, on a synthetic service, for several scopes
// and days: the Go measures (the oracle) over the decoded records, and
// the SQL aggregates over the read model the writes maintained. Every
// figure's totals, case list, and every team's and officer's count must
// be the same.
func TestReadModelAgreesWithTheGoMeasures(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, ds := readModelService(t)
	svc := compliance.NewService(db, nil)

	sup, officer := supervisorAndOfficer(ds, 1, 2)
	admin := serverdb.Actor{UserID: "admin", Role: schema.RoleAdmin}
	scopes := []struct {
		name      string
		actor     serverdb.Actor
		officerID string
	}{
		{"admin", admin, ""},
		{"supervisor", serverdb.ActorOf(sup, ""), ""},
		{"officer filter", admin, officer.ID},
		{"officer", serverdb.ActorOf(officer, ""), ""},
	}
	for _, asOf := range []schema.Date{"2026-11-23", "2026-09-30", "2026-03-15"} {
		period := compliance.Period{From: schema.DateOf(asOf.Time().AddDate(0, -6, 0)), To: asOf}
		for _, sc := range scopes {
			in, err := svc.Input(ctx, sc.actor, sc.officerID)
			if err != nil {
				t.Fatal(err)
			}
			for measure, want := range map[string]goFigures{
				serverdb.MeasureOverdue:        overdueFigures(compliance.Overdue(in, asOf)),
				serverdb.MeasureWorkload:       workloadFigures(compliance.Workload(in, asOf)),
				serverdb.MeasureFirstHomeVisit: firstVisitFigures(compliance.FirstHomeVisits(in, period, asOf)),
				serverdb.MeasureContacts:       contactFigures(t, compliance.Contacts(in, period, asOf)),
				serverdb.MeasureHouseholds:     householdFigures(t, compliance.Households(in, period, asOf)),
				serverdb.MeasureReviews:        reviewsFigures(compliance.Reviews(in, period, asOf)),
				serverdb.MeasureInterventions:  interventionsFigures(compliance.Interventions(in, period, asOf)),
				serverdb.MeasureEnquiries:      enquiriesFigures(compliance.Enquiries(in, period, asOf)),
			} {
				for _, name := range serverdb.FigureNames(measure) {
					q := serverdb.FigureQuery{Measure: measure, Figure: name, AsOf: asOf, From: period.From, To: period.To,
						OfficerID: sc.officerID, WithinDays: policy.Default().EnquiryDays()}
					compareFigure(t, fmt.Sprintf("%s on %s, %s: %s", sc.name, asOf, measure, name), want[name], sqlFigure(t, db, sc.actor, q))
				}
			}
			checkCounts467(t, db, svc, sc.name, sc.actor, sc.officerID, in, period, asOf)
		}
	}
}
