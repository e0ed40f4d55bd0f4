package dashboard

import (
	"testing"

	"doorstep/schema/synth"
	"doorstep/server/compliance"
)

// TestPagesComputeAWorkloadOnceADay: the overview and the print page
// compute measure 8's workload report once for the as-of day and once for
// the previous period's last day, though the workload panel, its headline
// and measure 2's headline each ask for both. Before, five reports a page.
// Not parallel: the count is the process's.
func TestPagesComputeAWorkloadOnceADay(t *testing.T) {
	srv, sup := synthServer(t, synth.Options{Teams: 2, OfficersPerTeam: 2, CasesPerOfficer: 4, HistoryDays: 120, Seed: 3})
	tok, err := newSite(srv).dashSessionToken(sup)
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/dashboard/", "/dashboard/print"} {
		before := compliance.WorkloadsComputed()
		dashGet(t, srv, tok, path)
		if n := compliance.WorkloadsComputed() - before; n != 2 {
			t.Errorf("GET %s computed %d workload reports, want 2 (the as-of day and the previous period's last)", path, n)
		}
	}
}
