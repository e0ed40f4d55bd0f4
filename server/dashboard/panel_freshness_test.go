package dashboard

import (
	"fmt"
	"slices"
	"testing"

	"doorstep/server/serverdb"
)

// visitsOf keeps, in their order, the signed visits of the cases asked
// for, as the appends it replaced did (decision 0108); given visits all of
// those cases, it gives the list itself rather than a copy, and otherwise
// a list made to its count.
func TestVisitsOfKeepsTheCasesInOrder(t *testing.T) {
	var vs []serverdb.VisitLatency
	for i := range 300 {
		vs = append(vs, serverdb.VisitLatency{VisitID: fmt.Sprintf("v%03d", i), CaseID: fmt.Sprintf("c%d", i%7), Seconds: float64(i * 13 % 101)})
	}
	appended := func(in map[string]bool) []serverdb.VisitLatency {
		var out []serverdb.VisitLatency
		for _, v := range vs {
			if in[v.CaseID] {
				out = append(out, v)
			}
		}
		return out
	}
	all := map[string]bool{}
	for i := range 7 {
		all[fmt.Sprintf("c%d", i)] = true
	}
	for _, in := range []map[string]bool{all, {"c1": true, "c4": true}, {"c6": true}, {"other": true}, {}} {
		got, want := visitsOf(vs, in), appended(in)
		if !slices.Equal(got, want) {
			t.Errorf("cases %v: %d visits, want %d, or not in order", in, len(got), len(want))
		}
		if len(want) == len(vs) && &got[0] != &vs[0] {
			t.Errorf("cases %v: every visit kept, but copied", in)
		}
		if len(want) < len(vs) && cap(got) != len(want) {
			t.Errorf("cases %v: %d visits in a list of %d places", in, len(got), cap(got))
		}
	}
	if got := visitsOf(nil, all); len(got) != 0 {
		t.Errorf("no visits: got %d", len(got))
	}
}
