package serverdb

import (
	"context"
	"testing"
	"time"

	"doorstep/schema"
)

// year2099 is a stamp's wall time far ahead of every test clock.
var year2099 = time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()

// TestFutureStampDoesNotBlockCorrections: an officer's push stamped in 2099
// is applied, but with a stamp of the server's (docs/sync-protocol.md §3),
// so the supervisor's and the admin's later edits take effect, and so does
// the officer's own next change from a tablet with a right clock.
func TestFutureStampDoesNotBlockCorrections(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	asha := f.actor(f.asha, f.ashaDev)
	now := f.clock.Now().UnixMilli()
	id := schema.NewID()
	f.push(t, asha, mutation("household_member", id, f.ashaCase, stamp(now, f.ashaDev),
		raw("relation", "lodger", "residence", "lives_here", "name", "Lee Lodger")))

	f.clock.Advance(time.Second)
	res := f.push(t, asha, mutation("household_member", id, "", stamp(year2099, f.ashaDev), raw("name", "Lee From The Future")))
	if res[0].Status != schema.StatusApplied {
		t.Fatalf("push stamped 2099: %+v; want applied", res[0])
	}
	var clocks string
	if err := f.db.r.QueryRow(`SELECT `+f.db.eng.jsonText("clocks", "name")+` FROM records WHERE id = ?`, id).Scan(&clocks); err != nil {
		t.Fatal(err)
	}
	h, err := schema.ParseHLC(clocks)
	if err != nil || h.AheadOf(f.clock.Now(), schema.MaxClockAhead) || h.Node != f.ashaDev {
		t.Fatalf("stored stamp %q (%v); want one of the server's time, node %s", clocks, err, f.ashaDev)
	}

	f.clock.Advance(time.Second)
	if _, err := f.db.Write(ctx, f.actor(f.sue, ""), "household_member", id, "", raw("name", "Lee Supervisor")); err != nil {
		t.Fatal(err)
	}
	if got := field(f.get(t, id), "name"); got != "Lee Supervisor" {
		t.Fatalf("after the supervisor's edit the name is %q", got)
	}
	f.clock.Advance(time.Second)
	if _, err := f.db.Write(ctx, f.admin, "household_member", id, "", raw("name", "Lee Admin")); err != nil {
		t.Fatal(err)
	}
	if got := field(f.get(t, id), "name"); got != "Lee Admin" {
		t.Fatalf("after the admin's edit the name is %q", got)
	}
	f.clock.Advance(time.Second)
	res = f.push(t, asha, mutation("household_member", id, "", stamp(f.clock.Now().UnixMilli(), f.ashaDev), raw("name", "Lee Officer")))
	if res[0].Status != schema.StatusApplied || field(f.get(t, id), "name") != "Lee Officer" {
		t.Fatalf("the officer's next change: %+v, name %q", res[0], field(f.get(t, id), "name"))
	}
	if cs := f.conflicts(t, id); len(cs) != 0 {
		t.Errorf("%d conflict records; every edit was later than the one before", len(cs))
	}
}

// TestFutureStampsKeepTheirOrder: in one batch, a device's stamps that
// cross the bound keep the order the device made them in, so its later
// change wins.
func TestFutureStampsKeepTheirOrder(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	asha := f.actor(f.asha, f.ashaDev)
	now := f.clock.Now().UnixMilli()
	ahead := now + (4 * time.Minute).Milliseconds() // within the bound
	id := schema.NewID()
	res := f.push(t, asha,
		mutation("household_member", id, f.ashaCase, stamp(now, f.ashaDev), raw("relation", "lodger", "residence", "lives_here", "name", "One")),
		mutation("household_member", id, "", stamp(ahead, f.ashaDev), raw("name", "Two")),
		mutation("household_member", id, "", stamp(year2099, f.ashaDev), raw("name", "Three")),
	)
	for i, r := range res {
		if r.Status != schema.StatusApplied {
			t.Errorf("mutation %d: %+v; want applied", i, r)
		}
	}
	if got := field(f.get(t, id), "name"); got != "Three" {
		t.Fatalf("name %q; want the device's last change", got)
	}
}

// TestStoredFutureStampLosesToNewWrite: a stamp beyond the bound already
// stored (before the bound existed) no longer wins against a new write.
func TestStoredFutureStampLosesToNewWrite(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	id := schema.NewID()
	f.push(t, f.actor(f.asha, f.ashaDev), mutation("household_member", id, f.ashaCase, stamp(f.clock.Now().UnixMilli(), f.ashaDev),
		raw("relation", "lodger", "residence", "lives_here", "name", "Lee Lodger")))
	old := stamp(year2099, f.ashaDev).String()
	set := `UPDATE records SET clocks = json_set(clocks, '$.name', ?) WHERE id = ?`
	if onPostgres() {
		set = `UPDATE records SET clocks = jsonb_set(clocks::jsonb, '{name}', to_jsonb(?::text))::text WHERE id = ?`
	}
	if _, err := f.db.w.Exec(set, old, id); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(time.Second)
	if _, err := f.db.Write(ctx, f.actor(f.sue, ""), "household_member", id, "", raw("name", "Lee Supervisor")); err != nil {
		t.Fatal(err)
	}
	if got := field(f.get(t, id), "name"); got != "Lee Supervisor" {
		t.Fatalf("name %q; want the supervisor's", got)
	}
}
