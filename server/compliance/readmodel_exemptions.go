package compliance

import (
	"cmp"
	"context"
	"slices"

	"doorstep/schema"
	"doorstep/schema/policy"
	"doorstep/server/serverdb"
)

// exemptionCounts are the exemptions report's figures, by the read
// model's name of each (serverdb.FigureNames): a requirement count each,
// or for the safety figures a count of cases.
func exemptionCounts(f *ExemptionFigures) map[string]*ReqCount {
	return map[string]*ReqCount{"due": &f.Due, "exempted": &f.Exempted, "met": &f.Met, "missed": &f.Missed,
		"met_despite_exemption": &f.MetDespiteExemption}
}

// ExemptionsCounts is the exemptions report at detail=counts (Exemptions,
// Summarize, DropIDs) with its headline (AddHeadline), from one snapshot
// of the read model; with it, the cases it covers (for the audit).
func (s *Service) ExemptionsCounts(ctx context.Context, actor serverdb.Actor, officerID string, period Period, asOf schema.Date) (rep *ExemptionsReport, cases []string, err error) {
	err = s.readFigures(ctx, func(ctx context.Context, fs serverdb.Figures) error {
		rep, cases, err = s.exemptionsCounts(ctx, fs, actor, officerID, "", period, asOf)
		return err
	})
	return rep, cases, err
}

func (s *Service) exemptionsCounts(ctx context.Context, fs serverdb.Figures, actor serverdb.Actor, officerID, teamID string, period Period, asOf schema.Date) (*ExemptionsReport, []string, error) {
	in, err := s.names(ctx, officerID)
	if err != nil {
		return nil, nil, err
	}
	rep := &ExemptionsReport{Measure: serverdb.MeasureExemptions, Period: period, AsOf: asOf, RuleVersion: in.policy().Version,
		OfficerID: officerID}
	g := newGroups[ExemptionFigures]()
	base := serverdb.FigureQuery{Measure: serverdb.MeasureExemptions, AsOf: asOf, From: period.From, To: period.To, OfficerID: officerID,
		TeamID: teamID}
	// The member figures first: the cases with a requirement due or a
	// safety decision shown make the groups, as in Exemptions.
	for _, name := range []string{"due", "safety_not_approved", "safety_exempted", "exempted", "met", "missed", "met_despite_exemption"} {
		q := base
		q.Figure = name
		member := name == "due" || name == "safety_not_approved" || name == "safety_exempted"
		err := countInto(ctx, fs, actor, in, q, &rep.Totals, g, member, func(f *ExemptionFigures, fg serverdb.FigureGroup) {
			switch name {
			case "safety_not_approved":
				f.SafetyNotApproved.N += fg.Cases
			case "safety_exempted":
				f.SafetyExempted.N += fg.Cases
			default:
				x := exemptionCounts(f)[name]
				x.Requirements += fg.Rows
				x.Cases.N += fg.Cases
			}
		})
		if err != nil {
			return nil, nil, err
		}
	}
	exempted, err := fs.ExemptedRequirements(ctx, actor, base)
	if err != nil {
		return nil, nil, err
	}
	for _, e := range exempted {
		x := ExemptionReason{CaseID: e.CaseID, RuleID: e.RuleID, Trigger: policy.Trigger(e.Trigger), TriggeredOn: e.TriggeredOn,
			Recurrence: e.Recurrence, DueOn: e.DueOn, Reason: e.Reason, ApprovedBy: e.ApprovedBy}
		rep.Totals.Reasons = append(rep.Totals.Reasons, x)
		team, officer := g.of(in, schema.Case{TeamID: e.TeamID, OfficerID: e.OfficerID})
		team.Reasons = append(team.Reasons, x)
		officer.Reasons = append(officer.Reasons, x)
	}
	finish := func(f *ExemptionFigures) {
		f.Percent = percent(f.Exempted.Requirements, f.Due.Requirements)
		if f.Reasons == nil {
			f.Reasons = []ExemptionReason{}
		}
		sortReasons(f.Reasons)
	}
	finish(&rep.Totals)
	rep.Teams, rep.Officers = sortedGroups(g.teams, finish), sortedGroups(g.officers, finish)
	prev := PreviousPeriod(period)
	pf, err := totalsFigure(ctx, fs, actor, periodQuery(serverdb.MeasureExemptions, officerID, teamID, prev, prev.To), "exempted", "due")
	if err != nil {
		return nil, nil, err
	}
	rep.Headline = Judge(in.policy(), "exemptions", rep.HeadlineFigure(), PreviousFigure{Figure: pf, Period: prev})
	cases, err := casesOf(ctx, fs, actor, base, "due", "safety_not_approved", "safety_exempted")
	if err != nil {
		return nil, nil, err
	}
	return rep, uniqueSorted(cases), nil
}

// sortReasons orders exempted requirements as the report lists them: by
// due date, case, rule, trigger date and repeat.
func sortReasons(rs []ExemptionReason) {
	slices.SortFunc(rs, func(a, b ExemptionReason) int {
		return cmp.Or(cmp.Compare(a.DueOn, b.DueOn), cmp.Compare(a.CaseID, b.CaseID), cmp.Compare(a.RuleID, b.RuleID),
			cmp.Compare(a.TriggeredOn, b.TriggeredOn), cmp.Compare(a.Recurrence, b.Recurrence))
	})
}
