package serverdb

import (
	"context"
	"testing"
	"time"
)

// TestDashboardSignOuts: a signed-out session is ended for every store on
// the file and after a restart; a sign-out of a session long expired is
// deleted by the next sign-out.
func TestDashboardSignOuts(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	other, err := Open(ctx, f.db.Path(), Options{Now: f.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if err := f.db.EndDashboardSession(ctx, "", f.clock.Now()); err == nil {
		t.Fatal("a sign-out without a session id was accepted")
	}
	if err := f.db.EndDashboardSession(ctx, "s1", f.clock.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	// Twice is fine.
	if err := f.db.EndDashboardSession(ctx, "s1", f.clock.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	for name, db := range map[string]*DB{"this store": f.db, "another store on the file": other} {
		for id, want := range map[string]bool{"s1": true, "s2": false} {
			if got, err := db.DashboardSessionEnded(ctx, id); err != nil || got != want {
				t.Errorf("%s: session %s ended = %v, %v; want %v", name, id, got, err, want)
			}
		}
	}
	f.clock.Advance(2 * time.Hour)
	if err := other.EndDashboardSession(ctx, "s2", f.clock.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := f.db.r.QueryRow(`SELECT count(*) FROM dashboard_signouts`).Scan(&n); err != nil || n != 1 {
		t.Errorf("sign-outs kept: %d, %v; want 1 (s1's session expired)", n, err)
	}
}
