package compliance_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"testing"

	"doorstep/schema"
	"doorstep/schema/policy"
	"doorstep/server/compliance"
	"doorstep/server/serverdb"
)

// TestHouseholdsReadModelOnEdgeDays holds measure 5's statuses of cases
// from the read model (each case's household rows and partner visits read
// once, grouped: decision 0101) to the Go measure on the days where they
// turn: into five DA cases of the synthetic service are written members
// added, leaving and confirmed to their last day in date on an edge day,
// and partner visits on and around it; for every period starting and
// ending the day before, on and after it, every figure (totals, case
// list, each team and officer) and the counts with their headline must be
// the Go measure's, for an admin, a supervisor, an officer filter and an
// officer.
func TestHouseholdsReadModelOnEdgeDays(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, ds := readModelService(t)
	svc := compliance.NewService(db, nil)
	const edge = schema.Date("2026-10-14")
	day := func(d int) schema.Date { return schema.DateOf(edge.Time().AddDate(0, 0, d)) }

	// Open DA cases with a flag live on the edge, one a team at least.
	open := map[string]schema.Case{}
	for _, r := range ds.Records {
		if r.Entity == "case" {
			c := decodeAs[schema.Case](t, r)
			if !c.Closed && c.SupervisionStart != "" && c.SupervisionStart < day(-40) {
				open[r.ID] = c
			}
		}
	}
	var cases []string
	teams := map[string]int{}
	for _, r := range ds.Records {
		if r.Entity != "flag" || open[r.CaseID].TeamID == "" || slices.Contains(cases, r.CaseID) {
			continue
		}
		f := decodeAs[schema.Flag](t, r)
		if (f.Type == "da_perpetrator" || f.Type == "da_victim") && f.EndedOn == "" && teams[open[r.CaseID].TeamID] < 2 {
			cases = append(cases, r.CaseID)
			teams[open[r.CaseID].TeamID]++
		}
	}
	if len(cases) < 5 {
		t.Fatalf("%d open DA cases in the synthetic service; want 5", len(cases))
	}
	var recs []schema.Record
	member := func(caseID string, m schema.HouseholdMember) {
		m.Name = "Edge"
		recs = append(recs, schema.Record{Entity: "household_member", ID: schema.NewID(), CaseID: caseID, Fields: schema.FieldsOf(m)})
	}
	visit := func(caseID string, d schema.Date, alone string) {
		c := open[caseID]
		recs = append(recs, schema.Record{Entity: "visit", ID: schema.NewID(), CaseID: caseID, Fields: schema.FieldsOf(schema.Visit{
			OfficerID: c.OfficerID, Type: "home_announced", Status: "signed", Outcome: "completed", Location: "home", FaceToFace: true,
			StartedAt: schema.Timestamp(string(d) + "T10:00:00+01:00"), PartnerPresent: "yes", PartnerSeenAlone: alone,
			SignedAt: schema.Timestamp(string(d) + "T11:00:00+01:00"), SignedBy: c.OfficerID})})
	}
	confirmedTo := func(d schema.Date) schema.Date { // confirmed so that d is its last day in date
		for back := 80; back < 100; back++ {
			if on := schema.DateOf(d.Time().AddDate(0, 0, -back)); policy.MonthsAfter(on, compliance.HouseholdConfirmMonths) == d {
				return on
			}
		}
		t.Fatalf("no confirmation in date to %s exactly", d)
		return ""
	}
	// A partner who leaves on the edge, seen alone the day before; a
	// child added on it.
	member(cases[0], schema.HouseholdMember{Relation: "partner", Residence: "lives_here", AddedOn: day(-60), LeftOn: edge,
		ConfirmedOn: day(-20)})
	member(cases[0], schema.HouseholdMember{Relation: "own_child", Residence: "lives_here", AddedOn: edge, ConfirmedOn: edge,
		ChildVictimInOwnRight: "yes"})
	visit(cases[0], day(-1), "yes")
	// A partner added on the edge and seen, not alone, on it; a child
	// leaving on it, unanswered, another leaving the day after, not known.
	member(cases[1], schema.HouseholdMember{Relation: "partner", Residence: "lives_here", AddedOn: edge, ConfirmedOn: edge})
	member(cases[1], schema.HouseholdMember{Relation: "own_child", Residence: "lives_here", LeftOn: edge, ConfirmedOn: day(-10)})
	member(cases[1], schema.HouseholdMember{Relation: "step_child", Residence: "lives_here", LeftOn: day(1), ConfirmedOn: day(-10),
		ChildVictimInOwnRight: "not_known"})
	visit(cases[1], edge, "no")
	// Every member confirmed to the edge exactly; a partner seen alone
	// the day after, not alone on the edge.
	member(cases[2], schema.HouseholdMember{Relation: "partner", Residence: "lives_here", ConfirmedOn: confirmedTo(edge)})
	member(cases[2], schema.HouseholdMember{Relation: "own_child", Residence: "lives_here", ConfirmedOn: confirmedTo(edge),
		ChildVictimInOwnRight: "no"})
	visit(cases[2], edge, "no")
	visit(cases[2], day(1), "yes")
	// A partner who left the day after the edge and came back two days
	// later; a member confirmed the day after the edge.
	member(cases[3], schema.HouseholdMember{Relation: "partner", Residence: "lives_here", LeftOn: day(1), ConfirmedOn: day(-5)})
	member(cases[3], schema.HouseholdMember{Relation: "partner", Residence: "lives_here", AddedOn: day(3), ConfirmedOn: day(3)})
	member(cases[3], schema.HouseholdMember{Relation: "other_adult", Residence: "lives_here", ConfirmedOn: day(1)})
	// Only an ex-partner and a child who left before; the partner seen
	// on the edge is not in the household.
	member(cases[4], schema.HouseholdMember{Relation: "ex_partner", Residence: "visits", ConfirmedOn: day(-3)})
	member(cases[4], schema.HouseholdMember{Relation: "own_child", Residence: "lives_here", LeftOn: day(-1), ConfirmedOn: day(-3)})
	visit(cases[4], edge, "yes")
	if err := db.Seed(ctx, serverdb.Actor{UserID: "setup", Role: schema.RoleAdmin}, recs); err != nil {
		t.Fatal(err)
	}

	reached := map[string]bool{}
	for _, sc := range oracleScopes(ds, 1, 2) {
		in, err := svc.Input(ctx, sc.actor, sc.officerID)
		if err != nil {
			t.Fatal(err)
		}
		for _, from := range []schema.Date{day(-30), day(-1), edge, day(1)} {
			for _, asOf := range []schema.Date{day(-1), edge, day(1), day(2), day(3)} {
				if asOf < from {
					continue
				}
				p := compliance.Period{From: from, To: asOf}
				label := fmt.Sprintf("%s %s..%s", sc.name, from, asOf)
				want := compliance.Households(in, p, asOf)
				wantFigures := householdFigures(t, want)
				for _, name := range serverdb.FigureNames(serverdb.MeasureHouseholds) {
					q := serverdb.FigureQuery{Measure: serverdb.MeasureHouseholds, Figure: name, AsOf: asOf, From: from, To: asOf,
						OfficerID: sc.officerID}
					compareFigure(t, label+": "+name, wantFigures[name], sqlFigure(t, db, sc.actor, q))
					for _, id := range wantFigures[name][""].cases {
						if slices.Contains(cases, id) {
							reached[name] = true
						}
					}
				}
				compliance.AddHeadline("households", in, want, p)
				got, covered, err := svc.HouseholdsCounts(ctx, sc.actor, sc.officerID, p, asOf)
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(covered, want.CaseIDs()) {
					t.Errorf("%s: the cases covered differ from the Go measure's", label)
				}
				want.Summarize()
				compliance.DropIDs(want)
				if w, g := string(mustJSON(t, want)), string(mustJSON(t, got)); w != g {
					t.Errorf("%s: the counts from the read model:\n%s\nwant the Go measure's\n%s", label, g, w)
				}
			}
		}
	}
	// The edge cases reach every status of a case.
	for _, name := range []string{"confirmed.numerator", "not_confirmed", "victim_not_known", "victim_unanswered",
		"victim_in_own_right.numerator", "partner_seen_alone.numerator", "partner_seen_not_alone", "partner_not_seen", "no_partner"} {
		if !reached[name] {
			t.Errorf("no edge case is in %s on any day: the test does not reach it", name)
		}
	}
}

// decodeAs decodes a record's fields into T.
func decodeAs[T any](t *testing.T, r schema.Record) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(mustJSON(t, r.Fields), &v); err != nil {
		t.Fatal(err)
	}
	return v
}
