package serverdb

import (
	"context"
	"fmt"
	"testing"

	"doorstep/schema"
)

// BenchmarkPushSpread applies batches of 1,000 new ~1 KB visits spread
// over 100 cases (10 each), as a team's tablets push them: with the
// compliance read model written, each batch derives those 100 cases again
// (readmodel.go), so its cost grows with the cases' size, not the store's.
func BenchmarkPushSpread(b *testing.B) {
	f := newFixture(b)
	a := f.actor(f.asha, f.ashaDev)
	ctx := context.Background()
	cases := make([]schema.Record, 100)
	for i := range cases {
		cases[i] = caseRecord(schema.NewID(), fmt.Sprintf("S%06d", i), f.asha)
	}
	if err := f.db.Seed(ctx, f.admin, cases); err != nil {
		b.Fatal(err)
	}
	const batch = 1000
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		muts := make([]schema.Mutation, batch)
		for j := range muts {
			muts[j] = mutation("visit", schema.NewID(), cases[j%len(cases)].ID, stamp(int64(i*batch+j+1), f.ashaDev), benchVisit(j))
		}
		b.StartTimer()
		res, err := f.db.Push(ctx, a, muts)
		if err != nil || res[batch-1].Status != schema.StatusApplied {
			b.Fatalf("push: %v %+v", err, res[batch-1])
		}
	}
	b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "records/s")
}
