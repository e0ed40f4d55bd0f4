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
	var sup, officer schema.User
	for _, u := range users {
		switch {
		case u.Role == schema.RoleSupervisor && sup.ID == "":
			sup = u
		case u.Role == schema.RoleOfficer && officer.ID == "":
			officer = u
		}
	}
	actors := []Actor{{UserID: "admin", Role: schema.RoleAdmin}, ActorOf(sup, ""), ActorOf(officer, "")}
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
