package compliance

import (
	"slices"

	"doorstep/schema"
	"doorstep/schema/policy"
)

// ReqCount is a count of requirements with the (distinct) cases behind it.
type ReqCount struct {
	Requirements int `json:"requirements"`
	Cases        IDs `json:"cases"`
}

func (x *ReqCount) add(caseID string) { x.Requirements++; x.Cases.add(caseID) }

// ExemptionFigures are the exemption measure's figures for one set of
// cases (field-anchors 5(c) #3: due visits closed by a manager's exemption
// or a safety assessment not approved, with reasons).
type ExemptionFigures struct {
	// Due: every requirement of every rule due in the period, on or before
	// as_of, that has had its chance: met, missed or exempted. Open ones
	// (due on as_of, not met yet) and cancelled ones are not in it.
	Due      ReqCount `json:"due"`
	Exempted ReqCount `json:"exempted"`
	// Percent: exempted requirements over due requirements.
	Percent *float64 `json:"percent"`
	Met     ReqCount `json:"met"`
	Missed  ReqCount `json:"missed"`
	// MetDespiteExemption: met by a visit although an exemption matched
	// (counted in Met, not in Exempted).
	MetDespiteExemption ReqCount          `json:"met_despite_exemption"`
	Reasons             []ExemptionReason `json:"exempted_reasons"`
	// SafetyNotApproved and SafetyExempted: the cases whose latest safety
	// assessment of the current address stood decided so on as_of.
	SafetyNotApproved IDs `json:"safety_not_approved"`
	SafetyExempted    IDs `json:"safety_exempted"`
}

// ExemptionReason is one exempted requirement and why.
type ExemptionReason struct {
	CaseID      string         `json:"case_id"`
	RuleID      string         `json:"rule_id"`
	Trigger     policy.Trigger `json:"trigger"`
	TriggeredOn schema.Date    `json:"triggered_on"`
	Recurrence  int            `json:"recurrence"`
	DueOn       schema.Date    `json:"due_on"`
	Reason      string         `json:"reason"`
	ApprovedBy  string         `json:"approved_by"`
}

func (f *ExemptionFigures) count(c schema.Case, reqs []policy.Requirement, safety *SafetyDecision) {
	for _, r := range reqs {
		switch r.Status {
		case policy.StatusMet:
			f.Due.add(c.ID)
			f.Met.add(c.ID)
			if r.Reason != "" {
				f.MetDespiteExemption.add(c.ID)
			}
		case policy.StatusMissed:
			f.Due.add(c.ID)
			f.Missed.add(c.ID)
		case policy.StatusExempted:
			f.Due.add(c.ID)
			f.Exempted.add(c.ID)
			f.Reasons = append(f.Reasons, ExemptionReason{CaseID: c.ID, RuleID: r.RuleID, Trigger: r.Trigger, TriggeredOn: r.TriggeredOn,
				Recurrence: r.Recurrence, DueOn: r.DueOn, Reason: r.Reason, ApprovedBy: r.ApprovedBy})
		}
	}
	if safety != nil {
		switch safety.Decision {
		case "not_approved":
			f.SafetyNotApproved.add(c.ID)
		case "exempted":
			f.SafetyExempted.add(c.ID)
		}
	}
}

func (f *ExemptionFigures) finish() {
	for _, x := range []*IDs{&f.Due.Cases, &f.Exempted.Cases, &f.Met.Cases, &f.Missed.Cases, &f.MetDespiteExemption.Cases,
		&f.SafetyNotApproved, &f.SafetyExempted} {
		x.finish()
	}
	f.Percent = percent(f.Exempted.Requirements, f.Due.Requirements)
	if f.Reasons == nil {
		f.Reasons = []ExemptionReason{}
	}
	sortReasons(f.Reasons)
}

// ExemptionsReport is the exemption measure over a period.
type ExemptionsReport struct {
	Measure     string                        `json:"measure"`
	Period      Period                        `json:"period"`
	AsOf        schema.Date                   `json:"as_of"`
	RuleVersion string                        `json:"rule_version"`
	OfficerID   string                        `json:"officer_id,omitempty"`
	Totals      ExemptionFigures              `json:"totals"`
	Teams       []Breakdown[ExemptionFigures] `json:"teams"`
	Officers    []Breakdown[ExemptionFigures] `json:"officers"`
	// Headline: set by the JSON API (Judge), not by the measure.
	Headline *Headline `json:"headline,omitempty"`
}

// CaseIDs returns the cases the report covers: those with a requirement
// due, and those with a safety decision shown.
func (r *ExemptionsReport) CaseIDs() []string {
	ids := slices.Concat(r.Totals.Due.Cases.CaseIDs, r.Totals.SafetyNotApproved.CaseIDs, r.Totals.SafetyExempted.CaseIDs)
	slices.Sort(ids)
	return slices.Compact(ids)
}

// Exemptions computes how many of the visits due in the period (every rule
// and trigger, every case in scope) were closed by an exemption: a
// manager's, or a safety assessment decided not_approved or exempted; with
// each reason and approver. Measure 1 shows the same for first visits
// only.
func Exemptions(in Input, period Period, asOf schema.Date) *ExemptionsReport {
	p := in.policy()
	rep := &ExemptionsReport{Measure: "exemptions", Period: period, AsOf: asOf, RuleVersion: p.Version, OfficerID: in.OfficerID}
	g := newGroups[ExemptionFigures]()
	cases := in.cases()
	prepare(cases, p, asOf, func(c *schema.Case) bool { return c.SupervisionStart != "" && c.SupervisionStart <= asOf })
	for _, cr := range cases {
		c := cr.Case
		if c.SupervisionStart == "" || c.SupervisionStart > asOf {
			continue
		}
		reqs, safety := cr.requirements(p, asOf)
		var due []policy.Requirement
		for _, r := range reqs {
			if period.Contains(r.DueOn) && r.DueOn <= asOf {
				due = append(due, r)
			}
		}
		if len(due) == 0 && safety == nil {
			continue
		}
		team, officer := g.of(in, c)
		for _, f := range []*ExemptionFigures{&rep.Totals, team, officer} {
			f.count(c, due, safety)
		}
	}
	rep.Teams, rep.Officers = finishGroups(&rep.Totals, g, func(f *ExemptionFigures) { f.finish() })
	return rep
}
