package policy_test

import (
	"runtime"
	"testing"
	"unsafe"

	"doorstep/schema"
	"doorstep/schema/policy"
)

// TestRequirementsAllocateTheirAnswerOnce: the requirements of a case
// with two years of visits are allocated once, at their size, not grown
// by doubling, which allocated about twice their size again (decision
// 0126). With all Requirements allocates besides them (its reading of the
// visits, the triggers, the dates' strings), one call allocates under two
// and a half times its answer; before, about four times.
func TestRequirementsAllocateTheirAnswerOnce(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector changes what is allocated")
	}
	p := policy.Default()
	c := newCase("high")
	f := policy.CaseFacts{Case: c, Flags: []schema.Flag{daFlag()}}
	for n := 3; n < 730; n += 9 {
		f.Visits = append(f.Visits, homeVisit(string("v"+day(n)), n))
	}
	asOf := day(730)
	reqs := p.Requirements(f, asOf)
	if len(reqs) < 60 {
		t.Fatalf("expected many requirements, got %d", len(reqs))
	}
	if cap(reqs) != len(reqs) {
		t.Errorf("the answer has room for %d requirements, holds %d", cap(reqs), len(reqs))
	}
	const runs = 50
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for range runs {
		p.Requirements(f, asOf)
	}
	runtime.ReadMemStats(&after)
	perCall := (after.TotalAlloc - before.TotalAlloc) / runs
	size := uint64(len(reqs)) * uint64(unsafe.Sizeof(policy.Requirement{}))
	t.Logf("%d requirements, %d bytes; %d bytes allocated a call", len(reqs), size, perCall)
	if perCall > 5*size/2 {
		t.Errorf("a call allocated %d bytes for %d requirements of %d bytes", perCall, len(reqs), size)
	}
}
