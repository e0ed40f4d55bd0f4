package compliance_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"doorstep/schema"
	"doorstep/schema/synth"
	"doorstep/server/compliance"
	"doorstep/server/serverdb"
)

// oracleScope is a reader of the measures: an actor, and an officer
// filter.
type oracleScope struct {
	name      string
	actor     serverdb.Actor
	officerID string
}

// oracleScopes are the scopes the oracle tests compare in: an admin, the
// supervisor of team supTeam, an admin filtering on an officer of team
// officerTeam, and that officer.
func oracleScopes(ds *synth.Dataset, supTeam, officerTeam int) []oracleScope {
	var sup, officer schema.User
	for _, u := range ds.Users {
		if u.Role == schema.RoleSupervisor && u.TeamID == ds.Teams[supTeam].ID {
			sup = u
		}
		if u.Role == schema.RoleOfficer && officer.ID == "" && u.TeamID == ds.Teams[officerTeam].ID {
			officer = u
		}
	}
	admin := serverdb.Actor{UserID: "admin", Role: schema.RoleAdmin}
	return []oracleScope{{"admin", admin, ""}, {"supervisor", serverdb.ActorOf(sup, ""), ""},
		{"officer filter", admin, officer.ID}, {"officer", serverdb.ActorOf(officer, ""), ""}}
}

func exemptionsFigures(rep *compliance.ExemptionsReport) goFigures {
	g := goFigures{}
	add := func(group string, f compliance.ExemptionFigures) {
		for name, x := range map[string]compliance.ReqCount{"due": f.Due, "exempted": f.Exempted, "met": f.Met, "missed": f.Missed,
			"met_despite_exemption": f.MetDespiteExemption} {
			g.put(name, group, fig{rows: x.Requirements, cases: x.Cases.CaseIDs})
		}
		g.put("safety_not_approved", group, idsFig(f.SafetyNotApproved))
		g.put("safety_exempted", group, idsFig(f.SafetyExempted))
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

// TestReadModelExemptionsAgree computes the exemptions report both ways on
// the synthetic service, for an admin, a supervisor, an officer filter and
// an officer, over periods ending on several days: every figure's totals,
// case list and per-team and per-officer count, and the whole answer at
// detail=counts (reasons and headline included), byte for byte.
func TestReadModelExemptionsAgree(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, ds := readModelService(t)
	svc := compliance.NewService(db, nil)

	scopes := oracleScopes(ds, 0, 1)
	seen := map[string]int{}
	for _, asOf := range []schema.Date{"2026-11-23", "2026-09-30", "2026-03-15"} {
		for _, months := range []int{-6, -1} {
			period := compliance.Period{From: schema.DateOf(asOf.Time().AddDate(0, months, 0)), To: asOf}
			for _, sc := range scopes {
				label := fmt.Sprintf("%s over %s..%s", sc.name, period.From, period.To)
				in, err := svc.Input(ctx, sc.actor, sc.officerID)
				if err != nil {
					t.Fatal(err)
				}
				rep := compliance.Exemptions(in, period, asOf)
				want := exemptionsFigures(rep)
				for _, name := range serverdb.FigureNames(serverdb.MeasureExemptions) {
					q := serverdb.FigureQuery{Measure: serverdb.MeasureExemptions, Figure: name, AsOf: asOf, From: period.From,
						To: period.To, OfficerID: sc.officerID}
					compareFigure(t, label+": "+name, want[name], sqlFigure(t, db, sc.actor, q))
					seen[name] += len(want[name][""].cases)
				}

				compliance.AddHeadline("exemptions", in, rep, period)
				rep.Summarize()
				compliance.DropIDs(rep)
				wantJSON, err := json.Marshal(rep)
				if err != nil {
					t.Fatal(err)
				}
				got, cases, err := svc.ExemptionsCounts(ctx, sc.actor, sc.officerID, period, asOf)
				if err != nil {
					t.Fatalf("%s: %v", label, err)
				}
				gotJSON, err := json.Marshal(got)
				if err != nil {
					t.Fatal(err)
				}
				if string(gotJSON) != string(wantJSON) {
					t.Errorf("%s: the read model's answer at detail=counts\n%s\nwant the Go measure's\n%s", label, gotJSON, wantJSON)
				}
				full := compliance.Exemptions(in, period, asOf)
				if w := full.CaseIDs(); fmt.Sprint(cases) != fmt.Sprint(w) {
					t.Errorf("%s: the read model covers %d cases, the Go measure %d", label, len(cases), len(w))
				}
			}
		}
	}
	// The data must exercise every figure, or the agreement says little.
	for _, name := range serverdb.FigureNames(serverdb.MeasureExemptions) {
		if seen[name] == 0 {
			t.Errorf("no scope or day had a case in figure %s: the synthetic service does not test it", name)
		}
	}
}

// TestPublishedFiguresFromTheReadModel: a publication's figures of the
// measures the read model answers (first home visits, exemptions), which
// ScopeFigures now takes from it, are byte for byte those ComputePeriod
// makes from the records: every count, every case list per team and
// officer, the headline; for an admin over the whole service and over one
// team, and a supervisor.
func TestPublishedFiguresFromTheReadModel(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, ds := readModelService(t)
	svc := compliance.NewService(db, nil)
	var sup schema.User
	for _, u := range ds.Users {
		if u.Role == schema.RoleSupervisor && u.TeamID == ds.Teams[1].ID {
			sup = u
		}
	}
	admin := serverdb.Actor{UserID: "admin", Role: schema.RoleAdmin}
	for _, sc := range []struct {
		name   string
		actor  serverdb.Actor
		teamID string
	}{
		{"admin", admin, ""},
		{"admin, one team", admin, ds.Teams[2].ID},
		{"supervisor", serverdb.ActorOf(sup, ""), sup.TeamID},
	} {
		for _, period := range []compliance.Period{{From: "2026-06-01", To: "2026-08-31"}, {From: "2026-09-01", To: "2026-11-23"}} {
			label := fmt.Sprintf("%s, %s..%s", sc.name, period.From, period.To)
			got, _, err := svc.ScopeFigures(ctx, sc.actor, sc.teamID, period, period.To)
			if err != nil {
				t.Fatalf("%s: %v", label, err)
			}
			in, err := svc.Input(ctx, sc.actor, "")
			if err != nil {
				t.Fatal(err)
			}
			if sc.teamID != "" {
				var cases []compliance.CaseRecords
				for _, cr := range in.Cases {
					if cr.Case.TeamID == sc.teamID {
						cases = append(cases, cr)
					}
				}
				in.Cases = cases
			}
			want, err := compliance.ComputePeriod(in, period, period.To)
			if err != nil {
				t.Fatal(err)
			}
			for _, slug := range []string{"first-home-visits", "exemptions"} {
				if string(got.Measures[slug]) != string(want.Measures[slug]) {
					t.Errorf("%s: %s from the read model\n%s\nwant the Go measure's\n%s", label, slug, got.Measures[slug], want.Measures[slug])
				}
			}
			if a, b := mustJSON(t, got), mustJSON(t, want); string(a) != string(b) {
				t.Errorf("%s: the publication's figures differ from ComputePeriod's", label)
			}
		}
	}
}
