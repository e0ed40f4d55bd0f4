package compliance

import (
	"context"

	"doorstep/schema"
	"doorstep/server/serverdb"
)

// The dashboard overview's panels the read model answers whole (decision
// 0065): their figures, each officer's, the headline beside the previous
// period and the cases behind them, for the overview's officer and team
// filters, without a record read or decoded, all on one snapshot
// (OverviewCounts, readmodel_overview.go, decision 0072). The Go measures
// stay the oracle (the dashboard's TestCountedPanelsMatchTheGo).

// namesKey holds, in a context, the officers' and teams' names read once
// (WithNames).
type namesKey struct{}

// WithNames reads the officers' and teams' names once and keeps them in
// the context it returns: the *Counts reports computed with it read them
// from there, not again inside their snapshot, so that several computed
// side by side each hold one of the store's readers, never one and
// waiting for a second (the pool has as few as 4).
func (s *Service) WithNames(ctx context.Context) (context.Context, error) {
	if _, ok := ctx.Value(namesKey{}).(Input); ok {
		return ctx, nil
	}
	in, err := s.names(ctx, "")
	if err != nil {
		return ctx, err
	}
	return context.WithValue(ctx, namesKey{}, in), nil
}

// OverduePanel is measure 2's panel on the overview from the read model
// (decision 0075): Overdue's figures at detail=counts, the requirements
// overdue in domestic-abuse cases, the headline (OverdueShare beside the
// previous period's last day) and the requirements overdue at each week's
// end (OverdueCount), none read from a decoded record.
type OverduePanel struct {
	Report *OverdueReport
	// DA: the overdue requirements in cases with a domestic-abuse flag
	// live on the as-of day.
	DA       int
	Headline *Headline
	// Weeks: the requirements overdue on each week's last day; nil
	// without weeks.
	Weeks []int
}

// overduePanel is measure 2's panel for the cases of officerID and teamID
// (each when set) in the actor's scope, as of asOf, over period (for the
// headline's previous period), on the snapshot fs; with it, the cases it
// covers (for the audit).
func (s *Service) overduePanel(ctx context.Context, fs serverdb.Figures, actor serverdb.Actor, officerID, teamID string, period Period, asOf schema.Date, weeks []Period) (*OverduePanel, []string, error) {
	in, err := s.names(ctx, officerID)
	if err != nil {
		return nil, nil, err
	}
	rep := &OverdueReport{Measure: serverdb.MeasureOverdue, AsOf: asOf, RuleVersion: in.policy().Version, OfficerID: officerID,
		Items: []OverdueItem{}}
	q := serverdb.FigureQuery{Measure: serverdb.MeasureOverdue, Figure: "cases", AsOf: asOf, OfficerID: officerID, TeamID: teamID}
	g := newGroups[OverdueFigures]()
	err = countInto(ctx, fs, actor, in, q, &rep.Totals, g, true, func(f *OverdueFigures, fg serverdb.FigureGroup) {
		f.Requirements += fg.Rows
		f.Cases.N += fg.Cases
		f.MaxDaysOverdue = max(f.MaxDaysOverdue, fg.Max)
	})
	if err != nil {
		return nil, nil, err
	}
	noop := func(*OverdueFigures) {}
	rep.Teams, rep.Officers = sortedGroups(g.teams, noop), sortedGroups(g.officers, noop)
	p := &OverduePanel{Report: rep}
	if p.DA, err = fs.OverdueInDomesticAbuse(ctx, actor, q); err != nil {
		return nil, nil, err
	}
	// OverdueShare: of the caseload, the cases with a visit overdue
	// (measure 8's figures), on asOf and on the previous period's last day.
	shareOn := func(day schema.Date) (Figure, error) {
		n := map[string]int{}
		for _, name := range []string{"overdue_cases", "caseload"} {
			fgs, err := fs.Groups(ctx, actor, serverdb.FigureQuery{Measure: serverdb.MeasureWorkload, Figure: name, AsOf: day,
				OfficerID: officerID, TeamID: teamID})
			if err != nil {
				return Figure{}, err
			}
			for _, fg := range fgs {
				n[name] += fg.Cases
			}
		}
		return FigureOf(n["overdue_cases"], n["caseload"]), nil
	}
	cur, err := shareOn(asOf)
	if err != nil {
		return nil, nil, err
	}
	prev := PreviousPeriod(period)
	before, err := shareOn(prev.To)
	if err != nil {
		return nil, nil, err
	}
	p.Headline = Judge(in.policy(), "overdue", cur, PreviousFigure{Figure: before, Period: prev})
	if len(weeks) > 0 {
		weekly := make([]serverdb.Week, len(weeks))
		for i, w := range weeks {
			weekly[i] = serverdb.Week{From: w.From, To: w.To}
		}
		if p.Weeks, err = fs.Weeks(ctx, actor, q, weekly); err != nil {
			return nil, nil, err
		}
	}
	cases, err := fs.Cases(ctx, actor, q, "", allCases)
	return p, cases, err
}
