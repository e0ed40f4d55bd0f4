package compliance

import (
	"context"
	"strings"

	"doorstep/schema"
	"doorstep/server/serverdb"
)

// reviewKind is the figures of one kind of review of f (flags, da_flags,
// rosh), nil for no kind.
func reviewKind(f *ReviewsFigures, kind string) *ReviewFigures {
	switch kind {
	case "flags":
		return &f.Flags
	case "da_flags":
		return &f.DAFlags
	case "rosh":
		return &f.RoSH
	}
	return nil
}

// reviewCount is measure 7's record figure of f by the read model's name
// of it (serverdb.FigureNames, "cases" aside), nil for none. A switch, not
// a map of them made a group (the map was most of the report's CPU).
func reviewCount(f *ReviewsFigures, name string) *RecordIDs {
	kind, figure, _ := strings.Cut(name, ".")
	r := reviewKind(f, kind)
	if r == nil {
		return nil
	}
	switch figure {
	case "items":
		return &r.Items
	case "on_time.numerator":
		return &r.OnTime.Numerator
	case "on_time.denominator":
		return &r.OnTime.Denominator
	case "in_date":
		return &r.InDate
	case "overdue":
		return &r.Overdue
	case "not_yet_due":
		return &r.NotYetDue
	case "no_date":
		return &r.NoDate
	case "after_as_of":
		return &r.AfterAsOf
	case "reviewed_in_period":
		return &r.ReviewedInPeriod
	}
	return nil
}

// ReviewsCounts is measure 7 at detail=counts (Reviews, Summarize,
// DropIDs) with its headline (AddHeadline), from one snapshot of the read
// model; with it, the cases it covers (for the audit).
func (s *Service) ReviewsCounts(ctx context.Context, actor serverdb.Actor, officerID string, period Period, asOf schema.Date) (*ReviewsReport, []string, error) {
	return onSnapshot(ctx, s, func(ctx context.Context, fs serverdb.Figures) (*ReviewsReport, []string, error) {
		return s.reviewsCounts(ctx, fs, actor, officerID, "", period, asOf)
	})
}

func (s *Service) reviewsCounts(ctx context.Context, fs serverdb.Figures, actor serverdb.Actor, officerID, teamID string, period Period, asOf schema.Date) (*ReviewsReport, []string, error) {
	in, err := s.names(ctx, officerID)
	if err != nil {
		return nil, nil, err
	}
	rep := &ReviewsReport{Measure: serverdb.MeasureReviews, Period: period, AsOf: asOf, RoSHReviewMonths: RoSHReviewMonths,
		OfficerID: officerID, Items: []ReviewItem{}}
	g := newGroups[ReviewsFigures]()
	base := serverdb.FigureQuery{Measure: serverdb.MeasureReviews, AsOf: asOf, From: period.From, To: period.To, OfficerID: officerID,
		TeamID: teamID}
	q := base
	q.Figure = "cases" // the groups
	err = countInto(ctx, fs, actor, in, q, &rep.Totals, g, true, func(f *ReviewsFigures, fg serverdb.FigureGroup) { f.Cases.N += fg.Cases })
	if err != nil {
		return nil, nil, err
	}
	for _, kind := range []string{"flags", "da_flags", "rosh"} {
		names := familyOf(serverdb.MeasureReviews, kind)
		err := sumInto(ctx, fs, actor, in, base, names, &rep.Totals, g, func(f *ReviewsFigures, s serverdb.FigureSums) {
			for i, name := range names {
				reviewCount(f, name).N += s.N[i]
			}
			r := reviewKind(f, kind)
			r.MaxDaysOverdue = max(r.MaxDaysOverdue, s.Max)
		})
		if err != nil {
			return nil, nil, err
		}
	}
	finish := func(f *ReviewsFigures) {
		for _, r := range []*ReviewFigures{&f.Flags, &f.DAFlags, &f.RoSH} {
			r.OnTime.Percent = percent(r.OnTime.Numerator.N, r.OnTime.Denominator.N)
		}
	}
	finish(&rep.Totals)
	rep.Teams, rep.Officers = sortedGroups(g.teams, finish), sortedGroups(g.officers, finish)
	prev := PreviousPeriod(period)
	pf, err := shareFigure(ctx, fs, actor, serverdb.FigureQuery{Measure: serverdb.MeasureReviews, AsOf: prev.To, From: prev.From,
		To: prev.To, OfficerID: officerID, TeamID: teamID}, "flags.on_time.numerator", "flags.on_time.denominator")
	if err != nil {
		return nil, nil, err
	}
	rep.Headline = Judge(in.policy(), "reviews", rep.HeadlineFigure(), PreviousFigure{Figure: pf, Period: prev})
	cases, err := fs.Cases(ctx, actor, q, "", allCases)
	return rep, cases, err
}

// shareFigure is a headline figure from the read model: figure num of
// figure den of q's measure (of one family, Figures.Sums), each counted
// in rows (records), in one statement (decision 0107: a statement each
// read the family's rows twice).
func shareFigure(ctx context.Context, fs serverdb.Figures, actor serverdb.Actor, q serverdb.FigureQuery, num, den string) (Figure, error) {
	q.Figure = num
	sums, err := fs.Sums(ctx, actor, q, []string{num, den})
	if err != nil {
		return Figure{}, err
	}
	var n [2]int
	for _, s := range sums {
		n[0] += s.N[0]
		n[1] += s.N[1]
	}
	return FigureOf(n[0], n[1]), nil
}

// readFigures runs fn on one snapshot of the read model (ReadFigures),
// with the officers' and teams' names read first, outside it (WithNames),
// in the context fn gets: read inside it they would take a second reader
// while the snapshot holds one, and as many reports at once as the pool
// has readers would each hold one and wait for another, for ever.
func (s *Service) readFigures(ctx context.Context, fn func(context.Context, serverdb.Figures) error) error {
	ctx, err := s.WithNames(ctx)
	if err != nil {
		return err
	}
	return s.db.ReadFigures(ctx, func(fs serverdb.Figures) error { return fn(ctx, fs) })
}

// onSnapshot runs counts on one snapshot of the read model (readFigures),
// so that the figures of one answer agree with each other.
func onSnapshot[R any](ctx context.Context, s *Service, counts func(context.Context, serverdb.Figures) (R, []string, error)) (rep R, cases []string, err error) {
	err = s.readFigures(ctx, func(ctx context.Context, fs serverdb.Figures) error {
		rep, cases, err = counts(ctx, fs)
		return err
	})
	return rep, cases, err
}

// familyOf is the figures of measure whose names start with family and a
// dot (or "inspection.", family and a dot), in FigureNames' order: those
// one Sums counts.
func familyOf(measure, family string) []string {
	var out []string
	for _, name := range serverdb.FigureNames(measure) {
		if strings.HasPrefix(name, family+".") || strings.HasPrefix(name, "inspection."+family+".") {
			out = append(out, name)
		}
	}
	return out
}

// sumInto counts the figures names of q's measure, of one family, in one
// pass (Figures.Sums), and adds each group's sums to totals and to its
// team's and officer's figures.
func sumInto[F any](ctx context.Context, fs serverdb.Figures, actor serverdb.Actor, in Input, q serverdb.FigureQuery, names []string,
	totals *F, g groups[F], set func(f *F, s serverdb.FigureSums)) error {
	q.Figure = names[0]
	sums, err := fs.Sums(ctx, actor, q, names)
	if err != nil {
		return err
	}
	for _, s := range sums {
		set(totals, s)
		team, officer := g.of(in, schema.Case{TeamID: s.TeamID, OfficerID: s.OfficerID})
		set(team, s)
		set(officer, s)
	}
	return nil
}
