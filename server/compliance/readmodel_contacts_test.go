package compliance_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"doorstep/schema"
	"doorstep/server/compliance"
	"doorstep/server/serverdb"
)

// jsonFigures are the figures of a Go report named as the read model
// names them (serverdb.FigureNames(measure)): each name is the figure's
// path in the report's JSON figures, whose value is a count with its ids
// ({"n", "case_ids"}, and "visit_ids" for a count of visits). Read from
// the JSON, so that the oracle names each figure as the API does.
func jsonFigures(t *testing.T, measure string, totals any, teams, officers map[string]any) goFigures {
	t.Helper()
	g := goFigures{}
	add := func(group string, figures any) {
		var doc map[string]any
		if err := json.Unmarshal(mustJSON(t, figures), &doc); err != nil {
			t.Fatal(err)
		}
		for _, name := range serverdb.FigureNames(measure) {
			var node any = doc
			for _, k := range strings.Split(name, ".") {
				m, _ := node.(map[string]any)
				node = m[k]
			}
			x, ok := node.(map[string]any)
			if !ok {
				t.Fatalf("%s: the Go report has no figure %q", measure, name)
			}
			var cases []string
			for _, id := range x["case_ids"].([]any) {
				cases = append(cases, id.(string))
			}
			g.put(name, group, fig{rows: int(x["n"].(float64)), cases: cases})
		}
	}
	add("", totals)
	for id, f := range teams {
		add("team:"+id, f)
	}
	for id, f := range officers {
		add("officer:"+id, f)
	}
	return g
}

// breakdownFigures are a Go report's figures (its totals, teams and
// officers) as the read model names them for measure.
func breakdownFigures[F any](t *testing.T, measure string, totals F, teams, officers []compliance.Breakdown[F]) goFigures {
	byID := func(bs []compliance.Breakdown[F]) map[string]any {
		out := map[string]any{}
		for _, b := range bs {
			out[b.ID] = b.F
		}
		return out
	}
	return jsonFigures(t, measure, totals, byID(teams), byID(officers))
}

func contactFigures(t *testing.T, rep *compliance.ContactsReport) goFigures {
	return breakdownFigures(t, serverdb.MeasureContacts, rep.Totals, rep.Teams, rep.Officers)
}

func householdFigures(t *testing.T, rep *compliance.HouseholdsReport) goFigures {
	return breakdownFigures(t, serverdb.MeasureHouseholds, rep.Totals, rep.Teams, rep.Officers)
}

// TestContactsHouseholdsCountsOnTheService: measures 3 and 5 at
// detail=counts from the read model (one pass a figure set,
// serverdb.Figures.Counts) are, byte for byte, the Go measures' answers
// at that detail with their headlines, on the synthetic service, for an
// admin, a supervisor, an officer filter and an officer, over several
// periods.
func TestContactsHouseholdsCountsOnTheService(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, ds := readModelService(t)
	svc := compliance.NewService(db, nil)
	sup, officer := supervisorAndOfficer(ds, 0, 1)
	admin := serverdb.Actor{UserID: "admin", Role: schema.RoleAdmin}
	for _, sc := range []struct {
		actor     serverdb.Actor
		officerID string
	}{{admin, ""}, {serverdb.ActorOf(sup, ""), ""}, {admin, officer.ID}, {serverdb.ActorOf(officer, ""), ""}} {
		in, err := svc.Input(ctx, sc.actor, sc.officerID)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range []compliance.Period{{From: "2026-08-26", To: "2026-11-23"}, {From: "2026-01-01", To: "2026-06-30"}} {
			label := fmt.Sprintf("%s %s %s..%s", sc.actor.Role, sc.officerID, p.From, p.To)
			contacts := compliance.Contacts(in, p, p.To)
			compliance.AddHeadline("contacts", in, contacts, p)
			households := compliance.Households(in, p, p.To)
			compliance.AddHeadline("households", in, households, p)
			gotC, casesC, err := svc.ContactsCounts(ctx, sc.actor, sc.officerID, p, p.To)
			if err != nil {
				t.Fatal(err)
			}
			gotH, casesH, err := svc.HouseholdsCounts(ctx, sc.actor, sc.officerID, p, p.To)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(casesC, contacts.CaseIDs()) || !slices.Equal(casesH, households.CaseIDs()) {
				t.Errorf("%s: the cases covered differ from the Go measures'", label)
			}
			for _, c := range []struct {
				name      string
				want, got interface{ Summarize() }
			}{{"contacts", contacts, gotC}, {"households", households, gotH}} {
				c.want.Summarize()
				compliance.DropIDs(c.want)
				if w, g := string(mustJSON(t, c.want)), string(mustJSON(t, c.got)); w != g {
					t.Errorf("%s %s from the read model:\n%s\nwant the Go measure's\n%s", label, c.name, g, w)
				}
			}
		}
	}
}
