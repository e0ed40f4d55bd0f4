package serverdb

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"doorstep/schema"
)

// summedCounts is Counts of names summed over its teams and officers.
func summedCounts(t *testing.T, fs Figures, a Actor, q FigureQuery, names []string) []int {
	t.Helper()
	fcs, err := fs.Counts(context.Background(), a, q, names)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]int, len(names))
	for _, fc := range fcs {
		for i, n := range fc.N {
			out[i] += n
		}
	}
	return out
}

// totalsCases are the queries TestTotalsAreTheCountsSummed and
// TestReadModelQueriesOnPostgres ask Totals of: measures 3 and 5, every
// figure at once, each figure alone (a condition that reads no column
// groups the rows by nothing), and the headlines' shares, for each actor,
// officer and team, over two periods.
func totalsCases(users []schema.User) []struct {
	label string
	a     Actor
	q     FigureQuery
	names []string
} {
	type tc = struct {
		label string
		a     Actor
		q     FigureQuery
		names []string
	}
	var out []tc
	var officer schema.User
	for _, u := range users {
		if u.Role == schema.RoleOfficer {
			officer = u
			break
		}
	}
	for _, a := range readModelActors(users) {
		for _, p := range [][2]schema.Date{{"2026-08-25", "2026-11-23"}, {"2026-01-01", "2026-07-01"}} {
			for _, measure := range []string{MeasureContacts, MeasureHouseholds} {
				q := FigureQuery{Measure: measure, From: p[0], To: p[1], AsOf: p[1]}
				share := map[string]string{MeasureContacts: "home_share", MeasureHouseholds: "confirmed"}[measure]
				lists := [][]string{FigureNames(measure), {share + ".numerator", share + ".denominator"}}
				for _, name := range FigureNames(measure) {
					lists = append(lists, []string{name})
				}
				for _, names := range lists {
					label := fmt.Sprintf("%s %v %s for %s", measure, p, strings.Join(names, ","), a.Role)
					out = append(out, tc{label, a, q, names})
				}
				byOfficer, byTeam := q, q
				byOfficer.OfficerID, byTeam.TeamID = officer.ID, officer.TeamID
				out = append(out, tc{fmt.Sprintf("%s %v of an officer for %s", measure, p, a.Role), a, byOfficer, lists[1]},
					tc{fmt.Sprintf("%s %v of a team for %s", measure, p, a.Role), a, byTeam, lists[1]})
			}
		}
	}
	return out
}

// TestTotalsAreTheCountsSummed: Totals (the headlines' previous period,
// decision 0082) is Counts summed over every team and officer, for every
// figure of measures 3 and 5, alone and together, in each actor's scope;
// and it is one statement a figure set, whose rows are grouped by no
// team or officer.
func TestTotalsAreTheCountsSummed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, users := readModelStore(t)
	compared := 0
	for _, c := range totalsCases(users) {
		want := summedCounts(t, Figures{q: db.r}, c.a, c.q, c.names)
		var statements int
		fs := Figures{q: countingQuerier{db.r, &statements}}
		got, err := fs.Totals(ctx, c.a, c.q, c.names)
		if err != nil {
			t.Fatalf("%s: %v", c.label, err)
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: Totals %v, Counts summed %v", c.label, got, want)
		}
		if slices.Max(want) > 0 {
			compared++
		}
		sets, _ := figureSetsOf(c.q, c.names)
		if statements != len(sets) {
			t.Errorf("%s: %d statements for %d figure sets", c.label, statements, len(sets))
		}
	}
	if compared < 20 {
		t.Errorf("only %d of the totals compared had a figure above zero: the comparison tested little", compared)
	}
	// Bad input: a figure the measure lacks, a day that is none.
	q := FigureQuery{Measure: MeasureContacts, From: "2026-08-25", To: "2026-11-23", AsOf: "2026-11-23"}
	if _, err := (Figures{q: db.r}).Totals(ctx, readModelActors(users)[0], q, []string{"nope"}); schema.ErrorCode(err) != schema.ECodeInvalid {
		t.Errorf("an unknown figure: %v; want invalid", err)
	}
	q.AsOf = "23/11/2026"
	if _, err := (Figures{q: db.r}).Totals(ctx, readModelActors(users)[0], q, []string{"contacts"}); schema.ErrorCode(err) != schema.ECodeInvalid {
		t.Errorf("a bad as_of: %v; want invalid", err)
	}
}

// TestFamilyTotalsAreTheRowsSummed: Totals of the figures of a family
// (the exemptions report's headline, decision 0082) is the rows of each
// figure's groups (Groups) summed, for the exemptions' family, measure
// 1's and measure 8's (two families in one call), in each actor's scope,
// one statement a family.
func TestFamilyTotalsAreTheRowsSummed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, users := readModelStore(t)
	asked := map[string][]string{
		MeasureExemptions:     {"exempted", "due", "met", "missed", "met_despite_exemption"},
		MeasureFirstHomeVisit: {"numerator", "denominator"},
		MeasureWorkload:       {"caseload", "due_cases", "not_started", "overdue_cases"},
	}
	compared := 0
	for _, a := range readModelActors(users) {
		for _, p := range [][2]schema.Date{{"2026-08-25", "2026-11-23"}, {"2026-05-26", "2026-08-24"}, {"2026-01-01", "2026-11-23"}} {
			for measure, names := range asked {
				fq := FigureQuery{Measure: measure, From: p[0], To: p[1], AsOf: p[1]}
				for _, names := range [][]string{names, names[:1], {names[len(names)-1], names[0]}} {
					label := fmt.Sprintf("%s %v %s for %s", measure, p, strings.Join(names, ","), a.Role)
					want := make([]int, len(names))
					for i, name := range names {
						q := fq
						q.Figure = name
						fgs, err := figureGroups(ctx, db.r, a, q)
						if err != nil {
							t.Fatalf("%s: %v", label, err)
						}
						for _, fg := range fgs {
							want[i] += fg.Rows
						}
					}
					var statements int
					got, err := Figures{q: countingQuerier{db.r, &statements}}.Totals(ctx, a, fq, names)
					if err != nil {
						t.Fatalf("%s: %v", label, err)
					}
					if !slices.Equal(got, want) {
						t.Errorf("%s: Totals %v, the groups' rows summed %v", label, got, want)
					}
					if slices.Max(want) > 0 {
						compared++
					}
					families := map[string]bool{}
					for _, name := range names {
						fam, _ := familyOf(measure, name)
						families[fam.name] = true
					}
					if statements != len(families) {
						t.Errorf("%s: %d statements for %d families", label, statements, len(families))
					}
				}
			}
		}
	}
	if compared < 20 {
		t.Errorf("only %d of the totals compared had a figure above zero: the comparison tested little", compared)
	}
	fq := FigureQuery{Measure: MeasureExemptions, From: "2026-08-25", To: "2026-11-23", AsOf: "2026-11-23"}
	if _, err := (Figures{q: db.r}).Totals(ctx, readModelActors(users)[0], fq, []string{"nope"}); schema.ErrorCode(err) != schema.ECodeInvalid {
		t.Errorf("an unknown figure: %v; want invalid", err)
	}
}
