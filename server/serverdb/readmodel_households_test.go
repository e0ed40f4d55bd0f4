package serverdb

import (
	"strings"
	"testing"
)

// TestHomeVisitsReadTheirIndex: measure 5's counts of home visits (its
// children-seen figures) read the completed home visits from
// rm_visits_home (migration 0024, decision 0106), on both stores, and
// from it alone, rather than the period's every signed contact from
// rm_visits_contacts. A partial index serves a statement only when the
// statement's terms imply its WHERE: a term worded otherwise would lose
// it. PostgreSQL's plan is taken
// with the other indexes of rm_visits dropped and plain scans priced
// out (explainPlan), SQLite's with the statistics of a 25,000-case store
// (explainAtServiceSize).
func TestHomeVisitsReadTheirIndex(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	q := &sqlb{}
	fq := FigureQuery{Measure: MeasureHouseholds, AsOf: "2026-11-23", From: "2026-08-25", To: "2026-11-23"}
	if err := householdVisits(q, f.admin, fq, nil); err != nil {
		t.Fatal(err)
	}
	plan, want := "", "COVERING INDEX rm_visits_home"
	if f.db.Engine() == "postgres" {
		plan, want = explainPlan(t, f.db, q), "on rm_visits_home"
	} else {
		plan = explainAtServiceSize(t, f.db, q)
	}
	if !strings.Contains(plan, want) {
		t.Errorf("measure 5's home visits' plan has no %q:\n%s", want, plan)
	}
}
