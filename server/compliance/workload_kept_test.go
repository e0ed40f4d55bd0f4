package compliance_test

import (
	"reflect"
	"testing"

	"doorstep/schema"
	"doorstep/server/compliance"
)

// TestKeptWorkloadsAreTheWorkloads: an Input that keeps its workloads
// (KeepWorkloads) answers each day's report as Workload computes it, the
// same report every time it is asked; a copy of it with other cases or
// another officer computes its own.
func TestKeptWorkloadsAreTheWorkloads(t *testing.T) {
	t.Parallel()
	b := &builder{}
	b.caseRec("d1", "o1", "t1", "low", "2026-06-01", "2026-06-01", false)
	b.caseRec("d2", "o2", "t1", "high", "2026-05-01", "2026-05-01", false)
	b.visit("w1", "d2", "home_announced", "2026-06-01", "signed", "completed", "", "")
	cases, err := compliance.Group(raw(t, b.recs))
	if err != nil {
		t.Fatal(err)
	}
	in := compliance.Input{Cases: cases}
	kept := compliance.KeepWorkloads(in)
	for _, day := range []schema.Date{"2026-06-15", "2026-08-01"} {
		want := compliance.Workload(in, day)
		got := compliance.Workload(kept, day)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: kept workload\n got %+v\nwant %+v", day, got, want)
		}
		if again := compliance.Workload(kept, day); again != got {
			t.Errorf("%s: the kept workload was computed again", day)
		}
		if s, w := compliance.OverdueShare(kept, day), compliance.OverdueShare(in, day); !reflect.DeepEqual(s, w) {
			t.Errorf("%s: OverdueShare kept %+v, want %+v", day, s, w)
		}
	}
	one := kept
	one.Cases = cases[:1]
	officer := kept
	officer.OfficerID = "o1"
	named := kept
	named.Officers = map[string]string{"o1": "Officer One", "o2": "Officer Two"}
	named.Teams = map[string]string{"t1": "Team One"}
	for name, x := range map[string]compliance.Input{"other cases": one, "an officer": officer, "other names": named} {
		x0 := compliance.Input{Cases: x.Cases, OfficerID: x.OfficerID, Officers: x.Officers, Teams: x.Teams}
		if got, want := compliance.Workload(x, "2026-08-01"), compliance.Workload(x0, "2026-08-01"); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: workload\n got %+v\nwant %+v", name, got, want)
		}
	}
}
