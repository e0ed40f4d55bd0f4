package compliance

import (
	"cmp"
	"slices"

	"doorstep/schema"
	"doorstep/schema/policy"
)

// OverdueItem is one requirement past its due date with no visit that
// meets it, in an open case.
type OverdueItem struct {
	CaseID        string         `json:"case_id"`
	CRN           string         `json:"crn"`
	Name          string         `json:"name"` // the person's given and family name
	RoSH          string         `json:"rosh"`
	OfficerID     string         `json:"officer_id"`
	OfficerName   string         `json:"officer_name"`
	TeamID        string         `json:"team_id"`
	TeamName      string         `json:"team_name"`
	DomesticAbuse bool           `json:"domestic_abuse"` // a da_perpetrator or da_victim flag live on as_of
	RuleID        string         `json:"rule_id"`
	RuleName      string         `json:"rule_name"`
	RuleVersion   string         `json:"rule_version"`
	Trigger       policy.Trigger `json:"trigger"`
	TriggeredOn   schema.Date    `json:"triggered_on"`
	Source        string         `json:"source"`
	Recurrence    int            `json:"recurrence"`
	DueOn         schema.Date    `json:"due_on"`
	DaysOverdue   int            `json:"days_overdue"`
	Attempts      []string       `json:"attempts,omitempty"`
}

// OverdueFigures count the overdue requirements of a set of cases.
type OverdueFigures struct {
	Requirements int `json:"requirements"`
	// Cases: the cases with at least one overdue requirement.
	Cases          IDs `json:"cases"`
	MaxDaysOverdue int `json:"max_days_overdue"`
}

func (f *OverdueFigures) count(it OverdueItem) {
	f.Requirements++
	f.Cases.add(it.CaseID)
	f.MaxDaysOverdue = max(f.MaxDaysOverdue, it.DaysOverdue)
}

// OverdueReport is measure 2: every overdue requirement on AsOf, most
// overdue first, with totals per team and per officer.
type OverdueReport struct {
	Measure     string                      `json:"measure"`
	AsOf        schema.Date                 `json:"as_of"`
	RuleVersion string                      `json:"rule_version"`
	OfficerID   string                      `json:"officer_id,omitempty"`
	Totals      OverdueFigures              `json:"totals"`
	Teams       []Breakdown[OverdueFigures] `json:"teams"`
	Officers    []Breakdown[OverdueFigures] `json:"officers"`
	Items       []OverdueItem               `json:"items"`
}

// CaseIDs returns the cases the report shows.
func (r *OverdueReport) CaseIDs() []string { return r.Totals.Cases.CaseIDs }

// Overdue computes measure 2, "overdue requirements now": the requirements
// of open cases past their due date on asOf with no visit that meets them
// (policy.Overdue), of every rule and trigger, most overdue first (ties:
// due date, rule, trigger date, CRN; then case id, repeat number and
// trigger source, so that the order is total).
func Overdue(in Input, asOf schema.Date) *OverdueReport {
	p := in.policy()
	rep := &OverdueReport{Measure: "overdue_requirements", AsOf: asOf, RuleVersion: p.Version, OfficerID: in.OfficerID,
		Items: []OverdueItem{}}
	names := map[string]string{}
	for _, r := range p.Rules {
		names[r.ID] = r.Name
	}
	g := newGroups[OverdueFigures]()
	cases := in.cases()
	prepare(cases, p, asOf, nil)
	for _, cr := range cases {
		c := cr.Case
		reqs, _ := cr.requirements(p, asOf)
		od := policy.Overdue(reqs)
		if len(od) == 0 {
			continue
		}
		da := len(daFlags(cr.Flags, asOf, asOf)) > 0
		team, officer := g.of(in, c)
		for _, r := range od {
			it := OverdueItem{CaseID: c.ID, CRN: c.CRN, Name: c.GivenName + " " + c.FamilyName, RoSH: c.RoSH, OfficerID: c.OfficerID, OfficerName: in.Officers[c.OfficerID],
				TeamID: c.TeamID, TeamName: in.Teams[c.TeamID], DomesticAbuse: da,
				RuleID: r.RuleID, RuleName: names[r.RuleID], RuleVersion: r.RuleVersion, Trigger: r.Trigger,
				TriggeredOn: r.TriggeredOn, Source: r.Source, Recurrence: r.Recurrence, DueOn: r.DueOn,
				DaysOverdue: r.DaysOverdue, Attempts: r.Attempts}
			rep.Items = append(rep.Items, it)
			rep.Totals.count(it)
			team.count(it)
			officer.count(it)
		}
	}
	slices.SortFunc(rep.Items, func(a, b OverdueItem) int {
		return cmp.Or(cmp.Compare(b.DaysOverdue, a.DaysOverdue), cmp.Compare(a.DueOn, b.DueOn), cmp.Compare(a.RuleID, b.RuleID),
			cmp.Compare(a.TriggeredOn, b.TriggeredOn), cmp.Compare(a.CRN, b.CRN),
			cmp.Compare(a.CaseID, b.CaseID), cmp.Compare(a.Recurrence, b.Recurrence), cmp.Compare(a.Source, b.Source))
	})
	rep.Teams, rep.Officers = finishGroups(&rep.Totals, g, func(f *OverdueFigures) { f.Cases.finish() })
	return rep
}
