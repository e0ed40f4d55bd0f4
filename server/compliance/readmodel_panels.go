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

// FirstVisitCountsOf is FirstVisitCounts for the cases of narrow's
// officer and team (each when set): what FirstHomeVisits gives over the
// records of the actor's scope that narrow keeps.
func (s *Service) FirstVisitCountsOf(ctx context.Context, actor serverdb.Actor, narrow Narrow, period Period, asOf schema.Date) (*FirstVisitReport, []string, error) {
	return onSnapshot(ctx, s, func(fs serverdb.Figures) (*FirstVisitReport, []string, error) {
		return s.firstVisitCounts(ctx, fs, actor, narrow.OfficerID, narrow.TeamID, period, asOf)
	})
}

// EnquiriesCountsOf is EnquiriesCounts for the cases of narrow's officer
// and team (each when set): what Enquiries gives over the records of the
// actor's scope that narrow keeps.
func (s *Service) EnquiriesCountsOf(ctx context.Context, actor serverdb.Actor, narrow Narrow, period Period, asOf schema.Date) (*EnquiriesReport, []string, error) {
	return onSnapshot(ctx, s, func(fs serverdb.Figures) (*EnquiriesReport, []string, error) {
		return s.enquiriesCounts(ctx, fs, actor, narrow.OfficerID, narrow.TeamID, period, asOf)
	})
}

// InterventionsCountsOf is InterventionsCounts for the cases of narrow's
// officer and team (each when set): what Interventions gives over the
// records of the actor's scope that narrow keeps.
func (s *Service) InterventionsCountsOf(ctx context.Context, actor serverdb.Actor, narrow Narrow, period Period, asOf schema.Date) (*InterventionsReport, []string, error) {
	return onSnapshot(ctx, s, func(fs serverdb.Figures) (*InterventionsReport, []string, error) {
		return s.interventionsCounts(ctx, fs, actor, narrow.OfficerID, narrow.TeamID, period, asOf)
	})
}

// ExemptionsCountsOf is ExemptionsCounts for the cases of narrow's officer
// and team (each when set): what Exemptions gives over the records of the
// actor's scope that narrow keeps.
func (s *Service) ExemptionsCountsOf(ctx context.Context, actor serverdb.Actor, narrow Narrow, period Period, asOf schema.Date) (*ExemptionsReport, []string, error) {
	return onSnapshot(ctx, s, func(fs serverdb.Figures) (*ExemptionsReport, []string, error) {
		return s.exemptionsCounts(ctx, fs, actor, narrow.OfficerID, narrow.TeamID, period, asOf)
	})
}
