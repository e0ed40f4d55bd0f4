package compliance_test

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"doorstep/schema"
	"doorstep/schema/policy"
	"doorstep/schema/synth"
	"doorstep/server/compliance"
)

// trendInputs are a synthetic team's records as they are, with some cases
// closed, some flags typed as odd kinds and some visits left unsigned, and
// one officer's cases alone: the trend figures must be the reports'
// figures for all of them.
func trendInputs(t *testing.T) map[string]compliance.Input {
	in := benchInput(t, synth.Options{Teams: 1, OfficersPerTeam: 4, CasesPerOfficer: 30, HistoryDays: 730, Seed: 5})
	odd := in
	odd.Cases = make([]compliance.CaseRecords, len(in.Cases))
	for i, cr := range in.Cases {
		cr.Flags = append([]schema.Flag(nil), cr.Flags...)
		cr.Visits = append([]schema.Visit(nil), cr.Visits...)
		if i%7 == 0 {
			cr.Case.Closed = true
		}
		if i%11 == 0 && len(cr.Flags) > 0 {
			cr.Flags[0].Type = "rosh"
		}
		// Flags ended, or started, within the weeks looked at.
		for j := range cr.Flags {
			switch (i + j) % 5 {
			case 1:
				cr.Flags[j].EndedOn = schema.DateOf(time.Now().UTC().AddDate(0, 0, -7*(i%20)))
			case 2:
				cr.Flags[j].StartDate = schema.DateOf(time.Now().UTC().AddDate(0, 0, -7*(i%30)))
			}
		}
		for j := range cr.Visits {
			switch (i + j) % 13 {
			case 0:
				cr.Visits[j].Status = "draft"
			case 1:
				cr.Visits[j].SignedAt = ""
			case 2:
				cr.Visits[j].StartedAt = "not a time"
			}
		}
		odd.Cases[i] = cr.WithNewMemo()
	}
	one := in
	one.OfficerID = in.Cases[0].Case.OfficerID
	return map[string]compliance.Input{"as generated": in, "altered": odd, "one officer": one,
		"no cases": {Officers: in.Officers, Teams: in.Teams}}
}

// trendWeeks are the 7-day weeks of the year to asOf, as the dashboard
// cuts a period, and each week's end.
func trendWeeks(asOf schema.Date) (weeks []compliance.Period, ends []schema.Date) {
	end := asOf.Time()
	for range 53 {
		weeks = append(weeks, compliance.Period{From: schema.DateOf(end.AddDate(0, 0, -6)), To: schema.DateOf(end)})
		ends = append(ends, schema.DateOf(end))
		end = end.AddDate(0, 0, -7)
	}
	return weeks, ends
}

func sameFraction(t *testing.T, what string, got compliance.Fraction, num, den int, pct *float64) {
	t.Helper()
	if got.Num != num || got.Den != den || fmt.Sprint(deref(got.Percent)) != fmt.Sprint(deref(pct)) {
		t.Errorf("%s: %d of %d (%v), the report says %d of %d (%v)", what, got.Num, got.Den, deref(got.Percent), num, den, deref(pct))
	}
}

func deref(p *float64) any {
	if p == nil {
		return nil
	}
	return *p
}

// TestTrendFiguresAreTheReports: each trend figure is the report's figure
// for that week, week by week, as the dashboard asks for them.
func TestTrendFiguresAreTheReports(t *testing.T) {
	asOf := schema.DateOf(time.Now().UTC())
	weeks, ends := trendWeeks(asOf)
	for name, in := range trendInputs(t) {
		t.Run(name, func(t *testing.T) {
			nonZero := 0
			// Contacts: each week as the records stood at its end, and
			// all on the as-of day.
			for _, asOfs := range [][]schema.Date{ends, repeat(asOf, len(weeks))} {
				got := compliance.ContactsHomeShares(in, weeks, asOfs)
				for i, w := range weeks {
					s := compliance.Contacts(in, w, asOfs[i]).Totals.HomeShare
					sameFraction(t, fmt.Sprintf("contacts %v as of %s", w, asOfs[i]), got[i], s.Numerator.N, s.Denominator.N, s.Percent)
					nonZero += got[i].Den
				}
			}
			for _, d := range ends {
				if got, want := compliance.OverdueCount(in, d), compliance.Overdue(in, d).Totals.Requirements; got != want {
					t.Errorf("overdue on %s: %d, the report says %d", d, got, want)
				}
				if got, want := compliance.WorkloadDue(in, d), compliance.Workload(in, d).Totals.Due; got != want {
					t.Errorf("workload from %s: %d, the report says %d", d, got, want)
				}
				nonZero += compliance.OverdueCount(in, d) + compliance.WorkloadDue(in, d)
			}
			for _, d := range []schema.Date{asOf, ends[5]} {
				got := compliance.HouseholdsChildrenSeen(in, weeks, d)
				for i, w := range weeks {
					s := compliance.Households(in, w, d).Totals.ChildrenSeen
					sameFraction(t, fmt.Sprintf("households %v as of %s", w, d), got[i], s.Numerator.N, s.Denominator.N, s.Percent)
					nonZero += got[i].Den
				}
			}
			got := compliance.ReviewsFlagsOnTime(in, ends)
			for i, w := range weeks {
				s := compliance.Reviews(in, w, ends[i]).Totals.Flags.OnTime
				sameFraction(t, fmt.Sprintf("reviews on %s", ends[i]), got[i], s.Numerator.N, s.Denominator.N, s.Percent)
				nonZero += got[i].Den
			}
			if nonZero == 0 && name != "no cases" {
				t.Error("nothing counted: the test compares nothing")
			}
		})
	}
}

func repeat[T any](x T, n int) []T {
	out := make([]T, n)
	for i := range out {
		out[i] = x
	}
	return out
}

// TestPolicyVisitsSameRequirements: the requirements the measures compute
// from each case's visits as the policy reads them, indexed once
// (memo.visitIndex), are those the policy computes from the case's
// records as they are, on every as-of day: with visits unsigned, of no
// readable start, of another case, or of none.
func TestPolicyVisitsSameRequirements(t *testing.T) {
	p := policy.Default()
	asOf := schema.DateOf(time.Now().UTC())
	_, days := trendWeeks(asOf)
	days = append(days, "2024-01-01", "2025-06-30", schema.DateOf(asOf.Time().AddDate(0, 0, 30)))
	compared := 0
	for name, in := range trendInputs(t) {
		for i, cr := range in.Cases {
			if name == "altered" {
				cr.Visits = append([]schema.Visit(nil), cr.Visits...)
				for j := range cr.Visits {
					switch (i + j) % 17 {
					case 3:
						cr.Visits[j].CaseID = "another-case"
					case 4:
						cr.Visits[j].CaseID = ""
					}
				}
				cr = cr.WithNewMemo()
			}
			for _, d := range days {
				facts, _ := compliance.Facts(cr, d)
				want := p.Requirements(facts, d)
				got := cr.MemoRequirements(p, d)
				if !reflect.DeepEqual(got, want) {
					t.Fatalf("%s, case %s on %s: requirements\n%+v\nthe policy's from the records\n%+v", name, cr.Case.ID, d, got, want)
				}
				compared += len(want)
			}
		}
	}
	if compared == 0 {
		t.Error("no requirement compared")
	}
}

// TestPreviousHeadlinesFromTheTrendFigures: the previous period's
// headline of contacts and reviews is the report's headline over that
// period, and is worked out without building the report (its rows and
// lists of ids): a fraction of the report's allocations.
func TestPreviousHeadlinesFromTheTrendFigures(t *testing.T) {
	asOf := schema.DateOf(time.Now().UTC())
	period := compliance.Period{From: schema.DateOf(asOf.Time().AddDate(0, 0, -89)), To: asOf}
	prev := compliance.PreviousPeriod(period)
	reports := map[string]func(in compliance.Input) compliance.Headlined{
		"contacts": func(in compliance.Input) compliance.Headlined { return compliance.Contacts(in, prev, prev.To) },
		"reviews":  func(in compliance.Input) compliance.Headlined { return compliance.Reviews(in, prev, prev.To) },
	}
	for name, in := range trendInputs(t) {
		for slug, report := range reports {
			got, ok := compliance.PreviousFigureOf(slug, in, period)
			want := report(in).HeadlineFigure()
			if !ok || got.Period != prev || !reflect.DeepEqual(got.Figure, want) {
				t.Errorf("%s, %s: previous headline %v %+v (%v), the report over %v says %+v", name, slug, ok, got.Figure, got.Period, prev, want)
			}
			if name != "as generated" {
				continue
			}
			if want.Denominator == 0 {
				t.Errorf("%s: the report counts nothing: the test compares nothing", slug)
			}
			figure := testing.AllocsPerRun(3, func() { compliance.PreviousFigureOf(slug, in, period) })
			whole := testing.AllocsPerRun(3, func() { report(in) })
			if figure*4 > whole {
				t.Errorf("%s: the previous headline took %.0f allocations, the report %.0f: want under a quarter", slug, figure, whole)
			}
		}
	}
}
