// Package compliance computes the supervisors' compliance measures
// (docs/compliance.md) over the records of the cases in an actor's scope.
// It knows no HTTP and no SQL. Service loads the records through the
// store (serverdb), which enforces the scope, and keeps them decoded for
// the JSON endpoints (package server) and the dashboard alike. The visit
// requirements come from doorstep/schema/policy, the same code the tablet
// runs, so a figure here and a date on the tablet agree.
package compliance

import (
	"cmp"
	"fmt"
	"runtime"
	"slices"
	"sync"

	"doorstep/schema"
	"doorstep/schema/policy"
)

// Period is a closed range of days: From and To both belong to it.
type Period struct {
	From schema.Date `json:"from"`
	To   schema.Date `json:"to"`
}

// Contains reports whether d is a day of the period.
func (p Period) Contains(d schema.Date) bool { return d != "" && p.From <= d && d <= p.To }

// CaseRecords are one case's records, decoded. Visits carry their
// amendments already applied (Group does it).
type CaseRecords struct {
	Case              schema.Case
	Flags             []schema.Flag
	Household         []schema.HouseholdMember
	Visits            []schema.Visit
	Enquiries         []schema.Enquiry
	SafetyAssessments []schema.SafetyAssessment
	Referrals         []schema.Referral

	// memo keeps the case's requirements for the last (policy, as_of)
	// asked, so the measures of one report compute them once (Group sets
	// it; without it every measure computes its own).
	memo *memo
}

type memo struct {
	mu     sync.Mutex
	p      *policy.Policy
	asOf   schema.Date
	reqs   []policy.Requirement
	safety *SafetyDecision

	// index is the policy's reading of the case's visits
	// (policy.IndexVisits), made once for every as-of day.
	indexOnce sync.Once
	index     *policy.VisitIndex
}

// visitIndex is policy.IndexVisits of the case's visits, made once.
//
// The policy is given the case's visits as they are (cr.Visits, read
// only), not copies: the index it makes of them once (their days and
// instants parsed, the signed ones of the case kept, in the policy's
// order) is what every as-of day reads. A copy of the signed visits with
// only the fields the policy reads, sorted beforehand (decision 0095's
// policyVisits), saved each as-of day a pass over the visits before the
// index existed; since, it only copied them (about 9 MB a 500-case
// team's page) and parsed and sorted them a second time (decision 0116).
// The requirements are the same (TestPolicyVisitsSameRequirements).
func (m *memo) visitIndex(cr *CaseRecords) *policy.VisitIndex {
	m.indexOnce.Do(func() {
		m.index = policy.IndexVisits(policy.CaseFacts{Case: cr.Case, Visits: cr.Visits})
	})
	return m.index
}

// requirements returns the case's requirements as the policy computes them
// on asOf (from Facts), and the safety decision shown beside them. The
// slice is shared: callers only read it.
func (cr CaseRecords) requirements(p *policy.Policy, asOf schema.Date) ([]policy.Requirement, *SafetyDecision) {
	m := cr.memo
	if m != nil {
		m.mu.Lock()
		if m.p == p && m.asOf == asOf {
			reqs, safety := m.reqs, m.safety
			m.mu.Unlock()
			return reqs, safety
		}
		m.mu.Unlock()
	}
	facts, safety := Facts(cr, asOf)
	if m != nil {
		facts.Index = m.visitIndex(&cr) // of facts.Visits, cr.Visits
	}
	reqs := p.Requirements(facts, asOf)
	if m != nil {
		m.mu.Lock()
		m.p, m.asOf, m.reqs, m.safety = p, asOf, reqs, safety
		m.mu.Unlock()
	}
	return reqs, safety
}

// prepareChunk is how many cases one worker computes the requirements of
// at a time.
const prepareChunk = 64

// prepare computes the requirements of every case of cases on asOf, on
// every core, into the cases' memos, so that a measure's own pass over
// the cases (in order, one at a time) finds them computed. Cases without a
// memo (not from Group) are left to compute their own, and so are those
// need (when not nil) says the measure does not look at.
func prepare(cases []CaseRecords, p *policy.Policy, asOf schema.Date, need func(*schema.Case) bool) {
	if runtime.GOMAXPROCS(0) < 2 || len(cases) <= prepareChunk {
		return // one core or few cases: the measure's own pass does it
	}
	parallel((len(cases)+prepareChunk-1)/prepareChunk, func(k int) {
		for i := k * prepareChunk; i < min((k+1)*prepareChunk, len(cases)); i++ {
			if cases[i].memo != nil && (need == nil || need(&cases[i].Case)) {
				cases[i].requirements(p, asOf)
			}
		}
	})
}

// Entities are the entities Group reads; the server lists each of them.
var Entities = []string{"case", "flag", "household_member", "visit", "amendment", "enquiry", "safety_assessment", "referral"}

// Group decodes records (of any of Entities, in any order; others are
// ignored) into one CaseRecords per case, ordered by CRN then id. Each
// visit gets its amendments applied (policy.AmendVisit: in the order made,
// by the instant of amended_at, then id). Records whose case is not among the records are dropped: the store
// answered them from a scope the case itself is not in.
func Group(recs []schema.RawRecord) ([]CaseRecords, error) {
	byCase := map[string]*CaseRecords{}
	for _, r := range recs {
		if r.Entity != "case" {
			continue
		}
		var c schema.Case
		if err := decode(r, &c, func(v *schema.Case) (*string, *string) { return &v.ID, &v.CaseID }); err != nil {
			return nil, err
		}
		byCase[r.ID] = &CaseRecords{Case: c, memo: &memo{}}
	}
	amendments := map[string][]schema.Amendment{} // by visit id
	// The visits, most of the records, are decoded last, each into its
	// case's slice made to the case's count: appended to a slice that grew
	// as it went, a 500-case team's 18,000 visits (about 600 bytes each
	// decoded) were copied again and again, about a third of Group's time
	// (decision 0086).
	visits := make([]int, 0, len(recs)) // their places in recs
	nvisits := map[*CaseRecords]int{}
	for i, r := range recs {
		cr := byCase[r.CaseID]
		if cr == nil || r.Entity == "case" {
			continue
		}
		var err error
		switch r.Entity {
		case "flag":
			var v schema.Flag
			err = decode(r, &v, func(v *schema.Flag) (*string, *string) { return &v.ID, &v.CaseID })
			cr.Flags = append(cr.Flags, v)
		case "household_member":
			var v schema.HouseholdMember
			err = decode(r, &v, func(v *schema.HouseholdMember) (*string, *string) { return &v.ID, &v.CaseID })
			cr.Household = append(cr.Household, v)
		case "enquiry":
			var v schema.Enquiry
			err = decode(r, &v, func(v *schema.Enquiry) (*string, *string) { return &v.ID, &v.CaseID })
			cr.Enquiries = append(cr.Enquiries, v)
		case "safety_assessment":
			var v schema.SafetyAssessment
			err = decode(r, &v, func(v *schema.SafetyAssessment) (*string, *string) { return &v.ID, &v.CaseID })
			cr.SafetyAssessments = append(cr.SafetyAssessments, v)
		case "referral":
			var v schema.Referral
			err = decode(r, &v, func(v *schema.Referral) (*string, *string) { return &v.ID, &v.CaseID })
			cr.Referrals = append(cr.Referrals, v)
		case "visit":
			visits = append(visits, i)
			nvisits[cr]++
		case "amendment":
			var a schema.Amendment
			err = decode(r, &a, func(v *schema.Amendment) (*string, *string) { return &v.ID, &v.CaseID })
			amendments[a.VisitID] = append(amendments[a.VisitID], a)
		}
		if err != nil {
			return nil, err
		}
	}
	for cr, n := range nvisits {
		cr.Visits = make([]schema.Visit, 0, n)
	}
	var arena stringArena // the visits' strings (decodeVisit)
	for _, i := range visits {
		r := &recs[i]
		// Each visit is decoded in its place in its case's slice: decoded
		// into a variable of its own and then copied there, every visit
		// (about 600 bytes) was a heap allocation of its own, a team's
		// 18,000 of them 8 MB a page (decision 0103).
		cr := byCase[r.CaseID]
		cr.Visits = append(cr.Visits, schema.Visit{})
		v := &cr.Visits[len(cr.Visits)-1]
		if err := decodeVisit(*r, v, &arena); err != nil {
			return nil, err
		}
		if as := amendments[r.ID]; len(as) > 0 {
			var err error
			if *v, err = policy.AmendVisit(*v, as); err != nil {
				return nil, fmt.Errorf("compliance: %w", err)
			}
		}
	}
	out := make([]CaseRecords, 0, len(byCase))
	for _, cr := range byCase {
		out = append(out, *cr)
	}
	slices.SortFunc(out, func(a, b CaseRecords) int {
		return cmp.Or(cmp.Compare(a.Case.CRN, b.Case.CRN), cmp.Compare(a.Case.ID, b.Case.ID))
	})
	return out, nil
}
