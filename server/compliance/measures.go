package compliance

import (
	"cmp"
	"math"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"

	"doorstep/schema"
	"doorstep/schema/policy"
)

// Input is what the measures are computed over.
type Input struct {
	// Policy is the visit policy; nil means policy.Default().
	Policy *policy.Policy
	// Cases are the records of the cases in the actor's scope (Group).
	Cases []CaseRecords
	// Officers and Teams name the ids the cases carry; an id missing here
	// is shown with an empty name.
	Officers map[string]string
	Teams    map[string]string
	// OfficerID, when set, keeps only the cases allocated to this officer.
	OfficerID string
	// workloads, when set (KeepWorkloads), keeps Workload's reports of
	// these cases by day.
	workloads *workloads
}

func (in Input) policy() *policy.Policy {
	if in.Policy != nil {
		return in.Policy
	}
	return policy.Default()
}

func (in Input) cases() []CaseRecords {
	if in.OfficerID == "" {
		return in.Cases
	}
	var out []CaseRecords
	for _, c := range in.Cases {
		if c.Case.OfficerID == in.OfficerID {
			out = append(out, c)
		}
	}
	return out
}

// IDs is a count and the cases behind it, sorted.
type IDs struct {
	N       int      `json:"n"`
	CaseIDs []string `json:"case_ids"`
}

func (x *IDs) add(id string) { x.N++; x.CaseIDs = append(x.CaseIDs, id) }

func (x *IDs) finish() {
	x.CaseIDs = uniqueSorted(x.CaseIDs)
	x.N = len(x.CaseIDs)
}

// SafetyDecision is the manager's decision on the latest safety assessment
// of a case's current address.
type SafetyDecision struct {
	AssessmentID string      `json:"assessment_id"`
	Decision     string      `json:"decision"`
	Reason       string      `json:"reason,omitempty"`
	DecidedBy    string      `json:"decided_by,omitempty"`
	DecidedOn    schema.Date `json:"decided_on,omitempty"`
	AssessedOn   schema.Date `json:"assessed_on"`
}

// Facts turns one case's records into the policy's input as it stood on
// asOf (policy.FactsOf, as the tablet does; Group has applied the
// amendments already): the latest safety assessment of the current address
// assessed on or before asOf, decided "not_approved" or "exempted" on or
// before asOf, becomes an exemption of every rule (policy.SafetyExemption).
// It returns that assessment's decision too (nil when there is none to
// show).
func Facts(cr CaseRecords, asOf schema.Date) (policy.CaseFacts, *SafetyDecision) {
	f := policy.FactsOf(policy.Records{Case: cr.Case, Flags: cr.Flags, Household: cr.Household, Visits: cr.Visits,
		Enquiries: cr.Enquiries, SafetyAssessments: cr.SafetyAssessments}, asOf)
	if len(f.Exemptions) == 0 {
		return f, nil
	}
	a, _ := policy.AssessmentAsOf(cr.Case, cr.SafetyAssessments, asOf) // the one behind the exemption
	return f, &SafetyDecision{AssessmentID: a.ID, Decision: a.Decision, Reason: a.DecisionReason, DecidedBy: a.DecidedBy,
		DecidedOn: a.DecidedOn, AssessedOn: a.AssessedOn}
}

// daFlags returns the domestic-abuse flag types (da_perpetrator,
// da_victim) of the case live on some day from start to end: a flag is
// live from its start_date (always, without one) to the day before its
// ended_on.
func daFlags(flags []schema.Flag, start, end schema.Date) []string {
	var out []string
	for _, f := range flags {
		if f.Type != "da_perpetrator" && f.Type != "da_victim" {
			continue
		}
		if (f.StartDate == "" || f.StartDate <= end) && (f.EndedOn == "" || f.EndedOn > start) && !slices.Contains(out, f.Type) {
			out = append(out, f.Type)
		}
	}
	slices.Sort(out)
	return out
}

func percent(num, den int) *float64 {
	if den == 0 {
		return nil
	}
	p := math.Round(float64(num)*1000/float64(den)) / 10
	return &p
}

// Breakdown is a team's or an officer's figures.
type Breakdown[F any] struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	TeamID string `json:"team_id,omitempty"`
	F      F      `json:"figures"`
}

// groups collects per-team and per-officer figures, each sorted by name
// then id.
type groups[F any] struct {
	teams, officers map[string]*Breakdown[F]
}

func newGroups[F any]() groups[F] {
	return groups[F]{teams: map[string]*Breakdown[F]{}, officers: map[string]*Breakdown[F]{}}
}

func (g groups[F]) of(in Input, c schema.Case) (team, officer *F) {
	t := g.teams[c.TeamID]
	if t == nil {
		t = &Breakdown[F]{ID: c.TeamID, Name: in.Teams[c.TeamID]}
		g.teams[c.TeamID] = t
	}
	o := g.officers[c.OfficerID]
	if o == nil {
		o = &Breakdown[F]{ID: c.OfficerID, Name: in.Officers[c.OfficerID], TeamID: c.TeamID}
		g.officers[c.OfficerID] = o
	}
	return &t.F, &o.F
}

func sortedGroups[F any](m map[string]*Breakdown[F], finish func(*F)) []Breakdown[F] {
	out := make([]Breakdown[F], 0, len(m))
	for _, g := range m {
		finish(&g.F)
		out = append(out, *g)
	}
	slices.SortFunc(out, func(a, b Breakdown[F]) int { return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.ID, b.ID)) })
	return out
}

// finishGroups finishes totals and every team's and officer's figures
// (sorting their id lists), on every core: each finish touches only its
// own figures. It returns the teams and officers sorted by name then id.
func finishGroups[F any](totals *F, g groups[F], finish func(*F)) (teams, officers []Breakdown[F]) {
	all := make([]*F, 0, 1+len(g.teams)+len(g.officers))
	all = append(all, totals) // the largest first
	for _, m := range []map[string]*Breakdown[F]{g.teams, g.officers} {
		for _, b := range m {
			all = append(all, &b.F)
		}
	}
	parallel(len(all), func(i int) { finish(all[i]) })
	noop := func(*F) {}
	return sortedGroups(g.teams, noop), sortedGroups(g.officers, noop)
}

// parallel calls f(0) .. f(n-1), on every core, each exactly once.
func parallel(n int, f func(i int)) {
	workers := min(runtime.GOMAXPROCS(0), n)
	if workers < 2 {
		for i := range n {
			f(i)
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := int(next.Add(1)) - 1; i < n; i = int(next.Add(1)) - 1 {
				f(i)
			}
		})
	}
	wg.Wait()
}

// sortedByIndex returns s sorted by cmp (unstable, as slices.SortFunc):
// the indexes are sorted, then the elements moved once, which is cheaper
// than sorting rows of many fields in place.
func sortedByIndex[T any](s []T, cmp func(a, b *T) int) []T {
	perm := make([]int32, len(s))
	for i := range perm {
		perm[i] = int32(i)
	}
	slices.SortFunc(perm, func(i, j int32) int { return cmp(&s[i], &s[j]) })
	out := make([]T, len(s))
	for k, i := range perm {
		out[k] = s[i]
	}
	return out
}
