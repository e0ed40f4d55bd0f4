package compliance

import (
	"context"
	"slices"

	"doorstep/schema"
	"doorstep/server/serverdb"
)

// The measures the store's read model answers (serverdb.FigureGroups,
// docs/compliance.md "The read model"): their counts come from SQL
// aggregates, without loading or decoding a record, and the cases behind
// a figure page by page (serverdb.FigureCases). The Go measures stay the
// oracle: TestReadModelAgreesWithTheGoMeasures holds the two to the same
// figures and case lists.

// ReadModelMeasures are the measures (by their report's name) whose
// counts and case lists the read model answers.
var ReadModelMeasures = []string{serverdb.MeasureFirstHomeVisit, serverdb.MeasureOverdue, serverdb.MeasureWorkload,
	serverdb.MeasureContacts, serverdb.MeasureHouseholds,
	serverdb.MeasureReviews, serverdb.MeasureInterventions, serverdb.MeasureEnquiries,
	serverdb.MeasureExemptions}

// allCases is how many case ids one read of a whole figure asks for.
const allCases = 1 << 30

// names returns the officers' and teams' names, as Input holds them:
// those ctx holds (WithNames), else read now.
func (s *Service) names(ctx context.Context, officerID string) (Input, error) {
	if n, ok := ctx.Value(namesKey{}).(Input); ok {
		n.Policy, n.OfficerID = s.policy, officerID
		return n, nil
	}
	users, err := s.db.ListUsers(ctx)
	if err != nil {
		return Input{Policy: s.policy, OfficerID: officerID, Officers: map[string]string{}, Teams: map[string]string{}}, err
	}
	teams, err := s.db.ListTeams(ctx)
	in := namesOf(users, teams)
	in.Policy, in.OfficerID = s.policy, officerID
	return in, err
}

// namesOf is the officers' and teams' names of users and teams, as Input
// holds them.
func namesOf(users []schema.User, teams []schema.Team) Input {
	in := Input{Officers: make(map[string]string, len(users)), Teams: make(map[string]string, len(teams))}
	for _, u := range users {
		in.Officers[u.ID] = u.Name
	}
	for _, t := range teams {
		in.Teams[t.ID] = t.Name
	}
	return in
}

// WithNamesOf keeps in ctx the officers' and teams' names of users and
// teams (every user and every team, as the store lists them), as
// WithNames keeps those it reads: for a caller that has read them already
// (the dashboard's filters), so that the answers computed with ctx do not
// read them again (decision 0126).
func WithNamesOf(ctx context.Context, users []schema.User, teams []schema.Team) context.Context {
	return context.WithValue(ctx, namesKey{}, namesOf(users, teams))
}

// countInto adds one figure's groups to totals and to each team's and
// officer's figures; with member, a group not met yet is made (the
// figures that decide which teams and officers a report shows).
func countInto[F any](ctx context.Context, fs serverdb.Figures, actor serverdb.Actor, in Input, q serverdb.FigureQuery,
	totals *F, g groups[F], member bool, set func(f *F, fg serverdb.FigureGroup)) error {
	fgs, err := fs.Groups(ctx, actor, q)
	if err != nil {
		return err
	}
	for _, fg := range fgs {
		set(totals, fg)
		t, o := g.teams[fg.TeamID], g.officers[fg.OfficerID]
		if (t == nil || o == nil) && !member {
			continue // as the Go measure: only the member figures' cases make groups
		}
		team, officer := g.of(in, schema.Case{TeamID: fg.TeamID, OfficerID: fg.OfficerID})
		set(team, fg)
		set(officer, fg)
	}
	return nil
}

// OverdueCounts is measure 2 at detail=counts (Overdue, Summarize,
// DropIDs), from one snapshot of the read model; with it, the cases it covers (for the
// audit).
func (s *Service) OverdueCounts(ctx context.Context, actor serverdb.Actor, officerID string, asOf schema.Date) (rep *OverdueReport, cases []string, err error) {
	err = s.readFigures(ctx, func(ctx context.Context, fs serverdb.Figures) error {
		in, err := s.names(ctx, officerID)
		if err != nil {
			return err
		}
		rep, cases, err = overdueCounts(ctx, fs, actor, in, officerID, "", asOf)
		return err
	})
	return rep, cases, err
}

// overdueCounts is measure 2 at detail=counts for the cases of officerID
// and teamID (each when set: the report set's has no team, the
// overview's panel the page's) in the actor's scope, as of asOf, on the
// snapshot fs, with the names in; with it, the cases it covers.
func overdueCounts(ctx context.Context, fs serverdb.Figures, actor serverdb.Actor, in Input, officerID, teamID string, asOf schema.Date) (*OverdueReport, []string, error) {
	rep := &OverdueReport{Measure: serverdb.MeasureOverdue, AsOf: asOf, RuleVersion: in.policy().Version, OfficerID: officerID,
		Items: []OverdueItem{}}
	q := overdueQuery(officerID, teamID, asOf)
	g := newGroups[OverdueFigures]()
	err := countInto(ctx, fs, actor, in, q, &rep.Totals, g, true, func(f *OverdueFigures, fg serverdb.FigureGroup) {
		f.Requirements += fg.Rows
		f.Cases.N += fg.Cases
		f.MaxDaysOverdue = max(f.MaxDaysOverdue, fg.Max)
	})
	if err != nil {
		return nil, nil, err
	}
	noop := func(*OverdueFigures) {}
	rep.Teams, rep.Officers = sortedGroups(g.teams, noop), sortedGroups(g.officers, noop)
	cases, err := fs.Cases(ctx, actor, q, "", allCases)
	return rep, cases, err
}

// overdueQuery is measure 2's figure of overdue requirements for the
// cases of officerID and teamID (each when set), as of asOf.
func overdueQuery(officerID, teamID string, asOf schema.Date) serverdb.FigureQuery {
	return serverdb.FigureQuery{Measure: serverdb.MeasureOverdue, Figure: "cases", AsOf: asOf, OfficerID: officerID, TeamID: teamID}
}

// WorkloadCounts is measure 8 at detail=counts (Workload, Summarize,
// DropIDs), from one snapshot of the read model; with it, the cases it covers (for the
// audit).
func (s *Service) WorkloadCounts(ctx context.Context, actor serverdb.Actor, officerID string, asOf schema.Date) (rep *WorkloadReport, cases []string, err error) {
	err = s.readFigures(ctx, func(ctx context.Context, fs serverdb.Figures) error {
		in, err := s.names(ctx, officerID)
		if err != nil {
			return err
		}
		rep, cases, err = workloadCounts(ctx, fs, actor, in, officerID, "", asOf)
		return err
	})
	return rep, cases, err
}

// workloadCounts is measure 8 at detail=counts for the cases of officerID
// and teamID (each when set: the report set's has no team, the
// overview's panel the page's) in the actor's scope, as of asOf, on the
// snapshot fs, with the names in; with it, the cases it covers.
func workloadCounts(ctx context.Context, fs serverdb.Figures, actor serverdb.Actor, in Input, officerID, teamID string, asOf schema.Date) (*WorkloadReport, []string, error) {
	until := schema.DateOf(asOf.Time().AddDate(0, 0, 7*WorkloadWeeks-1))
	rep := &WorkloadReport{Measure: serverdb.MeasureWorkload, AsOf: asOf, Until: until, RuleVersion: in.policy().Version,
		OfficerID: officerID, Items: []WorkloadItem{}}
	g := newGroups[WorkloadFigures]()
	base := serverdb.FigureQuery{Measure: serverdb.MeasureWorkload, AsOf: asOf, OfficerID: officerID, TeamID: teamID}
	for _, fig := range workloadFigures {
		q := base
		q.Figure = fig.name
		if err := countInto(ctx, fs, actor, in, q, &rep.Totals, g, fig.member, fig.set); err != nil {
			return nil, nil, err
		}
	}
	noop := func(*WorkloadFigures) {}
	rep.Teams, rep.Officers = sortedGroups(g.teams, noop), sortedGroups(g.officers, noop)
	cases, err := casesOf(ctx, fs, actor, base, "caseload", "not_started")
	if err != nil {
		return nil, nil, err
	}
	slices.Sort(cases)
	return rep, cases, nil
}

// workloadFigures are measure 8's figures of its report, by the read
// model's name of each, and whether they decide the teams and officers
// it shows (countInto's member).
var workloadFigures = []struct {
	name   string
	member bool
	set    func(*WorkloadFigures, serverdb.FigureGroup)
}{
	{"caseload", true, func(f *WorkloadFigures, fg serverdb.FigureGroup) { f.Caseload.N += fg.Cases }},
	{"not_started", true, func(f *WorkloadFigures, fg serverdb.FigureGroup) { f.NotStarted.N += fg.Cases }},
	{"da_cases", false, func(f *WorkloadFigures, fg serverdb.FigureGroup) { f.DACases.N += fg.Cases }},
	{"high_rosh", false, func(f *WorkloadFigures, fg serverdb.FigureGroup) { f.HighRoSH.N += fg.Cases }},
	{"due_cases", false, func(f *WorkloadFigures, fg serverdb.FigureGroup) {
		f.Due += fg.Rows
		f.DueCases.N += fg.Cases
		for i, n := range fg.ByWeek {
			f.ByWeek[i] += n
		}
	}},
	{"overdue_cases", false, func(f *WorkloadFigures, fg serverdb.FigureGroup) {
		f.Overdue += fg.Rows
		f.OverdueCases.N += fg.Cases
	}},
	{"planned", false, func(f *WorkloadFigures, fg serverdb.FigureGroup) { f.Planned.N += fg.Rows }},
}

// periodQuery is measure's figures over period as of asOf for the cases
// of officerID and teamID (each when set); Figure is left to the caller.
func periodQuery(measure, officerID, teamID string, period Period, asOf schema.Date) serverdb.FigureQuery {
	return serverdb.FigureQuery{Measure: measure, AsOf: asOf, From: period.From, To: period.To, OfficerID: officerID, TeamID: teamID}
}

// casesOf is the cases of each of base's measure's figures names, one
// list after the other (unsorted, a case in several figures as often).
func casesOf(ctx context.Context, fs serverdb.Figures, actor serverdb.Actor, base serverdb.FigureQuery, names ...string) ([]string, error) {
	var cases []string
	for _, name := range names {
		q := base
		q.Figure = name
		ids, err := fs.Cases(ctx, actor, q, "", allCases)
		if err != nil {
			return nil, err
		}
		cases = append(cases, ids...)
	}
	return cases, nil
}

// firstVisitCounts are measure 1's figures of its report, by the read
// model's name of each (serverdb.FigureNames).
func firstVisitCounts(f *FirstVisitFigures) map[string]*IDs {
	return map[string]*IDs{"cases": &f.Cases, "denominator": &f.Denominator, "numerator": &f.Numerator,
		"met_late": &f.MetLate, "missed": &f.Missed, "not_yet_due": &f.NotYetDue, "not_yet_due_visited": &f.NotYetDueVisited,
		"exempted": &f.Exempted, "cancelled": &f.Cancelled, "no_requirement": &f.NoRequirement,
		"safety_not_approved": &f.SafetyNotApproved, "safety_exempted": &f.SafetyExempted,
		"visited_at_all.numerator": &f.VisitedAtAll.Numerator, "visited_at_all.denominator": &f.VisitedAtAll.Denominator}
}

// totalsFigure is a headline figure from the read model: the rows of
// figure num over those of figure den of q's measure, in one statement
// that groups them by nothing (Figures.Totals, decision 0082).
func totalsFigure(ctx context.Context, fs serverdb.Figures, actor serverdb.Actor, q serverdb.FigureQuery, num, den string) (Figure, error) {
	n, err := fs.Totals(ctx, actor, q, []string{num, den})
	if err != nil {
		return Figure{}, err
	}
	return FigureOf(n[0], n[1]), nil
}

// FirstVisitCounts is measure 1 at detail=counts (FirstHomeVisits,
// Summarize, DropIDs) with its headline (AddHeadline), from the read
// model (one snapshot); with it, the cases it covers (for the audit).
func (s *Service) FirstVisitCounts(ctx context.Context, actor serverdb.Actor, officerID string, period Period, asOf schema.Date) (rep *FirstVisitReport, cases []string, err error) {
	err = s.readFigures(ctx, func(ctx context.Context, fs serverdb.Figures) error {
		rep, cases, err = s.firstVisitCounts(ctx, fs, actor, officerID, "", period, asOf)
		return err
	})
	return rep, cases, err
}

func (s *Service) firstVisitCounts(ctx context.Context, fs serverdb.Figures, actor serverdb.Actor, officerID, teamID string, period Period, asOf schema.Date) (*FirstVisitReport, []string, error) {
	in, err := s.names(ctx, officerID)
	if err != nil {
		return nil, nil, err
	}
	rep := &FirstVisitReport{Measure: serverdb.MeasureFirstHomeVisit, Period: period, AsOf: asOf, RuleVersion: in.policy().Version,
		OfficerID: officerID, Cases: []FirstVisitCase{}}
	g := newGroups[FirstVisitFigures]()
	base := serverdb.FigureQuery{Measure: serverdb.MeasureFirstHomeVisit, AsOf: asOf, From: period.From, To: period.To, OfficerID: officerID,
		TeamID: teamID}
	for _, name := range serverdb.FigureNames(serverdb.MeasureFirstHomeVisit) { // "cases" first: the groups
		q := base
		q.Figure = name
		err := countInto(ctx, fs, actor, in, q, &rep.Totals, g, name == "cases", func(f *FirstVisitFigures, fg serverdb.FigureGroup) {
			firstVisitCounts(f)[name].N += fg.Cases
		})
		if err != nil {
			return nil, nil, err
		}
	}
	excuses, err := fs.Excuses(ctx, actor, base)
	if err != nil {
		return nil, nil, err
	}
	for _, e := range excuses {
		x := Excuse{CaseID: e.CaseID, Reason: e.Reason, ApprovedBy: e.ApprovedBy}
		rep.Totals.ExemptedReasons = append(rep.Totals.ExemptedReasons, x)
		team, officer := g.of(in, schema.Case{TeamID: e.TeamID, OfficerID: e.OfficerID})
		team.ExemptedReasons = append(team.ExemptedReasons, x)
		officer.ExemptedReasons = append(officer.ExemptedReasons, x)
	}
	finish := func(f *FirstVisitFigures) {
		if f.ExemptedReasons == nil {
			f.ExemptedReasons = []Excuse{}
		}
		f.Percent = percent(f.Numerator.N, f.Denominator.N)
		f.VisitedAtAll.Percent = percent(f.VisitedAtAll.Numerator.N, f.VisitedAtAll.Denominator.N)
	}
	finish(&rep.Totals)
	rep.Teams, rep.Officers = sortedGroups(g.teams, finish), sortedGroups(g.officers, finish)
	prev := PreviousPeriod(period)
	// Its cases counted as rows: a case is one row of measure 1's (decision
	// 0107: the groups by team and officer counted all fourteen figures).
	pf, err := totalsFigure(ctx, fs, actor, periodQuery(serverdb.MeasureFirstHomeVisit, officerID, teamID, prev, prev.To),
		"numerator", "denominator")
	if err != nil {
		return nil, nil, err
	}
	rep.Headline = Judge(in.policy(), "first-home-visits", rep.HeadlineFigure(), PreviousFigure{Figure: pf, Period: prev})
	q := base
	q.Figure = "cases"
	cases, err := fs.Cases(ctx, actor, q, "", allCases)
	return rep, cases, err
}
