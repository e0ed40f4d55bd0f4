package compliance

import (
	"cmp"
	"context"
	"slices"
	"strings"

	"doorstep/schema"
	"doorstep/server/serverdb"
)

// interventionCounts are measure 6's figures of f, by the read model's
// name of each (serverdb.FigureNames), the statuses aside.
func interventionCounts(f *InterventionFigures) map[string]*RecordIDs {
	return map[string]*RecordIDs{"needed": &f.Needed, "awaiting_decision": &f.AwaitingDecision, "not_referred": &f.NotReferred,
		"referred": &f.Referred, "waiting": &f.Waiting, "withdrawn": &f.Withdrawn, "started": &f.Started, "completed": &f.Completed,
		"referred_share.numerator": &f.ReferredShare.Numerator, "referred_share.denominator": &f.ReferredShare.Denominator,
		"started_share.numerator": &f.StartedShare.Numerator, "started_share.denominator": &f.StartedShare.Denominator,
		"completed_share.numerator": &f.CompletedShare.Numerator, "completed_share.denominator": &f.CompletedShare.Denominator,
		"delivered_share.numerator": &f.DeliveredShare.Numerator, "delivered_share.denominator": &f.DeliveredShare.Denominator}
}

// InterventionsCounts is measure 6 at detail=counts (Interventions,
// Summarize, DropIDs) with its headline (AddHeadline), from one snapshot
// of the read model; with it, the cases it covers (for the audit).
func (s *Service) InterventionsCounts(ctx context.Context, actor serverdb.Actor, officerID string, period Period, asOf schema.Date) (*InterventionsReport, []string, error) {
	return onSnapshot(ctx, s, func(ctx context.Context, fs serverdb.Figures) (*InterventionsReport, []string, error) {
		return s.interventionsCounts(ctx, fs, actor, officerID, "", period, asOf)
	})
}

func (s *Service) interventionsCounts(ctx context.Context, fs serverdb.Figures, actor serverdb.Actor, officerID, teamID string, period Period, asOf schema.Date) (*InterventionsReport, []string, error) {
	in, err := s.names(ctx, officerID)
	if err != nil {
		return nil, nil, err
	}
	rep := &InterventionsReport{Measure: serverdb.MeasureInterventions, Period: period, AsOf: asOf, OfficerID: officerID,
		Needs: []NeedFigures{}, Items: []InterventionItem{}}
	g := newGroups[InterventionFigures]()
	byNeed := map[string]*NeedFigures{}
	// Each figure is counted by need, team and officer: its totals, teams'
	// and officers' figures are sums of its needs'.
	each := func(need, teamID, officerID string, fn func(f *InterventionFigures)) {
		fn(&rep.Totals)
		team, officer := g.of(in, schema.Case{TeamID: teamID, OfficerID: officerID})
		fn(team)
		fn(officer)
		n := byNeed[need]
		if n == nil {
			n = &NeedFigures{Need: need}
			byNeed[need] = n
		}
		fn(&n.F)
	}
	base := serverdb.FigureQuery{Measure: serverdb.MeasureInterventions, AsOf: asOf, From: period.From, To: period.To, OfficerID: officerID,
		TeamID: teamID}
	for _, name := range serverdb.FigureNames(serverdb.MeasureInterventions) {
		if strings.HasPrefix(name, "statuses.") {
			continue // below, in one query
		}
		q := base
		q.Figure = name
		kgs, err := fs.KeyedGroups(ctx, actor, q, "need")
		if err != nil {
			return nil, nil, err
		}
		for _, kg := range kgs {
			each(kg.Keys[0], kg.TeamID, kg.OfficerID, func(f *InterventionFigures) { interventionCounts(f)[name].N += kg.Rows })
		}
	}
	q := base
	q.Figure = "referred"
	kgs, err := fs.KeyedGroups(ctx, actor, q, "need", "st")
	if err != nil {
		return nil, nil, err
	}
	for _, kg := range kgs {
		each(kg.Keys[0], kg.TeamID, kg.OfficerID, func(f *InterventionFigures) {
			if f.Statuses == nil {
				f.Statuses = map[string]*RecordIDs{}
			}
			if f.Statuses[kg.Keys[1]] == nil {
				f.Statuses[kg.Keys[1]] = &RecordIDs{}
			}
			f.Statuses[kg.Keys[1]].N += kg.Rows
		})
	}
	nrs, err := fs.NotReferred(ctx, actor, base)
	if err != nil {
		return nil, nil, err
	}
	for _, nr := range nrs {
		r := NotReferredReason{ReferralID: nr.ReferralID, CaseID: nr.CaseID, Need: nr.Need, Decision: nr.Decision, Reason: nr.Reason}
		each(nr.Need, nr.TeamID, nr.OfficerID, func(f *InterventionFigures) { f.NotReferredReasons = append(f.NotReferredReasons, r) })
	}
	finish := func(f *InterventionFigures) {
		for _, s := range []*RecordShare{&f.ReferredShare, &f.StartedShare, &f.CompletedShare, &f.DeliveredShare} {
			s.Percent = percent(s.Numerator.N, s.Denominator.N)
		}
		if f.NotReferredReasons == nil {
			f.NotReferredReasons = []NotReferredReason{}
		}
		if f.Statuses == nil {
			f.Statuses = map[string]*RecordIDs{}
		}
	}
	finish(&rep.Totals)
	rep.Teams, rep.Officers = sortedGroups(g.teams, finish), sortedGroups(g.officers, finish)
	for _, n := range byNeed {
		finish(&n.F)
		rep.Needs = append(rep.Needs, *n)
	}
	slices.SortFunc(rep.Needs, func(a, b NeedFigures) int { return cmp.Compare(a.Need, b.Need) })
	prev := PreviousPeriod(period)
	pf, err := shareFigure(ctx, fs, actor, serverdb.FigureQuery{Measure: serverdb.MeasureInterventions, AsOf: prev.To, From: prev.From,
		To: prev.To, OfficerID: officerID, TeamID: teamID}, "referred_share.numerator", "referred_share.denominator", false)
	if err != nil {
		return nil, nil, err
	}
	rep.Headline = Judge(in.policy(), "interventions", rep.HeadlineFigure(), PreviousFigure{Figure: pf, Period: prev})
	q = base
	q.Figure = "needed"
	cases, err := fs.Cases(ctx, actor, q, "", allCases)
	return rep, cases, err
}
