package serverdb

import (
	"context"
	"encoding/json"
	"io"
	"testing"

	"doorstep/schema"
)

// TestNewEpoch: a new epoch given to an open store (admin new-epoch, after
// pg_restore) refuses the cursors of the old one, plain ones included,
// holds when the store is opened again, and is an audit event naming both.
func TestNewEpoch(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	old := f.db.Epoch()
	seq := mustSeq(t, f.db)
	cursors := []string{f.db.formatCursor(seq), "c:1"}
	epoch, err := f.db.NewEpoch(ctx, f.admin)
	if err != nil || epoch == old || f.db.Epoch() != epoch {
		t.Fatalf("new epoch: %q, %v; store's %q (was %q); want a new one", epoch, err, f.db.Epoch(), old)
	}
	again, err := Open(ctx, f.db.Path(), Options{Now: f.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	asha := f.actor(f.asha, f.ashaDev)
	for _, db := range []*DB{f.db, again} {
		if db.Epoch() != epoch {
			t.Errorf("epoch %q, want %q", db.Epoch(), epoch)
		}
		for _, c := range cursors {
			err := db.Pull(ctx, asha, schema.PullRequest{Cursor: c}, io.Discard)
			if e := schema.AsError(err); e == nil || e.Field != "cursor" {
				t.Errorf("cursor %q after the new epoch: %v; want it refused", c, err)
			}
		}
		if err := db.Pull(ctx, asha, schema.PullRequest{Cursor: db.formatCursor(seq)}, io.Discard); err != nil {
			t.Errorf("a cursor of the new epoch: %v", err)
		}
	}
	evs, err := f.db.AuditByAction(ctx, "new_epoch")
	var d map[string]string
	if err != nil || len(evs) != 1 || json.Unmarshal(evs[0].Detail, &d) != nil || d["previous"] != old || d["epoch"] != epoch || evs[0].UserID != f.admin.UserID {
		t.Errorf("the audit events new_epoch: %+v, %v; want one by %s naming %s and %s", evs, err, f.admin.UserID, old, epoch)
	}
}
