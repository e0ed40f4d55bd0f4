package compliance

import (
	"context"
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
