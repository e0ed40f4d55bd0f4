package serverdb

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"doorstep/schema"
)

// TestPushWritesChangedRecordsTogether: a push that changes stored
// records writes each once, at the flush, on PostgreSQL with one UPDATE a
// chunk (flushChanged, decision 0066), not one a record; and each record is stored as the batch left
// it: a record changed twice in the batch, a change that then lost to an
// older one (a touch of a collected row), a record only touched, a record
// created and changed in the batch. Their new numbers reach a pull.
func TestPushWritesChangedRecordsTogether(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	a := f.actor(f.asha, f.ashaDev)
	const n, changed = 150, 100
	ids := make([]string, n)
	var creates []schema.Mutation
	for i := range ids {
		ids[i] = schema.NewID()
		creates = append(creates, mutation("visit", ids[i], f.ashaCase, stamp(int64(1000+i), f.ashaDev), visitFields("draft")))
	}
	f.push(t, a, creates...)
	sue := f.actor(f.sue, "dev-sue")
	before, err := f.db.PullResponse(ctx, sue, schema.PullRequest{Limit: 10000})
	if err != nil {
		t.Fatal(err)
	}
	for before.HasMore {
		if before, err = f.db.PullResponse(ctx, sue, schema.PullRequest{Cursor: before.Cursor, Limit: 10000}); err != nil {
			t.Fatal(err)
		}
	}

	day := func(i int) map[string]json.RawMessage {
		return raw("next_visit_on", fmt.Sprintf("2026-12-%02d", 1+i%28))
	}
	var muts []schema.Mutation
	for i := range changed {
		muts = append(muts, mutation("visit", ids[i], f.ashaCase, stamp(int64(5000+i), f.ashaDev), day(i)))
	}
	fresh := schema.NewID()
	muts = append(muts,
		mutation("visit", ids[0], f.ashaCase, stamp(9000, f.ashaDev), raw("outcome_reason", "twice")),   // changed again
		mutation("visit", ids[1], f.ashaCase, stamp(10, "dev-old"), raw("next_visit_on", "2020-01-01")), // loses: a touch of a collected row
		mutation("visit", ids[n-1], f.ashaCase, stamp(10, "dev-old"), raw("status", "draft")),           // equal value: applied, no change
		mutation("visit", ids[n-2], f.ashaCase, stamp(10, "dev-old"), raw("outcome_reason", "late")),    // applies: the field was not set
		mutation("visit", fresh, f.ashaCase, stamp(9100, f.ashaDev), visitFields("draft")),
		mutation("visit", fresh, f.ashaCase, stamp(9200, f.ashaDev), raw("outcome_reason", "new then changed")),
	)
	updates := f.db.recordUpdates.Load()
	res := f.push(t, a, muts...)
	for i, r := range res {
		want := schema.StatusApplied
		if i == changed+1 {
			want = schema.StatusConflict
		}
		if r.Status != want {
			t.Fatalf("result %d = %+v, want %s", i, r, want)
		}
	}
	// 101 stored records changed (100, and ids[n-2]; the equal value wrote
	// nothing): on PostgreSQL in one statement (a chunk holds 1,024); on
	// SQLite one statement a record (no round trips to save), the first
	// 64 at the chunk's flush, ids[0] again with the rest.
	want := int64(102)
	if f.db.eng.name() == "postgres" {
		want = 1
	}
	if got := f.db.recordUpdates.Load() - updates; got != want {
		t.Errorf("%d UPDATE statements for 101 changed records, want %d", got, want)
	}

	recs, err := f.db.List(ctx, f.admin, "visit", "")
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]schema.Record{}
	for _, r := range recs {
		byID[r.ID] = r
	}
	for i := range changed {
		r := byID[ids[i]]
		wantVersion := int64(2)
		if i == 0 {
			wantVersion = 3
		}
		if got, want := field(r, "next_visit_on"), fmt.Sprintf("2026-12-%02d", 1+i%28); got != want || r.Version != wantVersion {
			t.Errorf("visit %d: next_visit_on %q version %d, want %q version %d", i, got, r.Version, want, wantVersion)
		}
	}
	if got := field(byID[ids[0]], "outcome_reason"); got != "twice" {
		t.Errorf("visit 0: outcome_reason %q, want the batch's second change", got)
	}
	if r := byID[ids[n-1]]; r.Version != 1 {
		t.Errorf("visit with an equal value: version %d, want 1", r.Version)
	}
	if r := byID[ids[n-2]]; field(r, "outcome_reason") != "late" || r.Version != 2 {
		t.Errorf("visit changed by an old stamp: %q version %d, want late version 2", field(r, "outcome_reason"), r.Version)
	}
	if r := byID[fresh]; field(r, "outcome_reason") != "new then changed" || r.Version != 2 {
		t.Errorf("visit created and changed in the batch: %q version %d", field(r, "outcome_reason"), r.Version)
	}

	// Every changed or touched record has a new number: the pull after
	// the cursor of before the push brings each of them once.
	after, err := f.db.PullResponse(ctx, sue, schema.PullRequest{Cursor: before.Cursor, Limit: 10000})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, r := range after.Records {
		seen[r.ID]++
	}
	for i := range changed {
		if seen[ids[i]] != 1 {
			t.Errorf("visit %d pulled %d times, want once", i, seen[ids[i]])
		}
	}
	for _, id := range []string{ids[n-2], fresh} {
		if seen[id] != 1 {
			t.Errorf("visit %s pulled %d times, want once", id, seen[id])
		}
	}
}

// TestPushPreparesNoStatementOnPostgres: on PostgreSQL a push of changed
// records prepares no statement in its transaction (decision 0066): each
// prepared statement was a round trip to prepare and another to
// deallocate, every push; the read model's statements run by their text,
// which pgx prepares once a connection.
func TestPushPreparesNoStatementOnPostgres(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	if f.db.eng.name() != "postgres" {
		t.Skip("SQLite has no round trips: its statements are prepared for the transaction")
	}
	a := f.actor(f.asha, f.ashaDev)
	ids := make([]string, 20)
	var muts []schema.Mutation
	for i := range ids {
		ids[i] = schema.NewID()
		muts = append(muts, mutation("visit", ids[i], f.ashaCase, stamp(int64(1000+i), f.ashaDev), visitFields("draft")))
	}
	f.push(t, a, muts...)
	for round := range 2 {
		muts = muts[:0]
		for i, id := range ids {
			muts = append(muts, mutation("visit", id, f.ashaCase, stamp(int64(5000+100*round+i), f.ashaDev),
				raw("next_visit_on", fmt.Sprintf("2026-12-%02d", 1+round))))
		}
		before := f.db.writerPrepares.Load()
		for i, r := range f.push(t, a, muts...) {
			if r.Status != schema.StatusApplied {
				t.Fatalf("round %d: result %d = %+v", round, i, r)
			}
		}
		if n := f.db.writerPrepares.Load() - before; n != 0 {
			t.Errorf("round %d: a push of 20 changed visits prepared %d statements, want none", round, n)
		}
	}
}
