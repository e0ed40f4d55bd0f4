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
	// Every figure (the statuses too: a status's needs are its group's
	// referred) from one statement, counted by need, team, officer and
	// status.
	var names []string
	for _, name := range serverdb.FigureNames(serverdb.MeasureInterventions) {
		if !strings.HasPrefix(name, "statuses.") {
			names = append(names, name)
		}
	}
	referred := slices.Index(names, "referred")
	igs, err := fs.InterventionGroups(ctx, actor, base, names)
	if err != nil {
		return nil, nil, err
	}
	// Each F's figures by the index of their name, made once an F.
	figs := map[*InterventionFigures][]*RecordIDs{}
	for _, ig := range igs {
		each(ig.Need, ig.TeamID, ig.OfficerID, func(f *InterventionFigures) {
			x := figs[f]
			if x == nil {
				byName := interventionCounts(f)
				for _, name := range names {
					x = append(x, byName[name])
				}
				figs[f] = x
			}
			for i, n := range ig.N {
				x[i].N += n
			}
			if n := ig.N[referred]; n > 0 {
				if f.Statuses == nil {
					f.Statuses = map[string]*RecordIDs{}
				}
				if f.Statuses[ig.Status] == nil {
					f.Statuses[ig.Status] = &RecordIDs{}
				}
				f.Statuses[ig.Status].N += n
			}
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
	pn, err := fs.InterventionTotals(ctx, actor, serverdb.FigureQuery{Measure: serverdb.MeasureInterventions, AsOf: prev.To, From: prev.From,
		To: prev.To, OfficerID: officerID, TeamID: teamID}, []string{"referred_share.numerator", "referred_share.denominator"})
	if err != nil {
		return nil, nil, err
	}
	rep.Headline = Judge(in.policy(), "interventions", rep.HeadlineFigure(), PreviousFigure{Figure: FigureOf(pn[0], pn[1]), Period: prev})
	q := base
	q.Figure = "needed"
	cases, err := fs.Cases(ctx, actor, q, "", allCases)
	return rep, cases, err
}
