package serverdb

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"doorstep/schema"
)

// interventionFigures are measure 6's figures but its statuses, which
// InterventionGroups counts.
func interventionFigures() []string {
	var out []string
	for _, name := range FigureNames(MeasureInterventions) {
		if !strings.HasPrefix(name, "statuses.") {
			out = append(out, name)
		}
	}
	return out
}

// checkInterventionGroups holds measure 6's counts in one statement
// (Figures.InterventionGroups and InterventionTotals on fs, decision
// 0102) to a statement a figure on ref (figureGroups, the statements
// they replace): every figure's rows by team and officer, every status's
// (the referred needs of the status), and the totals. It reports how
// many needs it saw.
func checkInterventionGroups(t *testing.T, label string, fs Figures, ref querier, a Actor, q FigureQuery) int {
	t.Helper()
	ctx := context.Background()
	names := interventionFigures()
	igs, err := fs.InterventionGroups(ctx, a, q, names)
	if err != nil {
		t.Fatalf("%s: %v", label, err)
	}
	got := map[string]int{} // figure|team|officer -> rows
	for _, ig := range igs {
		for i, n := range ig.N {
			got[fmt.Sprintf("%s|%s|%s", names[i], ig.TeamID, ig.OfficerID)] += n
		}
		got[fmt.Sprintf("statuses.%s|%s|%s", ig.Status, ig.TeamID, ig.OfficerID)] += ig.N[slices.Index(names, "referred")]
	}
	maps.DeleteFunc(got, func(_ string, n int) bool { return n == 0 })
	want := map[string]int{}
	totals := make([]int, len(names))
	for _, name := range FigureNames(MeasureInterventions) {
		q := q
		q.Figure = name
		fgs, err := figureGroups(ctx, ref, a, q)
		if err != nil {
			t.Fatalf("%s: %s: %v", label, name, err)
		}
		for _, g := range fgs {
			want[fmt.Sprintf("%s|%s|%s", name, g.TeamID, g.OfficerID)] = g.Rows
			if i := slices.Index(names, name); i >= 0 {
				totals[i] += g.Rows
			}
		}
	}
	if !maps.Equal(got, want) {
		t.Errorf("%s: one statement counts %v; a statement a figure %v", label, got, want)
	}
	sums, err := fs.InterventionTotals(ctx, a, q, names)
	if err != nil || !slices.Equal(sums, totals) {
		t.Errorf("%s: totals %v (%v); a statement a figure %v", label, sums, err, totals)
	}
	if _, err := fs.InterventionGroups(ctx, a, q, []string{"statuses.completed"}); err == nil {
		t.Errorf("%s: a status asked for by name was counted; want it refused", label)
	}
	return totals[slices.Index(names, "needed")]
}

// TestInterventionGroupsAsTheFigures: measure 6's figures counted in one
// statement are, on the store under test (SQLite, or PostgreSQL with
// DOORSTEP_TEST_ENGINE=postgres), each figure's and status's counts by
// team and officer as a statement of its own counts them, for an admin,
// a supervisor, an officer and an officer filter, over a year and a
// period with none; TestReadModelQueriesOnPostgres holds PostgreSQL's to
// SQLite's on the synthetic service.
func TestInterventionGroupsAsTheFigures(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	for i, rf := range []schema.Referral{
		{Need: "Accommodation", IdentifiedOn: "2026-03-02", Decision: "refer", Status: "completed", StatusOn: "2026-09-01"},
		{Need: "Accommodation", IdentifiedOn: "2026-04-02", Decision: "refer", Status: "on_programme", StatusOn: "2026-12-01"},
		{Need: "Drugs", IdentifiedOn: "2026-05-02", Decision: "not_suitable", DecisionReason: "too late"},
		{Need: "Drugs", IdentifiedOn: "2026-06-02"},
		{Need: "Alcohol", IdentifiedOn: "2026-07-02", Decision: "refer", Status: "breach", StatusOn: "2026-08-01"},
		{Need: "Alcohol", IdentifiedOn: "2026-08-02", Decision: "refer"},
		{Need: "Alcohol", IdentifiedOn: "2026-09-02", Decision: "refer", Status: "withdrawn", StatusOn: "2026-10-01"},
	} {
		caseID := []string{f.ashaCase, f.benCase}[i%2]
		if _, err := f.db.Write(ctx, f.admin, "referral", schema.NewID(), caseID, schema.FieldsOf(rf)); err != nil {
			t.Fatalf("referral %d: %v", i, err)
		}
	}
	needs := 0
	err := f.db.ReadFigures(ctx, func(fs Figures) error {
		for _, a := range []Actor{f.admin, f.actor(f.sue, ""), f.actor(f.asha, "")} {
			for _, officer := range []string{"", f.ben.ID} {
				for _, p := range [][3]string{{"2026-01-01", "2026-11-23", "2026-11-23"}, {"2026-01-01", "2026-11-23", "2026-08-15"},
					{"2025-01-01", "2025-12-31", "2025-12-31"}} {
					q := FigureQuery{Measure: MeasureInterventions, From: schema.Date(p[0]), To: schema.Date(p[1]), AsOf: schema.Date(p[2]), OfficerID: officer}
					needs += checkInterventionGroups(t, fmt.Sprintf("%s %s %v", a.Role, officer, p), fs, fs.q, a, q)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if needs < 20 {
		t.Errorf("saw %d needs in all; the test wants more", needs)
	}
}
