package compliance_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"doorstep/internal/testkit"
	"doorstep/schema"
	"doorstep/server/compliance"
	"doorstep/server/serverdb"
)

// TestCountsAtOnceMoreThanTheReaders: the counts reports, asked many at
// once, all answer. Each reads one snapshot of the read model on one of
// the store's readers (as few as 4); the officers' and teams' names were
// read inside it, on a second reader, so that as many reports at once as
// there were readers each held one and waited for another, for ever.
func TestCountsAtOnceMoreThanTheReaders(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clock := testkit.NewClock(time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC))
	db, err := serverdb.Open(ctx, filepath.Join(t.TempDir(), "server.db"), serverdb.Options{Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	admin := serverdb.Actor{UserID: "setup", Role: schema.RoleAdmin}
	team := schema.Team{ID: schema.NewID(), Name: "North"}
	if err := db.CreateTeam(ctx, admin, team); err != nil {
		t.Fatal(err)
	}
	svc := compliance.NewService(db, nil)
	period := compliance.Period{From: "2026-08-01", To: "2026-10-31"}
	const asOf = schema.Date("2026-11-23")
	reports := []func() error{
		func() error { _, _, err := svc.OverdueCounts(ctx, admin, "", asOf); return err },
		func() error { _, _, err := svc.WorkloadCounts(ctx, admin, "", asOf); return err },
		func() error { _, _, err := svc.FirstVisitCounts(ctx, admin, "", period, asOf); return err },
		func() error { _, _, err := svc.ContactsCounts(ctx, admin, "", period, asOf); return err },
		func() error { _, _, err := svc.HouseholdsCounts(ctx, admin, "", period, asOf); return err },
		func() error { _, _, err := svc.EnquiriesCounts(ctx, admin, "", period, asOf); return err },
		func() error { _, _, err := svc.InterventionsCounts(ctx, admin, "", period, asOf); return err },
		func() error { _, _, err := svc.ReviewsCounts(ctx, admin, "", period, asOf); return err },
		func() error { _, _, err := svc.ExemptionsCounts(ctx, admin, "", period, asOf); return err },
	}
	done := make(chan struct{})
	var mu sync.Mutex
	var errs []error
	go func() {
		defer close(done)
		var wg sync.WaitGroup
		for round := range 4 {
			for i, report := range reports {
				wg.Go(func() {
					if err := report(); err != nil {
						mu.Lock()
						errs = append(errs, fmt.Errorf("round %d, report %d: %w", round, i, err))
						mu.Unlock()
					}
				})
			}
		}
		wg.Wait()
	}()
	select {
	case <-done:
	case <-time.After(2 * time.Minute):
		t.Fatal("36 counts reports asked at once did not all answer within 2 minutes: the store's readers are held by reports waiting for another")
	}
	for _, err := range errs {
		t.Error(err)
	}
}
