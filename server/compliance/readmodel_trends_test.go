package compliance_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"doorstep/schema"
	"doorstep/schema/synth"
	"doorstep/server/compliance"
	"doorstep/server/serverdb"
)

// weeksOf splits period into weeks ending on its last day, oldest first,
// the first maybe shorter: the dashboard's trend weeks.
func weeksOf(p compliance.Period) []compliance.Period {
	var out []compliance.Period
	for end := p.To; end >= p.From; end = schema.DateOf(end.Time().AddDate(0, 0, -7)) {
		out = append(out, compliance.Period{From: max(schema.DateOf(end.Time().AddDate(0, 0, -6)), p.From), To: end})
	}
	slices.Reverse(out)
	return out
}

// supervisorAndOfficer are the synthetic service's supervisor of its
// supTeam-th team and first officer of its officerTeam-th.
func supervisorAndOfficer(ds *synth.Dataset, supTeam, officerTeam int) (sup, officer schema.User) {
	for _, u := range ds.Users {
		if u.Role == schema.RoleSupervisor && u.TeamID == ds.Teams[supTeam].ID {
			sup = u
		}
		if u.Role == schema.RoleOfficer && officer.ID == "" && u.TeamID == ds.Teams[officerTeam].ID {
			officer = u
		}
	}
	return sup, officer
}

// TestWeeklySharesAgreeWithTheGoMeasures computes the weekly trends the
// read model answers (measure 1's on time, measure 4's police enquiries
// answered, measure 6's needs referred, the visits exempted, measure 7's
// flags in date on each week's last day) both ways,
// for several scopes, filters and days: the Go measure over each week as
// the period (the oracle), and the read model's one GROUP BY by week.
// Every week's numerator and denominator must be the same, and some week
// must have cases, or the test tests nothing.
func TestWeeklySharesAgreeWithTheGoMeasures(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, ds := readModelService(t)
	svc := compliance.NewService(db, nil)
	sup, officer := supervisorAndOfficer(ds, 1, 2)
	admin := serverdb.Actor{UserID: "admin", Role: schema.RoleAdmin}
	scopes := []struct {
		name              string
		actor             serverdb.Actor
		officerID, teamID string
	}{
		{"admin", admin, "", ""},
		{"admin, team filter", admin, "", ds.Teams[0].ID},
		{"supervisor", serverdb.ActorOf(sup, ""), "", ""},
		{"admin, officer filter", admin, officer.ID, ""},
		{"officer", serverdb.ActorOf(officer, ""), "", ""},
	}
	seen := map[string]int{}
	for _, asOf := range []schema.Date{"2026-11-23", "2026-09-30", "2026-03-15"} {
		for _, days := range []int{90, 200, 10} {
			period := compliance.Period{From: schema.DateOf(asOf.Time().AddDate(0, 0, 1-days)), To: asOf}
			weeks := weeksOf(period)
			for _, sc := range scopes {
				in, err := svc.InputOf(ctx, sc.actor, compliance.Narrow{OfficerID: sc.officerID, TeamID: sc.teamID})
				if err != nil {
					t.Fatal(err)
				}
				oracle := map[string]func(w compliance.Period) compliance.Figure{
					"first-home-visits": func(w compliance.Period) compliance.Figure {
						t := compliance.FirstHomeVisits(in, w, asOf).Totals
						return compliance.FigureOf(t.Numerator.N, t.Denominator.N)
					},
					"enquiries": func(w compliance.Period) compliance.Figure {
						p := compliance.Enquiries(in, w, asOf).Totals.Police
						return compliance.Figure{Numerator: p.Answered.N, Denominator: p.Needed.N, Percent: p.Percent}
					},
					"interventions": func(w compliance.Period) compliance.Figure {
						s := compliance.Interventions(in, w, asOf).Totals.ReferredShare
						return compliance.Figure{Numerator: s.Numerator.N, Denominator: s.Denominator.N, Percent: s.Percent}
					},
					"exemptions": func(w compliance.Period) compliance.Figure {
						x := compliance.Exemptions(in, w, asOf).Totals
						return compliance.Figure{Numerator: x.Exempted.Requirements, Denominator: x.Due.Requirements, Percent: x.Percent}
					},
					"reviews": func(w compliance.Period) compliance.Figure {
						s := compliance.Reviews(in, w, w.To).Totals.Flags.OnTime
						return compliance.Figure{Numerator: s.Numerator.N, Denominator: s.Denominator.N, Percent: s.Percent}
					},
				}
				for _, slug := range compliance.WeeklyShares() {
					got, err := svc.WeeklyShare(ctx, sc.actor, slug, sc.officerID, sc.teamID, weeks, asOf)
					if err != nil {
						t.Fatal(err)
					}
					for i, w := range weeks {
						want := oracle[slug](w)
						if fmt.Sprint(got[i].Numerator, got[i].Denominator, fmtPct(got[i].Percent)) != fmt.Sprint(want.Numerator, want.Denominator, fmtPct(want.Percent)) {
							t.Errorf("%s: %s, %d days to %s, week %s to %s: read model %d of %d, Go %d of %d", slug, sc.name, days, asOf, w.From, w.To,
								got[i].Numerator, got[i].Denominator, want.Numerator, want.Denominator)
						}
						seen[slug] += want.Denominator
					}
				}
			}
		}
	}
	for _, slug := range compliance.WeeklyShares() {
		if seen[slug] == 0 {
			t.Errorf("%s: no week had a case in the denominator: the comparison tested nothing", slug)
		}
	}
}

// fmtPct writes a percent or nil.
func fmtPct(p *float64) string {
	if p == nil {
		return "nil"
	}
	return fmt.Sprint(*p)
}

// TestFigureWeeksRefusesBadWeeks: a measure without a weekly trend, and
// weeks that overlap or are not dates, are invalid errors naming the
// field, not a query.
func TestFigureWeeksRefusesBadWeeks(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, _ := readModelService(t)
	admin := serverdb.Actor{UserID: "admin", Role: schema.RoleAdmin}
	ok := []serverdb.Week{{From: "2026-11-01", To: "2026-11-07"}, {From: "2026-11-08", To: "2026-11-14"}}
	for _, c := range []struct {
		name, field string
		q           serverdb.FigureQuery
		weeks       []serverdb.Week
	}{
		{"no trend", "measure", serverdb.FigureQuery{Measure: "no_such_measure", Figure: "cases", AsOf: "2026-11-14"}, ok},
		{"overlap", "to", serverdb.FigureQuery{Measure: serverdb.MeasureFirstHomeVisit, Figure: "numerator", AsOf: "2026-11-14"},
			[]serverdb.Week{{From: "2026-11-01", To: "2026-11-08"}, {From: "2026-11-08", To: "2026-11-14"}}},
		{"not a date", "from", serverdb.FigureQuery{Measure: serverdb.MeasureFirstHomeVisit, Figure: "numerator", AsOf: "2026-11-14"},
			[]serverdb.Week{{From: "1 Nov", To: "2026-11-07"}}},
		{"no figure", "figure", serverdb.FigureQuery{Measure: serverdb.MeasureFirstHomeVisit, Figure: "nope", AsOf: "2026-11-14"}, ok},
	} {
		_, err := db.FigureWeeks(ctx, admin, c.q, c.weeks)
		if e := schema.AsError(err); e == nil || e.Code != schema.ECodeInvalid || e.Field != c.field {
			t.Errorf("%s: got %v, want an invalid error naming %s", c.name, err, c.field)
		}
	}
	_, err := compliance.NewService(db, nil).WeeklyShare(ctx, admin, "overdue", "", "", []compliance.Period{{From: "2026-11-01", To: "2026-11-07"}}, "2026-11-14")
	if e := schema.AsError(err); e == nil || e.Code != schema.ECodeInvalid || e.Field != "measure" {
		t.Errorf("the weekly share of overdue: got %v, want an invalid error naming measure", err)
	}
}
