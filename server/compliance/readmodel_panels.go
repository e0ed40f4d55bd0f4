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
	rep, cases, err := overdueCounts(ctx, fs, actor, in, officerID, teamID, asOf)
	if err != nil {
		return nil, nil, err
	}
	q := overdueQuery(officerID, teamID, asOf)
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
		if p.Weeks, err = fs.Weeks(ctx, actor, q, serverWeeks(weeks)); err != nil {
			return nil, nil, err
		}
	}
	return p, cases, nil
}

// WorkloadPanel is measure 8's panel on the overview from the read model
// (decision 0075): Workload's figures at detail=counts, the headline
// (WorkloadPlanned beside the previous period's last day) and the
// requirements due in the WorkloadWeeks after each week's end
// (WorkloadDue), none read from a decoded record.
type WorkloadPanel struct {
	Report   *WorkloadReport
	Planned  Figure
	Headline *Headline
	// Weeks: the requirements due in the weeks after each week's last
	// day; nil without weeks.
	Weeks []int
}

// workloadPanel is measure 8's panel for the cases of officerID and
// teamID (each when set) in the actor's scope, as of asOf, over period
// (for the headline's previous period), on the snapshot fs; with it, the
// cases it covers (for the audit).
func (s *Service) workloadPanel(ctx context.Context, fs serverdb.Figures, actor serverdb.Actor, officerID, teamID string, period Period, asOf schema.Date, weeks []Period) (*WorkloadPanel, []string, error) {
	in, err := s.names(ctx, officerID)
	if err != nil {
		return nil, nil, err
	}
	rep, cases, err := workloadCounts(ctx, fs, actor, in, officerID, teamID, asOf)
	if err != nil {
		return nil, nil, err
	}
	base := serverdb.FigureQuery{Measure: serverdb.MeasureWorkload, AsOf: asOf, OfficerID: officerID, TeamID: teamID}
	p := &WorkloadPanel{Report: rep}
	// WorkloadPlanned: of the visits due, those with a visit planned by
	// their due date, on asOf and on the previous period's last day.
	plannedOn := func(day schema.Date) (Figure, error) {
		q := base
		q.AsOf, q.Figure = day, "due_cases"
		planned, err := fs.DuePlanned(ctx, actor, q)
		if err != nil {
			return Figure{}, err
		}
		fgs, err := fs.Groups(ctx, actor, q)
		due := 0
		for _, fg := range fgs {
			due += fg.Rows
		}
		return FigureOf(planned, due), err
	}
	if p.Planned, err = plannedOn(asOf); err != nil {
		return nil, nil, err
	}
	prev := PreviousPeriod(period)
	before, err := plannedOn(prev.To)
	if err != nil {
		return nil, nil, err
	}
	p.Headline = Judge(in.policy(), "workload", p.Planned, PreviousFigure{Figure: before, Period: prev})
	if len(weeks) > 0 {
		q := base
		q.Figure = "due_cases"
		if p.Weeks, err = fs.Weeks(ctx, actor, q, serverWeeks(weeks)); err != nil {
			return nil, nil, err
		}
	}
	return p, cases, nil
}

// serverWeeks are weeks as the read model's.
func serverWeeks(weeks []Period) []serverdb.Week {
	out := make([]serverdb.Week, len(weeks))
	for i, w := range weeks {
		out[i] = serverdb.Week{From: w.From, To: w.To}
	}
	return out
}

// ContactsPanel is measure 3's panel on the overview from the read model
// (decision 0075): Contacts' figures at detail=counts with its headline,
// and the home share of each week's contacts (ContactsHomeShares), none
// read from a decoded record.
type ContactsPanel struct {
	Report *ContactsReport
	// Weeks: the home share of each week's contacts, as of the week's
	// last day or asOf if earlier; nil without weeks.
	Weeks []Figure
}

// contactsPanel is measure 3's panel for the cases of officerID and
// teamID (each when set) in the actor's scope, over period as of asOf, on
// the snapshot fs: contactsCounts' figures with the team filter too; with
// it, the cases it covers (for the audit).
func (s *Service) contactsPanel(ctx context.Context, fs serverdb.Figures, actor serverdb.Actor, officerID, teamID string, period Period, asOf schema.Date, weeks []Period) (*ContactsPanel, []string, error) {
	in, err := s.names(ctx, officerID)
	if err != nil {
		return nil, nil, err
	}
	rep, cases, err := contactsCounts(ctx, fs, actor, in, officerID, teamID, period, asOf)
	if err != nil {
		return nil, nil, err
	}
	p := &ContactsPanel{Report: rep}
	base := periodQuery(serverdb.MeasureContacts, officerID, teamID, period, asOf)
	if p.Weeks, err = weeklyShareOf(ctx, fs, actor, base, "home_share", weeks); err != nil {
		return nil, nil, err
	}
	return p, cases, nil
}

// previousShare is measure slug's headline, cur beside the share figure
// (its numerator and denominator) of base's measure over the period
// before period, as of its last day.
func previousShare(ctx context.Context, fs serverdb.Figures, actor serverdb.Actor, in Input, slug string,
	base serverdb.FigureQuery, period Period, cur Figure, share string) (*Headline, error) {
	prev := PreviousPeriod(period)
	q := base
	q.From, q.To, q.AsOf = prev.From, prev.To, prev.To
	nd, err := fs.Totals(ctx, actor, q, []string{share + ".numerator", share + ".denominator"})
	if err != nil {
		return nil, err
	}
	return Judge(in.policy(), slug, cur, PreviousFigure{Figure: FigureOf(nd[0], nd[1]), Period: prev}), nil
}

// weeklyShareOf is the share figure of base's measure (its numerator and
// denominator) over each of weeks, in one statement; nil without weeks.
func weeklyShareOf(ctx context.Context, fs serverdb.Figures, actor serverdb.Actor, base serverdb.FigureQuery, share string, weeks []Period) ([]Figure, error) {
	if len(weeks) == 0 {
		return nil, nil
	}
	nd, err := fs.WeeksOf(ctx, actor, base, []string{share + ".numerator", share + ".denominator"}, serverWeeks(weeks))
	if err != nil {
		return nil, err
	}
	out := make([]Figure, len(weeks))
	for i := range out {
		out[i] = FigureOf(nd[0][i], nd[1][i])
	}
	return out, nil
}

// HouseholdsPanel is measure 5's panel on the overview from the read
// model (decision 0075): Households' figures at detail=counts with its
// headline, and each week's home visits with every child seen or a
// reason given (HouseholdsChildrenSeen), none read from a decoded record.
type HouseholdsPanel struct {
	Report *HouseholdsReport
	// Weeks: each week's children seen, as of asOf; nil without weeks.
	Weeks []Figure
}

// householdsPanel is measure 5's panel for the cases of officerID and
// teamID (each when set) in the actor's scope, over period as of asOf,
// on the snapshot fs: householdsCounts' figures with the team filter
// too; with it, the cases it covers (for the audit).
func (s *Service) householdsPanel(ctx context.Context, fs serverdb.Figures, actor serverdb.Actor, officerID, teamID string, period Period, asOf schema.Date, weeks []Period) (*HouseholdsPanel, []string, error) {
	in, err := s.names(ctx, officerID)
	if err != nil {
		return nil, nil, err
	}
	rep, cases, err := householdsCounts(ctx, fs, actor, in, officerID, teamID, period, asOf)
	if err != nil {
		return nil, nil, err
	}
	p := &HouseholdsPanel{Report: rep}
	base := periodQuery(serverdb.MeasureHouseholds, officerID, teamID, period, asOf)
	if p.Weeks, err = weeklyShareOf(ctx, fs, actor, base, "children_seen", weeks); err != nil {
		return nil, nil, err
	}
	return p, cases, nil
}

// QAPanel is measure 10's panel on the overview from the read model
// (decision 0075): RiskAssessmentQA's report for the page's cases, its
// headline beside the previous period's, and the share rated sufficient
// from the period's start to each week's end (as of that day or asOf if
// earlier), none read from a decoded record.
type QAPanel struct {
	Report   *QAReport
	Headline *Headline
	// Weeks: nil without weeks.
	Weeks []Figure
}

// qaPanel is measure 10's panel for the cases of officerID and teamID
// (each when set) in the actor's scope, over period as of asOf, on the
// snapshot fs; with it, the cases it covers (for the audit).
func (s *Service) qaPanel(ctx context.Context, fs serverdb.Figures, actor serverdb.Actor, officerID, teamID string, period Period, asOf schema.Date, weeks []Period) (*QAPanel, []string, error) {
	in, err := s.names(ctx, officerID)
	if err != nil {
		return nil, nil, err
	}
	// The period's, the previous one's and each week's reports, from
	// their rows read once for all (decision 0077): each what
	// qaFromReadModel gives for it.
	prev := PreviousPeriod(period)
	type asked struct {
		period Period
		asOf   schema.Date
	}
	all := []asked{{period, asOf}, {prev, prev.To}}
	for _, w := range weeks {
		all = append(all, asked{Period{From: period.From, To: w.To}, min(w.To, asOf)})
	}
	window := qaQuery(officerID, period, asOf)
	for _, a := range all {
		q := qaQuery(officerID, a.period, a.asOf)
		window.From, window.End = min(window.From, q.From), max(window.End, q.End)
	}
	rows, err := fs.QAWindow(ctx, actor, window)
	if err != nil {
		return nil, nil, err
	}
	reps := make([]*QAReport, len(all))
	for i, a := range all {
		q := qaQuery(officerID, a.period, a.asOf)
		eligible, err := rows.Eligible(q)
		if err != nil {
			return nil, nil, err
		}
		ratings, err := rows.Ratings(q)
		if err != nil {
			return nil, nil, err
		}
		reps[i] = qaReportOf(in, officerID, teamID, a.period, a.asOf, QASamplePerOfficer, eligible, ratings)
	}
	sufficient := func(r *QAReport) Figure {
		x := r.Totals.Sufficient
		return FigureOf(x.Numerator.N, x.Denominator.N)
	}
	rep := reps[0]
	p := &QAPanel{Report: rep, Headline: Judge(in.policy(), "risk-assessment-qa", sufficient(rep),
		PreviousFigure{Figure: sufficient(reps[1]), Period: prev})}
	for _, wr := range reps[2:] {
		p.Weeks = append(p.Weeks, sufficient(wr))
	}
	return p, rep.CaseIDs(), nil
}

// Names is the officers' and teams' names and the policy, as Input holds
// them, without a case: what a page built wholly from the read model
// needs of the records' input (decision 0075). Those ctx holds
// (WithNames), else read now.
func (s *Service) Names(ctx context.Context) (Input, error) { return s.names(ctx, "") }
