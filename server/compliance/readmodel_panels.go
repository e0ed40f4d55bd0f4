package compliance

import (
	"context"

	"doorstep/schema"
	"doorstep/server/serverdb"
)

// The dashboard overview's panels the read model answers whole (decision
// 0065): their figures, each officer's, the headline beside the previous
// period and the cases behind them, for the overview's officer and team
// filters, without a record read or decoded. The Go measures stay the
// oracle (the dashboard's TestCountedPanelsMatchTheGo).

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

// narrowed is counts, a *Counts report's computation, for narrow's officer
// and team, on one snapshot of the read model.
func narrowed[R any](ctx context.Context, s *Service, counts func(*Service, context.Context, serverdb.Figures, serverdb.Actor, string, string, Period, schema.Date) (R, []string, error),
	actor serverdb.Actor, narrow Narrow, period Period, asOf schema.Date) (R, []string, error) {
	return onSnapshot(ctx, s, func(ctx context.Context, fs serverdb.Figures) (R, []string, error) {
		return counts(s, ctx, fs, actor, narrow.OfficerID, narrow.TeamID, period, asOf)
	})
}

// FirstVisitCountsOf is FirstVisitCounts for the cases of narrow's
// officer and team (each when set): what FirstHomeVisits gives over the
// records of the actor's scope that narrow keeps.
func (s *Service) FirstVisitCountsOf(ctx context.Context, actor serverdb.Actor, narrow Narrow, period Period, asOf schema.Date) (*FirstVisitReport, []string, error) {
	return narrowed(ctx, s, (*Service).firstVisitCounts, actor, narrow, period, asOf)
}

// EnquiriesCountsOf is EnquiriesCounts for the cases of narrow's officer
// and team (each when set): what Enquiries gives over the records of the
// actor's scope that narrow keeps.
func (s *Service) EnquiriesCountsOf(ctx context.Context, actor serverdb.Actor, narrow Narrow, period Period, asOf schema.Date) (*EnquiriesReport, []string, error) {
	return narrowed(ctx, s, (*Service).enquiriesCounts, actor, narrow, period, asOf)
}

// InterventionsCountsOf is InterventionsCounts for the cases of narrow's
// officer and team (each when set): what Interventions gives over the
// records of the actor's scope that narrow keeps.
func (s *Service) InterventionsCountsOf(ctx context.Context, actor serverdb.Actor, narrow Narrow, period Period, asOf schema.Date) (*InterventionsReport, []string, error) {
	return narrowed(ctx, s, (*Service).interventionsCounts, actor, narrow, period, asOf)
}

// ExemptionsCountsOf is ExemptionsCounts for the cases of narrow's officer
// and team (each when set): what Exemptions gives over the records of the
// actor's scope that narrow keeps.
func (s *Service) ExemptionsCountsOf(ctx context.Context, actor serverdb.Actor, narrow Narrow, period Period, asOf schema.Date) (*ExemptionsReport, []string, error) {
	return narrowed(ctx, s, (*Service).exemptionsCounts, actor, narrow, period, asOf)
}

// ReviewsCountsOf is ReviewsCounts for the cases of narrow's officer and
// team (each when set): what Reviews gives over the records of the
// actor's scope that narrow keeps.
func (s *Service) ReviewsCountsOf(ctx context.Context, actor serverdb.Actor, narrow Narrow, period Period, asOf schema.Date) (*ReviewsReport, []string, error) {
	return narrowed(ctx, s, (*Service).reviewsCounts, actor, narrow, period, asOf)
}
