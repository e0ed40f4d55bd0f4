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
	cases := seedBenchCases(b, f, 100)
	benchPushes(b, f, 1000, "records/s", func(i, j int) schema.Mutation {
		return mutation("visit", schema.NewID(), cases[j%len(cases)].ID, stamp(int64(i*1000+j+1), f.ashaDev), benchVisit(j))
	})
}

// BenchmarkPushSafetySpread applies batches of 100 new safety assessments,
// one to each of 100 cases (of 1,000, in turn, so that a case holds a few),
// as the officers' tablets push them: each batch writes those cases'
// rm_safety rows and (decision 0112) their exempted days again. Every
// other case has an exempting assessment (a decision an admin wrote
// before), so that there are spans to write.
func BenchmarkPushSafetySpread(b *testing.B) {
	f := newFixture(b)
	cases := seedBenchCases(b, f, 1000)
	for i, c := range cases {
		if i%2 == 0 {
			if _, err := f.db.Write(context.Background(), f.admin, "safety_assessment", "", c.ID, raw("address", "1 High St",
				"assessed_on", "2026-10-02", "decision", "exempted", "decision_reason", "dogs", "decided_on", "2026-10-03",
				"decided_by", f.admin.UserID)); err != nil {
				b.Fatal(err)
			}
		}
	}
	benchPushes(b, f, 100, "assessments/s", func(i, j int) schema.Mutation {
		return mutation("safety_assessment", schema.NewID(), cases[(i*100+j)%len(cases)].ID, stamp(int64(i*100+j+1), f.ashaDev),
			raw("address", "1 High St", "dogs", "no", "assessed_on", fmt.Sprintf("2026-10-%02d", 4+i%28)))
	})
}

// seedBenchCases seeds n cases of asha's.
func seedBenchCases(b *testing.B, f *fixture, n int) []schema.Record {
	cases := make([]schema.Record, n)
	for i := range cases {
		cases[i] = caseRecord(schema.NewID(), fmt.Sprintf("S%06d", i), f.asha)
	}
	if err := f.db.Seed(context.Background(), f.admin, cases); err != nil {
		b.Fatal(err)
	}
	return cases
}

// benchPushes times b.N pushes by asha's tablet of batch mutations each,
// mutation j of push i made (untimed) by mut, and reports them a second
// as unit.
func benchPushes(b *testing.B, f *fixture, batch int, unit string, mut func(i, j int) schema.Mutation) {
	a := f.actor(f.asha, f.ashaDev)
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		muts := make([]schema.Mutation, batch)
		for j := range muts {
			muts[j] = mut(i, j)
		}
		b.StartTimer()
		res, err := f.db.Push(ctx, a, muts)
		if err != nil || res[batch-1].Status != schema.StatusApplied {
			b.Fatalf("push: %v %+v", err, res[batch-1])
		}
	}
	b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), unit)
}
