package compliance

import (
	"reflect"
	"sync"
	"sync/atomic"

	"doorstep/schema"
	"doorstep/schema/policy"
)

// workloadsComputed counts the workload reports computed (WorkloadsComputed).
var workloadsComputed atomic.Int64

// WorkloadsComputed returns how many workload reports (measure 8's, which
// measure 2's headline reads too) the process has computed: what tests
// count to show that a page computes each day's once.
func WorkloadsComputed() int64 { return workloadsComputed.Load() }

// workloads are the workload reports of one Input's cases, by day. A page
// asks for the same day's report several times: the workload panel, its
// headline (WorkloadPlanned) and measure 2's (OverdueShare) on the as-of
// day, and both headlines again on the previous period's last day.
type workloads struct {
	// The Input the reports are of: a copy of it with other cases, another
	// officer, another policy or other names for the officers and teams
	// computes its own (of).
	cases    []CaseRecords
	officer  string
	policy   *policy.Policy
	officers map[string]string
	teams    map[string]string

	mu sync.Mutex
	by map[schema.Date]*WorkloadReport
}

// KeepWorkloads is in keeping the workload reports it computes, each
// computed once a day while in's cases are not changed; for one request's
// pages (the dashboard's), whose callers only read the reports.
func KeepWorkloads(in Input) Input {
	in.workloads = &workloads{cases: in.Cases, officer: in.OfficerID, policy: in.Policy,
		officers: in.Officers, teams: in.Teams, by: map[schema.Date]*WorkloadReport{}}
	return in
}

// of is m when in is the Input m was made for, nil otherwise (or when m
// is nil).
func (m *workloads) of(in Input) *workloads {
	if m == nil || len(in.Cases) != len(m.cases) || in.OfficerID != m.officer || in.Policy != m.policy ||
		!sameMap(in.Officers, m.officers) || !sameMap(in.Teams, m.teams) {
		return nil
	}
	if len(in.Cases) > 0 && &in.Cases[0] != &m.cases[0] {
		return nil
	}
	return m
}

// get is the report of asOf, computed by compute the first time.
func (m *workloads) get(asOf schema.Date, compute func() *WorkloadReport) *WorkloadReport {
	m.mu.Lock()
	defer m.mu.Unlock()
	rep, ok := m.by[asOf]
	if !ok {
		rep = compute()
		m.by[asOf] = rep
	}
	return rep
}

// sameMap is whether a and b are the same map (not merely equal ones: a
// page's input keeps its maps).
func sameMap(a, b map[string]string) bool {
	return reflect.ValueOf(a).UnsafePointer() == reflect.ValueOf(b).UnsafePointer()
}
