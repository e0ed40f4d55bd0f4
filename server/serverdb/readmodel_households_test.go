package serverdb

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"doorstep/schema"
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

// TestHouseholdCountsInOneStatement: measure 5's report asks the counts
// of its figures, the previous period's headline and its case list of one
// snapshot (HouseholdCounts, then Cases), and the snapshot answers them
// in one statement (decision 0120) where Counts, Totals and Cases took
// four (the cases, the home visits, the previous headline, the list);
// the answers are those statements' own, for an admin, an officer filter,
// a team filter and an officer, over periods whose previous period ends
// on the day before, and for a previous period asked of another officer
// (then the statements of their own).
func TestHouseholdCountsInOneStatement(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, users := readModelStore(t)
	actors := []Actor{{UserID: "admin", Role: schema.RoleAdmin}}
	var officer schema.User
	for _, u := range users {
		if u.Role == schema.RoleOfficer {
			officer = u
			actors = append(actors, ActorOf(u, ""))
			break
		}
	}
	names := FigureNames(MeasureHouseholds)
	prevNames := []string{"confirmed.numerator", "confirmed.denominator"}
	type answer struct {
		Counts []FigureCounts
		Prev   []int
		Cases  []string
	}
	ask := func(fs Figures, a Actor, fq, prev FigureQuery) answer {
		t.Helper()
		counts, totals, err := fs.HouseholdCounts(ctx, a, fq, names, prev, prevNames)
		if err != nil {
			t.Fatal(err)
		}
		q := fq
		q.Figure = "cases"
		cases, err := fs.Cases(ctx, a, q, "", 1<<30)
		if err != nil {
			t.Fatal(err)
		}
		return answer{counts, totals, cases}
	}
	periods := [][4]schema.Date{ // from, to (as_of), the previous from, to
		{"2026-08-25", "2026-11-23", "2026-05-27", "2026-08-24"},
		{"2026-10-01", "2026-10-31", "2026-08-31", "2026-09-30"},
		{"2026-03-01", "2026-03-15", "2026-02-14", "2026-02-28"},
	}
	var reached bool
	for _, a := range actors {
		for _, filter := range []FigureQuery{{}, {OfficerID: officer.ID}, {TeamID: officer.TeamID}} {
			for _, p := range periods {
				fq := FigureQuery{Measure: MeasureHouseholds, From: p[0], To: p[1], AsOf: p[1], OfficerID: filter.OfficerID,
					TeamID: filter.TeamID}
				prev := fq
				prev.From, prev.To, prev.AsOf = p[2], p[3], p[3]
				label := fmt.Sprintf("%s, %+v, %s..%s", a.Role, filter, p[0], p[1])
				var each, once int
				want := ask(Figures{q: countingQuerier{db.r, &each}}, a, fq, prev)
				got := ask(Figures{q: countingQuerier{db.r, &once}, setCases: map[setKey][]string{}}, a, fq, prev)
				if !reflect.DeepEqual(got, want) {
					t.Errorf("%s: in one statement %+v; the statements of each %+v", label, got, want)
				}
				if each != 4 || once != 1 {
					t.Errorf("%s: %d statements of their own, %d in one; want 4 and 1", label, each, once)
				}
				reached = reached || len(want.Cases) > 0 && want.Prev[0] > 0
				// Another officer's previous period: not the report's, asked
				// of its own statement.
				other := prev
				other.OfficerID = "someone-else"
				once = 0
				fs := Figures{q: countingQuerier{db.r, &once}, setCases: map[setKey][]string{}}
				if _, _, err := fs.HouseholdCounts(ctx, a, fq, names, other, prevNames); err != nil {
					t.Fatal(err)
				}
				if once != 3 {
					t.Errorf("%s: another officer's previous period took %d statements; want 3 (the counts', the totals')", label, once)
				}
			}
		}
	}
	if !reached {
		t.Error("no period has cases and a previous headline: the store tests nothing")
	}
}
