package compliance

import (
	"cmp"
	"slices"

	"doorstep/schema"
	"doorstep/schema/policy"
)

// WorkloadWeeks is how far ahead measure 8 looks: 4 weeks from as_of, as_of
// included (as_of .. as_of+27).
const WorkloadWeeks = 4

// WorkloadFigures are measure 8's figures for one set of cases.
type WorkloadFigures struct {
	// Caseload: open cases whose supervision started on or before as_of;
	// DACases and HighRoSH (high, very high) are among them.
	Caseload IDs `json:"caseload"`
	DACases  IDs `json:"da_cases"`
	HighRoSH IDs `json:"high_rosh"`
	// NotStarted: open cases allocated whose supervision starts after
	// as_of; not in the caseload, and their visits are not due yet.
	NotStarted IDs `json:"not_started"`
	// Due: requirements not met, due in the next 4 weeks; ByWeek splits
	// them by week (week 1 starts on as_of).
	Due      int                `json:"due"`
	DueCases IDs                `json:"due_cases"`
	ByWeek   [WorkloadWeeks]int `json:"due_by_week"`
	// Overdue: requirements already past due on as_of (measure 2), kept
	// apart from what falls due.
	Overdue      int `json:"overdue"`
	OverdueCases IDs `json:"overdue_cases"`
	// Planned: visits planned (status planned) for the next 4 weeks.
	Planned VisitIDs `json:"planned"`
}

func (f *WorkloadFigures) finish() {
	for _, x := range []*IDs{&f.Caseload, &f.DACases, &f.HighRoSH, &f.NotStarted, &f.DueCases, &f.OverdueCases} {
		x.finish()
	}
	f.Planned.finish()
}

// WorkloadItem is one requirement falling due in the next 4 weeks.
type WorkloadItem struct {
	CaseID      string         `json:"case_id"`
	CRN         string         `json:"crn"`
	OfficerID   string         `json:"officer_id"`
	OfficerName string         `json:"officer_name"`
	TeamID      string         `json:"team_id"`
	TeamName    string         `json:"team_name"`
	RuleID      string         `json:"rule_id"`
	RuleVersion string         `json:"rule_version"`
	Trigger     policy.Trigger `json:"trigger"`
	TriggeredOn schema.Date    `json:"triggered_on"`
	Recurrence  int            `json:"recurrence"`
	DueOn       schema.Date    `json:"due_on"`
	Week        int            `json:"week"` // 1..4
	// PlannedOn: the first visit planned on or after as_of and on or before
	// the due date, if any.
	PlannedOn schema.Date `json:"planned_on,omitempty"`
}

// WorkloadReport is measure 8 on as_of: per team, per officer (by the
// case's current allocation), and the requirements falling due.
type WorkloadReport struct {
	Measure     string                       `json:"measure"`
	AsOf        schema.Date                  `json:"as_of"`
	Until       schema.Date                  `json:"until"` // the last day looked at: as_of + 27
	RuleVersion string                       `json:"rule_version"`
	OfficerID   string                       `json:"officer_id,omitempty"`
	Totals      WorkloadFigures              `json:"totals"`
	Teams       []Breakdown[WorkloadFigures] `json:"teams"`
	Officers    []Breakdown[WorkloadFigures] `json:"officers"`
	Items       []WorkloadItem               `json:"items"`
}

// CaseIDs returns the cases the report covers.
func (r *WorkloadReport) CaseIDs() []string {
	ids := append(slices.Clone(r.Totals.Caseload.CaseIDs), r.Totals.NotStarted.CaseIDs...)
	slices.Sort(ids)
	return ids
}

// Workload computes measure 8: each officer's caseload and the visits due
// over the next 4 weeks from asOf, from the visit policy: the requirements
// not met and not exempted, due from asOf to asOf+27. Requirements that
// triggers after asOf will add (a new partner, a repeat after a visit not
// yet made) are not known yet.
//
// An Input that keeps its workloads (KeepWorkloads) answers the report it
// computed for asOf before: the report is then shared, and its callers
// only read it.
func Workload(in Input, asOf schema.Date) *WorkloadReport {
	if m := in.workloads.of(in); m != nil {
		return m.get(asOf, func() *WorkloadReport { return workload(in, asOf) })
	}
	return workload(in, asOf)
}

func workload(in Input, asOf schema.Date) *WorkloadReport {
	workloadsComputed.Add(1)
	p := in.policy()
	until := schema.DateOf(asOf.Time().AddDate(0, 0, 7*WorkloadWeeks-1))
	rep := &WorkloadReport{Measure: "workload", AsOf: asOf, Until: until, RuleVersion: p.Version, OfficerID: in.OfficerID,
		Items: []WorkloadItem{}}
	g := newGroups[WorkloadFigures]()
	cases := in.cases()
	prepare(cases, p, asOf, func(c *schema.Case) bool { return !c.Closed && c.SupervisionStart != "" && c.SupervisionStart <= asOf })
	for _, cr := range cases {
		c := cr.Case
		if c.Closed {
			continue
		}
		team, officer := g.of(in, c)
		all := []*WorkloadFigures{&rep.Totals, team, officer}
		if c.SupervisionStart == "" || c.SupervisionStart > asOf {
			for _, f := range all {
				f.NotStarted.add(c.ID)
			}
			continue
		}
		da := len(daFlags(cr.Flags, asOf, asOf)) > 0
		var planned []schema.Visit
		for _, v := range cr.Visits {
			if v.Status != "planned" {
				continue
			}
			if day, ok := visitDay(cmp.Or(v.PlannedAt, v.StartedAt)); ok && asOf <= day && day <= until {
				planned = append(planned, v)
			}
		}
		slices.SortFunc(planned, func(a, b schema.Visit) int { return cmp.Compare(a.PlannedAt, b.PlannedAt) })
		for _, f := range all {
			f.Caseload.add(c.ID)
			if da {
				f.DACases.add(c.ID)
			}
			if c.RoSH == "high" || c.RoSH == "very_high" {
				f.HighRoSH.add(c.ID)
			}
			for _, v := range planned {
				f.Planned.add(v)
			}
		}
		reqs, _ := cr.requirements(p, asOf)
		for _, r := range reqs {
			switch {
			case r.Status == policy.StatusMissed && !r.CaseClosed:
				for _, f := range all {
					f.Overdue++
					f.OverdueCases.add(c.ID)
				}
			case r.Status == policy.StatusOpen && r.DueOn >= asOf && r.DueOn <= until:
				week := days(asOf, r.DueOn)/7 + 1
				it := WorkloadItem{CaseID: c.ID, CRN: c.CRN, OfficerID: c.OfficerID, OfficerName: in.Officers[c.OfficerID],
					TeamID: c.TeamID, TeamName: in.Teams[c.TeamID], RuleID: r.RuleID, RuleVersion: r.RuleVersion, Trigger: r.Trigger,
					TriggeredOn: r.TriggeredOn, Recurrence: r.Recurrence, DueOn: r.DueOn, Week: week}
				for _, v := range planned {
					if day, _ := visitDay(cmp.Or(v.PlannedAt, v.StartedAt)); day <= r.DueOn {
						it.PlannedOn = day
						break
					}
				}
				rep.Items = append(rep.Items, it)
				for _, f := range all {
					f.Due++
					f.DueCases.add(c.ID)
					f.ByWeek[week-1]++
				}
			}
		}
	}
	rep.Teams, rep.Officers = finishGroups(&rep.Totals, g, func(f *WorkloadFigures) { f.finish() })
	slices.SortFunc(rep.Items, func(a, b WorkloadItem) int {
		return cmp.Or(cmp.Compare(a.DueOn, b.DueOn), cmp.Compare(a.CRN, b.CRN), cmp.Compare(a.RuleID, b.RuleID), cmp.Compare(a.TriggeredOn, b.TriggeredOn))
	})
	return rep
}
