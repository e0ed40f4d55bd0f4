package compliance

import (
	"cmp"
	"slices"

	"doorstep/schema"
	"doorstep/schema/policy"
)

// Outcomes of a first home visit requirement, as measure 1 sorts them.
const (
	OutcomeOnTime        = "on_time"        // due by the period end, met on or before its due date
	OutcomeLate          = "late"           // due by the period end, met after its due date
	OutcomeMissed        = "missed"         // due by the period end, not met
	OutcomeNotYetDue     = "not_yet_due"    // due after the period end, or due on its last day and not met yet
	OutcomeExempted      = "exempted"       // exempted, with reason and approver
	OutcomeCancelled     = "cancelled"      // the case closed before it fell due
	OutcomeNoRequirement = "no_requirement" // no first-visit rule of the policy applies to the case
)

// FirstVisitFigures are measure 1's figures for one set of cases. Every
// count comes with its case ids. Only Numerator over Denominator is the
// percentage; everything else is kept apart from it.
type FirstVisitFigures struct {
	// Cases: domestic-abuse cases whose supervision started in the period.
	Cases IDs `json:"cases"`
	// Denominator: their first home visits due by the period end
	// (on_time + late + missed).
	Denominator IDs `json:"denominator"`
	// Numerator: of those, met on or before the due date.
	Numerator IDs      `json:"numerator"`
	Percent   *float64 `json:"percent"` // null when the denominator is 0
	MetLate   IDs      `json:"met_late"`
	Missed    IDs      `json:"missed"`
	NotYetDue IDs      `json:"not_yet_due"`
	// NotYetDueVisited: of NotYetDue, those already visited, ahead of
	// their due date.
	NotYetDueVisited IDs      `json:"not_yet_due_visited"`
	Exempted         IDs      `json:"exempted"`
	ExemptedReasons  []Excuse `json:"exempted_reasons"`
	Cancelled        IDs      `json:"cancelled"`
	NoRequirement    IDs      `json:"no_requirement"`
	// SafetyNotApproved and SafetyExempted: cases of the measure whose
	// latest safety assessment of the current address was decided
	// "not_approved" or "exempted", shown beside the measure.
	SafetyNotApproved IDs `json:"safety_not_approved"`
	SafetyExempted    IDs `json:"safety_exempted"`
	// VisitedAtAll is the inspection's figure beside Doorstep's: of the
	// same denominator, the cases whose first home visit happened by
	// as_of, on time or late (the 2018 thematic's 19% counts a home visit
	// that took place at all where one was needed).
	VisitedAtAll CaseShare `json:"visited_at_all"`
}

// Excuse is why one case's requirement was exempted, and who approved it.
type Excuse struct {
	CaseID     string `json:"case_id"`
	Reason     string `json:"reason"`
	ApprovedBy string `json:"approved_by"`
}

func (f *FirstVisitFigures) count(c FirstVisitCase) {
	id := c.CaseID
	f.Cases.add(id)
	switch c.Outcome {
	case OutcomeOnTime:
		f.Denominator.add(id)
		f.Numerator.add(id)
		f.VisitedAtAll.count(id, true)
	case OutcomeLate:
		f.Denominator.add(id)
		f.MetLate.add(id)
		f.VisitedAtAll.count(id, true)
	case OutcomeMissed:
		f.Denominator.add(id)
		f.Missed.add(id)
		f.VisitedAtAll.count(id, false)
	case OutcomeNotYetDue:
		f.NotYetDue.add(id)
		if c.MetOn != "" {
			f.NotYetDueVisited.add(id)
		}
	case OutcomeExempted:
		f.Exempted.add(id)
		f.ExemptedReasons = append(f.ExemptedReasons, Excuse{CaseID: id, Reason: c.Reason, ApprovedBy: c.ApprovedBy})
	case OutcomeCancelled:
		f.Cancelled.add(id)
	case OutcomeNoRequirement:
		f.NoRequirement.add(id)
	}
	if c.Safety != nil {
		switch c.Safety.Decision {
		case "not_approved":
			f.SafetyNotApproved.add(id)
		case "exempted":
			f.SafetyExempted.add(id)
		}
	}
}

func (f *FirstVisitFigures) finish() {
	for _, x := range []*IDs{&f.Cases, &f.Denominator, &f.Numerator, &f.MetLate, &f.Missed, &f.NotYetDue,
		&f.NotYetDueVisited, &f.Exempted, &f.Cancelled, &f.NoRequirement, &f.SafetyNotApproved, &f.SafetyExempted} {
		x.finish()
	}
	if f.ExemptedReasons == nil {
		f.ExemptedReasons = []Excuse{}
	}
	slices.SortFunc(f.ExemptedReasons, func(a, b Excuse) int { return cmp.Compare(a.CaseID, b.CaseID) })
	f.Percent = percent(f.Numerator.N, f.Denominator.N)
	f.VisitedAtAll.finish()
}

// FirstVisitCase is one case of measure 1 and its first home visit.
type FirstVisitCase struct {
	CaseID           string      `json:"case_id"`
	CRN              string      `json:"crn"`
	OfficerID        string      `json:"officer_id"`
	OfficerName      string      `json:"officer_name"`
	TeamID           string      `json:"team_id"`
	TeamName         string      `json:"team_name"`
	RoSH             string      `json:"rosh"`
	DAFlags          []string    `json:"da_flags"`
	SupervisionStart schema.Date `json:"supervision_start"`
	Closed           bool        `json:"closed,omitempty"`
	Outcome          string      `json:"outcome"`
	RuleID           string      `json:"rule_id,omitempty"`
	RuleVersion      string      `json:"rule_version,omitempty"`
	DueOn            schema.Date `json:"due_on,omitempty"`
	Status           string      `json:"status,omitempty"` // the requirement's policy status on as_of
	MetBy            string      `json:"met_by,omitempty"`
	MetOn            schema.Date `json:"met_on,omitempty"`
	// DaysLate: for a late visit, met_on minus due_on; for a missed one,
	// the days overdue on as_of (or at closure).
	DaysLate   int             `json:"days_late,omitempty"`
	Reason     string          `json:"reason,omitempty"`
	ApprovedBy string          `json:"approved_by,omitempty"`
	Attempts   []string        `json:"attempts,omitempty"`
	Safety     *SafetyDecision `json:"safety_assessment,omitempty"`
}

// FirstVisitReport is measure 1 over a period: totals, per team, per
// officer (by the case's current allocation) and per case.
type FirstVisitReport struct {
	Measure     string                         `json:"measure"`
	Period      Period                         `json:"period"`
	AsOf        schema.Date                    `json:"as_of"`
	RuleVersion string                         `json:"rule_version"`
	OfficerID   string                         `json:"officer_id,omitempty"`
	Totals      FirstVisitFigures              `json:"totals"`
	Teams       []Breakdown[FirstVisitFigures] `json:"teams"`
	Officers    []Breakdown[FirstVisitFigures] `json:"officers"`
	Cases       []FirstVisitCase               `json:"cases"`
	// Headline: set by the JSON API (Judge), not by the measure.
	Headline *Headline `json:"headline,omitempty"`
}

// CaseIDs returns the cases the report covers.
func (r *FirstVisitReport) CaseIDs() []string { return r.Totals.Cases.CaseIDs }

// FirstHomeVisits computes measure 1, "first home visit on time in
// domestic-abuse cases", over period as the records stood on asOf (the
// period's end, or today when the period has not ended: the caller passes
// the earlier of the two). The cases are those whose supervision started
// in the period, on or before asOf, with a da_perpetrator or da_victim flag
// live on some day from the start to the first visit's due date (or asOf,
// if earlier). Their first home visit is the requirement of a rule with
// trigger supervision_start, recurrence 0.
func FirstHomeVisits(in Input, period Period, asOf schema.Date) *FirstVisitReport {
	p := in.policy()
	rep := &FirstVisitReport{Measure: "first_home_visit_on_time", Period: period, AsOf: asOf, RuleVersion: p.Version,
		OfficerID: in.OfficerID, Cases: []FirstVisitCase{}}
	g := newGroups[FirstVisitFigures]()
	cases := in.cases()
	prepare(cases, p, asOf, func(c *schema.Case) bool { return period.Contains(c.SupervisionStart) && c.SupervisionStart <= asOf })
	for _, cr := range cases {
		c := cr.Case
		start := c.SupervisionStart
		if !period.Contains(start) || start > asOf {
			continue
		}
		var first *policy.Requirement
		reqs, safety := cr.requirements(p, asOf)
		for i, r := range reqs {
			if r.Trigger == policy.TriggerSupervisionStart && r.Recurrence == 0 {
				first = &reqs[i]
				break
			}
		}
		end := asOf
		if first != nil && first.DueOn < end {
			end = first.DueOn
		}
		da := daFlags(cr.Flags, start, end)
		if len(da) == 0 {
			continue
		}
		row := FirstVisitCase{CaseID: c.ID, CRN: c.CRN, OfficerID: c.OfficerID, OfficerName: in.Officers[c.OfficerID],
			TeamID: c.TeamID, TeamName: in.Teams[c.TeamID], RoSH: c.RoSH, DAFlags: da, SupervisionStart: start,
			Closed: c.Closed, Safety: safety}
		if first == nil {
			row.Outcome = OutcomeNoRequirement
		} else {
			r := *first
			row.RuleID, row.RuleVersion, row.DueOn, row.Status = r.RuleID, r.RuleVersion, r.DueOn, string(r.Status)
			row.MetBy, row.MetOn, row.Reason, row.ApprovedBy, row.Attempts = r.MetBy, r.MetOn, r.Reason, r.ApprovedBy, r.Attempts
			switch {
			case r.Status == policy.StatusExempted:
				row.Outcome = OutcomeExempted
			case r.Status == policy.StatusCancelled:
				row.Outcome = OutcomeCancelled
			case r.DueOn > asOf || r.Status == policy.StatusOpen:
				row.Outcome = OutcomeNotYetDue
			case r.Status == policy.StatusMet && r.OnTime():
				row.Outcome = OutcomeOnTime
			case r.Status == policy.StatusMet:
				row.Outcome = OutcomeLate
				row.DaysLate = days(r.DueOn, r.MetOn)
			default: // missed
				row.Outcome = OutcomeMissed
				row.DaysLate = r.DaysOverdue
			}
		}
		rep.Cases = append(rep.Cases, row)
		rep.Totals.count(row)
		team, officer := g.of(in, c)
		team.count(row)
		officer.count(row)
	}
	rep.Teams, rep.Officers = finishGroups(&rep.Totals, g, func(f *FirstVisitFigures) { f.finish() })
	slices.SortFunc(rep.Cases, func(a, b FirstVisitCase) int {
		return cmp.Or(cmp.Compare(a.SupervisionStart, b.SupervisionStart), cmp.Compare(a.CRN, b.CRN), cmp.Compare(a.CaseID, b.CaseID))
	})
	return rep
}

// days returns to minus from, in days.
func days(from, to schema.Date) int {
	return int(to.Time().Sub(from.Time()).Hours() / 24)
}
