package serverdb

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"doorstep/schema"
)

// The cursor hazard (docs/sync-protocol.md, "Cursors with several
// writers"): were two write transactions to commit out of their numbers'
// order, a device pulling between the two commits would be handed a
// cursor past the lower number, and skip that change for ever. Many
// pushers on two store handles over one database (two server instances)
// and pullers paging by cursor the whole time, each from either handle:
// at the end every puller holds every change of its scope, and nothing of
// another's.
func TestCursorsWithSeveralWriters(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	other, err := Open(ctx, f.db.Path(), Options{Now: f.clock.Now})
	if err != nil {
		t.Fatalf("open a second instance: %v", err)
	}
	t.Cleanup(func() { other.Close() })
	dbs := []*DB{f.db, other}

	pushers, batches, per := 16, 12, 3
	if testing.Short() {
		batches = 4
	}
	var mu sync.Mutex
	mine := map[string]bool{} // asha's case's new records
	var pushing sync.WaitGroup
	var failed atomic.Bool
	for g := range pushers {
		// Even pushers write to asha's case, odd ones to ben's: out of
		// the pullers' scope.
		who, dev, caseID := f.asha, f.ashaDev, f.ashaCase
		if g%2 == 1 {
			who, dev, caseID = f.ben, f.benDev, f.benCase
		}
		pushing.Go(func() {
			db := dbs[g%len(dbs)]
			for b := range batches {
				muts := make([]schema.Mutation, per)
				for i := range muts {
					id := schema.NewID()
					muts[i] = mutation("household_member", id, caseID, stamp(f.clock.Now().UnixMilli(), dev),
						raw("relation", "lodger", "residence", "lives_here", "name", fmt.Sprintf("Lodger %d-%d-%d", g, b, i)))
				}
				res, err := db.Push(ctx, f.actor(who, dev), muts)
				if err != nil {
					t.Errorf("pusher %d: %v", g, err)
					failed.Store(true)
					return
				}
				mu.Lock()
				for i, r := range res {
					if r.Status != schema.StatusApplied {
						t.Errorf("pusher %d: %+v; want applied", g, r)
					}
					if caseID == f.ashaCase {
						mine[muts[i].RecordID] = true
					}
				}
				mu.Unlock()
			}
		})
	}
	done := make(chan struct{})
	go func() { pushing.Wait(); close(done) }()

	const pullers = 4
	got := make([]map[string]bool, pullers)
	pages := make([]int, pullers)
	var pulling sync.WaitGroup
	for p := range pullers {
		got[p] = map[string]bool{}
		pulling.Go(func() {
			actor := f.actor(f.asha, fmt.Sprintf("puller-%d", p))
			cursor := ""
			// Page while the pushers push; then once more to the end.
			for last := false; ; {
				select {
				case <-done:
					last = true
				default:
				}
				for {
					resp, err := dbs[(p+pages[p])%len(dbs)].PullResponse(ctx, actor, schema.PullRequest{Cursor: cursor, Limit: 5})
					if err != nil {
						t.Errorf("puller %d: %v", p, err)
						return
					}
					pages[p]++
					for _, r := range resp.Records {
						got[p][r.ID] = true
					}
					cursor = resp.Cursor
					if !resp.HasMore {
						break
					}
				}
				if last || failed.Load() {
					return
				}
			}
		})
	}
	pulling.Wait()

	if want := pushers / 2 * batches * per; len(mine) != want {
		t.Fatalf("%d records pushed to asha's case, want %d", len(mine), want)
	}
	for p := range pullers {
		missing := 0
		for id := range mine {
			if !got[p][id] {
				missing++
			}
		}
		extra := 0
		for id := range got[p] {
			if !mine[id] && id != f.ashaCase {
				extra++
			}
		}
		if missing > 0 || extra > 0 {
			t.Errorf("puller %d after %d pages: %d of asha's %d new records never pulled (skipped by its cursor), %d records pulled from outside her scope",
				p, pages[p], missing, len(mine), extra)
		}
	}
}
