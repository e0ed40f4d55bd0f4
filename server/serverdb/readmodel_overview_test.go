package serverdb

import (
	"context"
	"reflect"
	"slices"
	"strings"
	"testing"

	"doorstep/schema"
)

// TestFlagWeeksMatchTheWeeksOneByOne: measure 7's figures of flags counted
// by week in one pass (flagWeeks, decision 0072) are what the figure's
// rows of each week, as of its last day, count (unionWeeks, the query of
// each week's rows as Figures.Groups runs it), for every figure of flags
// and of DA flags that reads only the status, for an admin, a supervisor
// and an officer, on two days; a figure that reads more keeps the rows
// of each week.
func TestFlagWeeksMatchTheWeeksOneByOne(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, users := readModelStore(t)
	actors := readModelActors(users)
	counted := 0
	for _, asOf := range []schema.Date{"2026-11-23", "2026-07-01"} {
		var weeks []Week
		for end := asOf.Time(); end.After(asOf.Time().AddDate(0, 0, -91)); end = end.AddDate(0, 0, -7) {
			weeks = append([]Week{{From: schema.DateOf(end.AddDate(0, 0, -6)), To: schema.DateOf(end)}}, weeks...)
		}
		for _, kind := range []string{"flags", "da_flags"} {
			var figures []string
			for _, name := range FigureNames(MeasureReviews) {
				if strings.HasPrefix(name, kind+".") && name != kind+".reviewed_in_period" {
					figures = append(figures, name)
				}
			}
			q := FigureQuery{Measure: MeasureReviews, AsOf: asOf}
			if !flagWeeksInOnePass(q, figures) || flagWeeksInOnePass(q, append(slices.Clone(figures), kind+".reviewed_in_period")) {
				t.Fatalf("%s: in one pass %v, with reviewed_in_period too", kind, figures)
			}
			for _, a := range actors {
				got, err := flagWeeks(ctx, db.r, a, q, figures, weeks)
				if err != nil {
					t.Fatal(err)
				}
				want, err := unionWeeks(ctx, db.r, weekDays[MeasureReviews], a, q, figures, weeks)
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("%s on %s for %s: in one pass %v, week by week %v", kind, asOf, a.Role, got, want)
				}
				for _, n := range want[0] { // items
					counted += n
				}
			}
		}
	}
	if counted == 0 {
		t.Error("no flag in any week: the comparison tested nothing")
	}
}

// readModelActors are readModelStore's admin, its first supervisor and its
// first officer.
func readModelActors(users []schema.User) []Actor {
	var sup, officer schema.User
	for _, u := range users {
		switch {
		case u.Role == schema.RoleSupervisor && sup.ID == "":
			sup = u
		case u.Role == schema.RoleOfficer && officer.ID == "":
			officer = u
		}
	}
	return []Actor{{UserID: "admin", Role: schema.RoleAdmin}, ActorOf(sup, ""), ActorOf(officer, "")}
}

// TestCasesByOfficerCountsEveryCaseInScope: the overview's caseloads
// (CasesByOfficer) count every case of the scope, closed ones too (the
// store has one), as the officers' table counts the page's cases: for
// each actor, in all and for each officer and team filter, what
// ScopeCases lists.
func TestCasesByOfficerCountsEveryCaseInScope(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, users := readModelStore(t)
	var closed int
	if err := db.r.QueryRowContext(ctx, `SELECT count(*) FROM rm_cases WHERE closed = 1`).Scan(&closed); err != nil || closed == 0 {
		t.Fatalf("the store's closed cases: %d, %v", closed, err)
	}
	fs := Figures{q: db.r}
	for _, a := range readModelActors(users) {
		narrows := []ScopeNarrow{{}}
		for _, u := range users {
			if u.Role == schema.RoleOfficer {
				narrows = append(narrows, ScopeNarrow{OfficerID: u.ID}, ScopeNarrow{TeamID: u.TeamID})
			}
		}
		for _, n := range narrows {
			got, err := fs.CasesByOfficer(ctx, a, FigureQuery{OfficerID: n.OfficerID, TeamID: n.TeamID})
			if err != nil {
				t.Fatal(err)
			}
			ids, err := db.ScopeCases(ctx, a, n)
			if err != nil {
				t.Fatal(err)
			}
			total := 0
			for officer, k := range got {
				total += k
				if n.OfficerID != "" && officer != n.OfficerID {
					t.Errorf("%s, %+v: cases of officer %s", a.Role, n, officer)
				}
			}
			if total != len(ids) {
				t.Errorf("%s, %+v: %d cases by officer %v, %d in scope", a.Role, n, total, got, len(ids))
			}
		}
	}
}
