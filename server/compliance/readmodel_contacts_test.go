package compliance_test

import (
	"encoding/json"
	"strings"
	"testing"

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

func contactFigures(t *testing.T, rep *compliance.ContactsReport) goFigures {
	teams, officers := map[string]any{}, map[string]any{}
	for _, b := range rep.Teams {
		teams[b.ID] = b.F
	}
	for _, b := range rep.Officers {
		officers[b.ID] = b.F
	}
	return jsonFigures(t, serverdb.MeasureContacts, rep.Totals, teams, officers)
}

func householdFigures(t *testing.T, rep *compliance.HouseholdsReport) goFigures {
	teams, officers := map[string]any{}, map[string]any{}
	for _, b := range rep.Teams {
		teams[b.ID] = b.F
	}
	for _, b := range rep.Officers {
		officers[b.ID] = b.F
	}
	return jsonFigures(t, serverdb.MeasureHouseholds, rep.Totals, teams, officers)
}
