package compliance

import (
	"context"
	"maps"

	"doorstep/schema"
	"doorstep/server/serverdb"
)

// Measure 5 at detail=counts from the read model (serverdb's
// readmodel_households.go): every count of HouseholdFigures is one figure
// query, counted in cases or, for the children seen, in home visits.

// householdCounts are measure 5's counts of f, by the read model's name of
// each (serverdb.FigureNames): the counts of cases, then those of visits.
func householdCounts(f *HouseholdFigures) (cases map[string]*IDs, visits map[string]*VisitIDs) {
	cases = map[string]*IDs{"cases": &f.Cases, "confirmed.numerator": &f.Confirmed.Numerator,
		"confirmed.denominator": &f.Confirmed.Denominator, "not_confirmed": &f.NotConfirmed, "not_recorded": &f.NotRecorded,
		"not_yet_due": &f.NotYetDue, "victim_in_own_right.numerator": &f.VictimInOwnRight.Numerator,
		"victim_in_own_right.denominator": &f.VictimInOwnRight.Denominator, "victim_not_known": &f.VictimNotKnown,
		"victim_unanswered": &f.VictimUnanswered, "partner_seen_alone.numerator": &f.PartnerSeenAlone.Numerator,
		"partner_seen_alone.denominator": &f.PartnerSeenAlone.Denominator, "partner_seen_not_alone": &f.PartnerSeenNotAlone,
		"partner_not_seen": &f.PartnerNotSeen, "no_partner": &f.NoPartner}
	visits = map[string]*VisitIDs{"children_seen.numerator": &f.ChildrenSeen.Numerator,
		"children_seen.denominator": &f.ChildrenSeen.Denominator, "children_all_seen": &f.ChildrenAllSeen,
		"children_unaccounted": &f.ChildrenUnaccounted, "visits_no_children": &f.VisitsNoChildren,
		"child_not_on_record": &f.ChildNotOnRecord}
	return cases, visits
}

// HouseholdsCounts is measure 5 at detail=counts (Households, Summarize,
// DropIDs) with its headline (AddHeadline), from one snapshot of the read
// model; with it, the cases it covers (for the audit).
func (s *Service) HouseholdsCounts(ctx context.Context, actor serverdb.Actor, officerID string, period Period, asOf schema.Date) (rep *HouseholdsReport, cases []string, err error) {
	err = s.readFigures(ctx, func(ctx context.Context, fs serverdb.Figures) error {
		in, err := s.names(ctx, officerID)
		if err != nil {
			return err
		}
		rep, cases, err = householdsCounts(ctx, fs, actor, in, officerID, "", period, asOf)
		return err
	})
	return rep, cases, err
}

// householdsCounts is measure 5 at detail=counts with its headline for
// the cases of officerID and teamID (each when set: the report set's has
// no team, the overview's panel the page's) in the actor's scope, over
// period as of asOf, on the snapshot fs, with the names in; with it, the
// cases it covers.
func householdsCounts(ctx context.Context, fs serverdb.Figures, actor serverdb.Actor, in Input, officerID, teamID string, period Period, asOf schema.Date) (*HouseholdsReport, []string, error) {
	rep := &HouseholdsReport{Measure: serverdb.MeasureHouseholds, Period: period, AsOf: asOf, OfficerID: officerID,
		Cases: []HouseholdCase{}}
	g := newGroups[HouseholdFigures]()
	base := periodQuery(serverdb.MeasureHouseholds, officerID, teamID, period, asOf)
	// The counts and the previous period's headline in one statement
	// (decision 0120), which keeps the case list on the snapshot too.
	prev := PreviousPeriod(period)
	names := serverdb.FigureNames(serverdb.MeasureHouseholds)
	fcs, nd, err := fs.HouseholdCounts(ctx, actor, base, names, periodQuery(serverdb.MeasureHouseholds, officerID, teamID, prev, prev.To),
		[]string{"confirmed.numerator", "confirmed.denominator"})
	if err != nil {
		return nil, nil, err
	}
	addCounts(in, fcs, names, &rep.Totals, g, func(f *HouseholdFigures) map[string]*int {
		cases, visits := householdCounts(f)
		n := countsOf(cases)
		maps.Copy(n, countsOf(visits))
		return n
	})
	finish := func(f *HouseholdFigures) {
		for _, s := range []*CaseShare{&f.Confirmed, &f.VictimInOwnRight, &f.PartnerSeenAlone} {
			s.Percent = percent(s.Numerator.N, s.Denominator.N)
		}
		f.ChildrenSeen.Percent = percent(f.ChildrenSeen.Numerator.N, f.ChildrenSeen.Denominator.N)
	}
	finish(&rep.Totals)
	rep.Teams, rep.Officers = sortedGroups(g.teams, finish), sortedGroups(g.officers, finish)
	rep.Headline = Judge(in.policy(), "households", rep.HeadlineFigure(), PreviousFigure{Figure: FigureOf(nd[0], nd[1]), Period: prev})
	q := base
	q.Figure = "cases"
	cases, err := fs.Cases(ctx, actor, q, "", allCases)
	return rep, cases, err
}
