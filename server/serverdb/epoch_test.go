package serverdb

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"doorstep/schema"
)

// TestCursorEpoch: cursors carry the database's epoch; a plain "c:<n>"
// (issued before epochs) is good until the first restore; after it, every
// earlier cursor is refused with invalid on cursor, whatever its number,
// and a push carrying one marks no echo. The epoch survives a reopen.
func TestCursorEpoch(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	a := f.actor(f.asha, f.ashaDev)
	f.push(t, a, mutation("visit", schema.NewID(), f.ashaCase, stamp(1000, f.ashaDev), visitFields("planned")))
	resp, err := f.db.PullResponse(ctx, a, schema.PullRequest{})
	if err != nil {
		t.Fatal(err)
	}
	old := resp.Cursor
	n := strings.TrimPrefix(old, "c:"+f.db.Epoch()+":")
	if n == old || f.db.Epoch() == "" {
		t.Fatalf("cursor %q does not carry the epoch %q", old, f.db.Epoch())
	}
	plain := "c:" + n
	for _, c := range []string{old, plain, "c:" + f.db.Epoch() + ":0"} {
		if _, err := f.db.PullResponse(ctx, a, schema.PullRequest{Cursor: c}); err != nil {
			t.Errorf("cursor %q before any restore: %v, want accepted", c, err)
		}
	}
	for _, c := range []string{"c:0123456789abcdef:1", "c:" + f.db.Epoch() + ":x", "c:" + f.db.Epoch() + ":-1", "c::1", "c:" + f.db.Epoch() + ":"} {
		_, err := f.db.PullResponse(ctx, a, schema.PullRequest{Cursor: c})
		if e := schema.AsError(err); e == nil || e.Code != schema.ECodeInvalid || e.Field != "cursor" {
			t.Errorf("cursor %q: %v, want invalid cursor", c, err)
		}
	}

	// Opened again, the database keeps its epoch.
	before := f.db.Epoch()
	again, err := Open(ctx, f.db.Path(), Options{Now: f.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	if again.Epoch() != before {
		t.Errorf("epoch when opened again = %q, want %q", again.Epoch(), before)
	}
	again.Close()

	// A back-up restored gets a new epoch; so does one taken before
	// epochs (no epoch in it), whose plain cursors must not pass either.
	if onPostgres() {
		return // PostgreSQL is backed up and restored with pg_dump and pg_restore
	}
	dir := t.TempDir()
	if err := f.db.Backup(ctx, filepath.Join(dir, "backup.db")); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{settingEpoch, settingPlainCursors} {
		if ok, err := f.db.DeleteSetting(ctx, k); !ok || err != nil {
			t.Fatalf("delete %s: %v, %v", k, ok, err)
		}
	}
	if err := f.db.Backup(ctx, filepath.Join(dir, "before-epochs.db")); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"backup.db", "before-epochs.db"} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "server.db")
			if err := Restore(ctx, filepath.Join(dir, name), path); err != nil {
				t.Fatal(err)
			}
			db, err := Open(ctx, path, Options{Now: f.clock.Now})
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			restored := *f
			restored.db = db
			restoredEpoch(t, &restored, before, old, plain)
		})
	}
}

// restoredEpoch checks a restored database: a new epoch, and every cursor
// of the life before refused, even once the database has numbered past it.
func restoredEpoch(t *testing.T, f *fixture, before, old, plain string) {
	t.Helper()
	ctx := context.Background()
	db := f.db
	if db.Epoch() == "" || db.Epoch() == before {
		t.Fatalf("the restored database's epoch is %q; before it was %q", db.Epoch(), before)
	}
	epoch := db.Epoch()
	a := f.actor(f.asha, f.ashaDev)
	// Every earlier cursor is refused, even one the database has numbered
	// past, and says why.
	for range 3 {
		f.push(t, a, mutation("visit", schema.NewID(), f.ashaCase, stamp(2000, f.ashaDev), visitFields("planned")))
	}
	for _, c := range []string{old, plain} {
		_, err := db.PullResponse(ctx, a, schema.PullRequest{Cursor: c})
		if e := schema.AsError(err); e == nil || e.Code != schema.ECodeInvalid || e.Field != "cursor" || !strings.Contains(e.Message, "restored") {
			t.Errorf("cursor %q after a new epoch: %v, want invalid cursor naming the restore", c, err)
		}
	}
	resp, err := db.PullResponse(ctx, a, schema.PullRequest{})
	if err != nil || !strings.HasPrefix(resp.Cursor, "c:"+epoch+":") {
		t.Fatalf("a pull from the start after the new epoch: cursor %q, %v", resp.Cursor, err)
	}
	// A push carrying a cursor of the old epoch marks no echo: the device
	// gets the record back at its next pull.
	vid := schema.NewID()
	if _, err := db.PushAt(ctx, a, []schema.Mutation{mutation("visit", vid, f.ashaCase, stamp(3000, f.ashaDev), visitFields("planned"))}, old); err != nil {
		t.Fatal(err)
	}
	next, err := db.PullResponse(ctx, a, schema.PullRequest{Cursor: resp.Cursor})
	if err != nil || len(next.Records) != 1 || next.Records[0].ID != vid {
		t.Errorf("the pull after a push with an old cursor = %+v, %v; want the pushed visit", next.Records, err)
	}
}
