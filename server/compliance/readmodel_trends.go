package compliance

import (
	"context"
	"slices"

	"doorstep/schema"
	"doorstep/server/serverdb"
)

// weeklyShare is a headline share whose weekly trend the read model
// answers: its measure, and the figures of its numerator and denominator.
type weeklyShare struct{ measure, num, den string }

// weeklyShares are, by the measure's slug, the shares whose weekly trend
// the read model answers (WeeklyShare): measure 1's on time of those due,
// and measure 4's police enquiries answered of those needed, both over
// the cases whose supervision started in each week; measure 6's needs
// referred of those decided, over the needs identified in each week; the
// visits exempted of those due, over the requirements due in each week;
// measure 7's flags in date of those due for review, on each week's last
// day.
var weeklyShares = map[string]weeklyShare{
	"first-home-visits": {serverdb.MeasureFirstHomeVisit, "numerator", "denominator"},
	"enquiries":         {serverdb.MeasureEnquiries, "police.answered", "police.needed"},
	"interventions":     {serverdb.MeasureInterventions, "referred_share.numerator", "referred_share.denominator"},
	"exemptions":        {serverdb.MeasureExemptions, "exempted", "due"},
	"reviews":           {serverdb.MeasureReviews, "flags.on_time.numerator", "flags.on_time.denominator"},
}

// WeeklyShares are the slugs of the measures whose weekly trend
// WeeklyShare answers, sorted.
func WeeklyShares() []string {
	out := make([]string, 0, len(weeklyShares))
	for slug := range weeklyShares {
		out = append(out, slug)
	}
	slices.Sort(out)
	return out
}

// WeeklyShare is the weekly trend of measure slug's share, for each of
// weeks as the period, as the records stand on asOf, from the read model:
// the numerator and the denominator counted by week in one statement
// (serverdb.Figures.WeeksOf), on one snapshot. For measure 1 each week's
// figure is FirstHomeVisits(in, w, asOf)'s Totals (on time, of those
// due); for measure 4, Enquiries(in, w, asOf)'s Totals.Police (answered,
// of those needed); for measure 6, Interventions(in, w, asOf)'s
// Totals.ReferredShare (needs referred, of those decided); for the
// exemptions, Exemptions(in, w, asOf)'s Totals (requirements exempted, of
// those due); for measure 7, Reviews(in, w, w.To)'s Totals.Flags.OnTime
// (flags in date, of those due for review, on the week's last day: asOf
// is not read). officerID and teamID, when set, keep the cases allocated
// to that officer and team.
func (s *Service) WeeklyShare(ctx context.Context, actor serverdb.Actor, slug, officerID, teamID string, weeks []Period, asOf schema.Date) ([]Figure, error) {
	var out []Figure
	err := s.db.ReadFigures(ctx, func(fs serverdb.Figures) error {
		var err error
		out, err = s.weeklyShare(ctx, fs, actor, slug, officerID, teamID, weeks, asOf)
		return err
	})
	return out, err
}

// weeklyShare is WeeklyShare on the snapshot fs.
func (s *Service) weeklyShare(ctx context.Context, fs serverdb.Figures, actor serverdb.Actor, slug, officerID, teamID string, weeks []Period, asOf schema.Date) ([]Figure, error) {
	ws, ok := weeklyShares[slug]
	if !ok {
		return nil, schema.Errorf(schema.ECodeInvalid, "measure", "the read model has no weekly trend of measure %q", slug)
	}
	weekly := make([]serverdb.Week, len(weeks))
	for i, w := range weeks {
		weekly[i] = serverdb.Week{From: w.From, To: w.To}
	}
	q := serverdb.FigureQuery{Measure: ws.measure, AsOf: asOf, OfficerID: officerID, TeamID: teamID,
		WithinDays: Input{Policy: s.policy}.policy().EnquiryDays()}
	nd, err := fs.WeeksOf(ctx, actor, q, []string{ws.num, ws.den}, weekly)
	if err != nil {
		return nil, err
	}
	num, den := nd[0], nd[1]
	out := make([]Figure, len(weeks))
	for i := range out {
		out[i] = FigureOf(num[i], den[i])
	}
	return out, nil
}
