package serverdb

import (
	"context"
	"encoding/json"
	"reflect"
	"testing"

	"doorstep/schema"
)

// TestPushBatchMatchesOneByOne applies one mixed batch, large enough for
// the collected multi-row inserts and their goroutine (batch.go), and the
// same mutations one push each, and wants the same answers and the same
// stored records: creates and changes of records created earlier in the
// batch (before and after their rows are written), lost writes (conflict
// records, a new change number), a mutation id twice in one batch, and
// refusals.
func TestPushBatchMatchesOneByOne(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	a := f.actor(f.asha, f.ashaDev)
	const n = 5 * insertChunk // crosses chunk boundaries; async (>= 2 chunks)

	// gen builds the batch over fresh record ids; ids[j] is the j-th visit.
	gen := func() ([]schema.Mutation, []string) {
		var muts []schema.Mutation
		var ids []string
		for i := range n {
			var m schema.Mutation
			switch i % 5 {
			case 0:
				ids = append(ids, schema.NewID())
				m = mutation("visit", ids[len(ids)-1], f.ashaCase, stamp(int64(1000+i), f.ashaDev), visitFields("draft"))
			case 1:
				m = mutation("visit", ids[len(ids)-1], f.ashaCase, stamp(int64(5000+i), f.ashaDev), raw("outcome_reason", "later", "observation_notes", "seen"))
			case 2:
				// Older than the create: loses, and is kept as a conflict.
				m = mutation("visit", ids[len(ids)-1], f.ashaCase, stamp(int64(10), f.benDev), raw("outcome_reason", "older"))
			case 3:
				m = muts[i-3] // the same mutation id again
			case 4:
				m = mutation("visit", schema.NewID(), f.ashaCase, stamp(int64(1000+i), f.ashaDev), raw("no_such_field", "x"))
			}
			// Every tenth visit is changed again much later in the batch,
			// after its row has been written.
			if i%5 == 1 && len(ids) > 10 {
				muts = append(muts, mutation("visit", ids[len(ids)-10], f.ashaCase, stamp(int64(9000+i), f.ashaDev), raw("outcome_reason", "much later")))
			}
			muts = append(muts, m)
		}
		return muts, ids
	}

	counts := func() [3]int {
		r, _ := f.db.CountRecords(ctx, "")
		m, _ := f.db.CountMutations(ctx)
		au, _ := f.db.AuditCount(ctx)
		return [3]int{r, m, au}
	}
	sub := func(x, y [3]int) [3]int { return [3]int{x[0] - y[0], x[1] - y[1], x[2] - y[2]} }

	batch, bids := gen()
	c0 := counts()
	bres := f.push(t, a, batch...)
	c1 := counts()
	single, sids := gen()
	sres := make([]schema.MutationResult, len(single))
	for i, m := range single {
		sres[i] = f.push(t, a, m)[0]
	}
	c2 := counts()

	if d1, d2 := sub(c1, c0), sub(c2, c1); d1 != d2 {
		t.Errorf("records, mutations, audit events written: batch %v, one by one %v", d1, d2)
	}
	norm := func(r schema.MutationResult) schema.MutationResult {
		r.MutationID = ""
		if r.Receipt != nil {
			rc := *r.Receipt
			rc.ID = ""
			r.Receipt = &rc
		}
		return r
	}
	for i := range bres {
		if b, s := norm(bres[i]), norm(sres[i]); !reflect.DeepEqual(b, s) {
			t.Fatalf("result %d: batch %+v, one by one %+v", i, b, s)
		}
	}
	statuses := map[string]int{}
	for _, r := range bres {
		statuses[r.Status]++
	}
	for _, s := range []string{schema.StatusApplied, schema.StatusConflict, schema.StatusDuplicate, schema.StatusRejected} {
		if statuses[s] == 0 {
			t.Errorf("no %s result in the batch: %v", s, statuses)
		}
	}

	get := func(id string) schema.Record {
		r, err := f.db.Get(ctx, f.admin, "visit", id)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	for j := range bids {
		b, s := get(bids[j]), get(sids[j])
		bf, _ := json.Marshal(b.Fields)
		sf, _ := json.Marshal(s.Fields)
		if string(bf) != string(sf) || b.Version != s.Version {
			t.Fatalf("visit %d: batch v%d %s, one by one v%d %s", j, b.Version, bf, s.Version, sf)
		}
		if nb, ns := len(f.conflicts(t, bids[j])), len(f.conflicts(t, sids[j])); nb != ns || nb == 0 {
			t.Fatalf("visit %d: %d conflicts in the batch, %d one by one", j, nb, ns)
		}
	}

	// The same stored clocks; change numbers unique and counted.
	var bc, sc string
	if err := f.db.r.QueryRow(`SELECT clocks FROM records WHERE id = ?`, bids[7]).Scan(&bc); err != nil {
		t.Fatal(err)
	}
	if err := f.db.r.QueryRow(`SELECT clocks FROM records WHERE id = ?`, sids[7]).Scan(&sc); err != nil {
		t.Fatal(err)
	}
	if bc != sc {
		t.Errorf("clocks: batch %s, one by one %s", bc, sc)
	}
	var dupSeq int
	if err := f.db.r.QueryRow(`SELECT count(*) - count(DISTINCT seq) FROM records`).Scan(&dupSeq); err != nil || dupSeq != 0 {
		t.Errorf("seq not unique: %d, %v", dupSeq, err)
	}
	var maxSeq, storedMax int64
	_ = f.db.r.QueryRow(`SELECT max(seq) FROM records`).Scan(&maxSeq)
	storedMax, _ = f.db.MaxSeq(ctx)
	if maxSeq != storedMax {
		t.Errorf("max record seq %d, sequence counter %d", maxSeq, storedMax)
	}
}
