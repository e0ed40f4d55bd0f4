package serverdb

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"testing"

	"doorstep/schema"
)

// benchVisit is a visit of about 1 KB, the size of a real recorded visit.
func benchVisit(i int) map[string]json.RawMessage {
	return raw("status", "draft", "type", "home_unannounced", "planned_type", "home_unannounced",
		"outcome", "completed", "location", "home", "face_to_face", true,
		"started_at", "2026-11-23T09:00:00Z", "ended_at", "2026-11-23T09:40:00Z",
		"person_seen", "yes", "partner_present", "yes", "partner_seen_alone", "no",
		"children_present", "not_known", "observations", []string{"poor_living_conditions", "fear"},
		"observation_notes", strings.Repeat("Kitchen untidy, partner quiet, person engaged. ", 14),
		"actions", []string{"manager_informed"}, "next_visit_on", "2026-12-07")
}

// BenchmarkPush applies batches of 1,000 new ~1 KB visits.
func BenchmarkPush(b *testing.B) {
	f := newFixture(b)
	a := f.actor(f.asha, f.ashaDev)
	ctx := context.Background()
	const batch = 1000
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		muts := make([]schema.Mutation, batch)
		for j := range muts {
			muts[j] = mutation("visit", schema.NewID(), f.ashaCase, stamp(int64(i*batch+j+1), f.ashaDev), benchVisit(j))
		}
		b.StartTimer()
		res, err := f.db.Push(ctx, a, muts)
		if err != nil || res[batch-1].Status != schema.StatusApplied {
			b.Fatalf("push: %v %+v", err, res[batch-1])
		}
	}
	b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkPushChanged100 applies pushes of 100 changed drafts (the
// incremental push of `doorstep bench sync`, decision 0066) to a case of
// 2,000 visits: DOORSTEP_TEST_ENGINE=postgres runs it on PostgreSQL.
func BenchmarkPushChanged100(b *testing.B) {
	f := newFixture(b)
	a := f.actor(f.asha, f.ashaDev)
	ctx := context.Background()
	const n, changed = 2000, 100
	ids := make([]string, n)
	for from := 0; from < n; from += 1000 {
		muts := make([]schema.Mutation, 1000)
		for j := range muts {
			ids[from+j] = schema.NewID()
			muts[j] = mutation("visit", ids[from+j], f.ashaCase, stamp(int64(from+j+1), f.ashaDev), benchVisit(j))
		}
		if _, err := f.db.Push(ctx, a, muts); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		muts := make([]schema.Mutation, changed)
		for j := range muts {
			muts[j] = mutation("visit", ids[j], f.ashaCase, stamp(int64(n+i*changed+j+1), f.ashaDev),
				raw("next_visit_on", fmt.Sprintf("2026-12-%02d", 1+i%28)))
		}
		b.StartTimer()
		res, err := f.db.Push(ctx, a, muts)
		if err != nil || res[changed-1].Status != schema.StatusApplied {
			b.Fatalf("push: %v %+v", err, res[changed-1])
		}
	}
}

// BenchmarkPull writes the first page of 10,000 ~1 KB visits (a tablet's
// initial pull).
func BenchmarkPull(b *testing.B) {
	f := benchVisits(b, 10000)
	ctx := context.Background()
	a := f.actor(f.asha, f.ashaDev)
	var cw countWriter
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := f.db.Pull(ctx, a, schema.PullRequest{Limit: schema.MaxPullLimit}, &cw); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(cw.n)/float64(b.N)/1e6, "MB/pull")
}

// BenchmarkPullNoOp is a tablet's pull with nothing new (a no-op sync's
// one request) in a store of 10,000 visits: the cursor at the sequence's
// end is answered without querying the records.
func BenchmarkPullNoOp(b *testing.B) {
	f := benchVisits(b, 10000)
	ctx := context.Background()
	a := f.actor(f.asha, f.ashaDev)
	seq, err := f.db.MaxSeq(ctx)
	if err != nil {
		b.Fatal(err)
	}
	req := schema.PullRequest{Cursor: f.db.formatCursor(seq)}
	var cw countWriter
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		n, err := f.db.PullPage(ctx, a, req, &cw)
		if err != nil || n != 0 {
			b.Fatalf("no-op pull: %d records, %v", n, err)
		}
	}
}

// benchVisits is a fixture whose first officer's case holds n ~1 KB visits.
func benchVisits(b *testing.B, n int) *fixture {
	b.Helper()
	f := newFixture(b)
	recs := make([]schema.Record, n)
	for i := range recs {
		recs[i] = schema.Record{Entity: "visit", ID: schema.NewID(), CaseID: f.ashaCase, Fields: benchVisit(i), DeviceTime: f.clock.Now()}
	}
	if err := f.db.Seed(context.Background(), f.admin, recs); err != nil {
		b.Fatal(err)
	}
	return f
}

type countWriter struct{ n int }

func (w *countWriter) Write(p []byte) (int, error) { w.n += len(p); return len(p), nil }

var _ io.Writer = (*countWriter)(nil)

// BenchmarkSeed loads batches of 10 new cases with 500 household members
// each (5,010 records a Seed, one transaction) through the bulk path: on
// PostgreSQL (DOORSTEP_TEST_ENGINE=postgres) with COPY.
func BenchmarkSeed(b *testing.B) {
	f := newFixture(b)
	ctx := context.Background()
	n := 0
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		var recs []schema.Record
		for c := range 10 {
			id := schema.NewID()
			recs = append(recs, caseRecord(id, fmt.Sprintf("B%06d", i*10+c), f.asha))
			for m := range 500 {
				recs = append(recs, schema.Record{Entity: "household_member", ID: schema.NewID(), CaseID: id,
					Fields: raw("relation", "lodger", "residence", "lives_here", "name", fmt.Sprintf("Lee %d", m))})
			}
		}
		b.StartTimer()
		if err := f.db.Seed(ctx, f.admin, recs); err != nil {
			b.Fatal(err)
		}
		n += len(recs)
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkListRawCases reads one case's 10,000 ~1 KB visits as the
// compliance service reads a chunk of a team's cases (ListRawCases).
func BenchmarkListRawCases(b *testing.B) {
	f := benchVisits(b, 10000)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		recs, err := f.db.ListRawCases(ctx, f.admin, []string{"case", "visit", "amendment"}, []string{f.ashaCase})
		if err != nil || len(recs) != 10001 {
			b.Fatalf("ListRawCases: %d records, %v", len(recs), err)
		}
	}
}
