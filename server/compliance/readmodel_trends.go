package compliance

import (
	"context"

	"doorstep/schema"
	"doorstep/server/serverdb"
)

// FirstVisitTrend is measure 1's headline figure (on time, of those due)
// for each of weeks as the period, as the records stand on asOf: for each
// week w, FirstHomeVisits(in, w, asOf)'s Totals, from the read model with
// one GROUP BY by week per figure (serverdb.Figures.Weeks) and one
// snapshot. officerID and teamID, when set, keep the cases allocated to
// that officer and team.
func (s *Service) FirstVisitTrend(ctx context.Context, actor serverdb.Actor, officerID, teamID string, weeks []Period, asOf schema.Date) ([]Figure, error) {
	ws := make([]serverdb.Week, len(weeks))
	for i, w := range weeks {
		ws[i] = serverdb.Week{From: w.From, To: w.To}
	}
	var num, den []int
	err := s.db.ReadFigures(ctx, func(fs serverdb.Figures) error {
		q := serverdb.FigureQuery{Measure: serverdb.MeasureFirstHomeVisit, Figure: "numerator", AsOf: asOf, OfficerID: officerID, TeamID: teamID}
		var err error
		if num, err = fs.Weeks(ctx, actor, q, ws); err != nil {
			return err
		}
		q.Figure = "denominator"
		den, err = fs.Weeks(ctx, actor, q, ws)
		return err
	})
	if err != nil {
		return nil, err
	}
	out := make([]Figure, len(weeks))
	for i := range out {
		out[i] = FigureOf(num[i], den[i])
	}
	return out, nil
}
