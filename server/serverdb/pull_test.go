package serverdb

import (
	"context"
	"strings"
	"testing"

	"doorstep/schema"
)

func TestPullPagesAndCursor(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	a := f.actor(f.asha, f.ashaDev)
	var muts []schema.Mutation
	for i := 0; i < 5; i++ {
		muts = append(muts, mutation("visit", schema.NewID(), f.ashaCase, stamp(int64(1000+i), f.ashaDev), visitFields("planned")))
	}
	f.push(t, a, muts...)
	f.push(t, f.actor(f.ben, f.benDev), mutation("visit", schema.NewID(), f.benCase, stamp(1, f.benDev), visitFields("planned")))

	seen := map[string]bool{}
	cursor := ""
	pages := 0
	for {
		resp, err := f.db.PullResponse(ctx, a, schema.PullRequest{Cursor: cursor, Limit: 2})
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, r := range resp.Records {
			if r.CaseID != f.ashaCase {
				t.Errorf("pulled a record of case %s, not Asha's", r.CaseID)
			}
			if seen[r.ID] {
				t.Errorf("record %s sent twice", r.ID)
			}
			seen[r.ID] = true
		}
		if !strings.HasPrefix(resp.Cursor, "c:") || resp.ServerTime.IsZero() {
			t.Errorf("cursor %q server_time %v", resp.Cursor, resp.ServerTime)
		}
		cursor = resp.Cursor
		if !resp.HasMore {
			break
		}
		if len(resp.Records) != 2 {
			t.Errorf("a full page held %d records", len(resp.Records))
		}
	}
	if len(seen) != 6 || pages != 3 {
		t.Errorf("pulled %d records in %d pages, want 6 (case + 5 visits) in 3", len(seen), pages)
	}
	// Nothing new: an empty page, the same cursor.
	resp, err := f.db.PullResponse(ctx, a, schema.PullRequest{Cursor: cursor})
	if err != nil || len(resp.Records) != 0 || resp.HasMore {
		t.Errorf("no-op pull = %+v, %v", resp, err)
	}
	// Bad cursors.
	for _, c := range []string{"x", "c:", "c:-1", "c:abc", "c:999999"} {
		_, err := f.db.PullResponse(ctx, a, schema.PullRequest{Cursor: c})
		if e := schema.AsError(err); e == nil || e.Code != schema.ECodeInvalid || e.Field != "cursor" {
			t.Errorf("cursor %q: %v, want invalid cursor", c, err)
		}
	}
}

func TestPullReassignRemovesAndGrants(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	asha, ben := f.actor(f.asha, f.ashaDev), f.actor(f.ben, f.benDev)
	vid := schema.NewID()
	f.push(t, asha, mutation("visit", vid, f.ashaCase, stamp(1000, f.ashaDev), visitFields("planned")))
	ra, _ := f.db.PullResponse(ctx, asha, schema.PullRequest{})
	rb, _ := f.db.PullResponse(ctx, ben, schema.PullRequest{})
	rs, _ := f.db.PullResponse(ctx, f.actor(f.carl, ""), schema.PullRequest{})

	if err := f.db.ReassignCase(ctx, f.admin, f.ashaCase, "ben"); err != nil {
		t.Fatal(err)
	}
	ra2, err := f.db.PullResponse(ctx, asha, schema.PullRequest{Cursor: ra.Cursor})
	if err != nil {
		t.Fatal(err)
	}
	if len(ra2.Removed) != 1 || ra2.Removed[0].CaseID != f.ashaCase || ra2.Removed[0].Reason != "out_of_scope" || len(ra2.Records) != 0 {
		t.Errorf("Asha after reassign: removed %+v, %d records; want the case removed", ra2.Removed, len(ra2.Records))
	}
	rb2, err := f.db.PullResponse(ctx, ben, schema.PullRequest{Cursor: rb.Cursor})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, r := range rb2.Records {
		got[r.ID] = true
	}
	if !got[f.ashaCase] || !got[vid] || len(rb2.Records) != 2 {
		t.Errorf("Ben after reassign got %d records %v, want the case and its visit", len(rb2.Records), got)
	}
	// Asha can no longer push to it; her outbox mutation is set aside.
	res := f.push(t, asha, mutation("visit", vid, f.ashaCase, stamp(5000, f.ashaDev), raw("outcome_reason", "late")))
	if res[0].Status != schema.StatusRejected || res[0].Error.Code != schema.ECodeOutOfScope {
		t.Errorf("push after reassign = %+v, want out_of_scope", res[0])
	}
	// Carl (another team) saw nothing and still sees nothing.
	rs2, _ := f.db.PullResponse(ctx, f.actor(f.carl, ""), schema.PullRequest{Cursor: rs.Cursor})
	if len(rs2.Records)+len(rs2.Removed) != 0 {
		t.Errorf("Carl got %+v", rs2)
	}

	// Across teams: the team A supervisor loses it, and gets it back.
	sue := f.actor(f.sue, "")
	rsu, _ := f.db.PullResponse(ctx, sue, schema.PullRequest{})
	if err := f.db.ReassignCase(ctx, f.admin, f.ashaCase, "carl"); err != nil {
		t.Fatal(err)
	}
	rsu2, _ := f.db.PullResponse(ctx, sue, schema.PullRequest{Cursor: rsu.Cursor})
	if len(rsu2.Removed) != 1 {
		t.Errorf("supervisor after cross-team reassign: removed %+v", rsu2.Removed)
	}
	if err := f.db.ReassignCase(ctx, f.admin, f.ashaCase, "asha"); err != nil {
		t.Fatal(err)
	}
	rsu3, _ := f.db.PullResponse(ctx, sue, schema.PullRequest{Cursor: rsu2.Cursor})
	if len(rsu3.Removed) != 0 || len(rsu3.Records) < 2 {
		t.Errorf("supervisor after the case came back: %d records, removed %+v", len(rsu3.Records), rsu3.Removed)
	}
}

// TestPullFromTheStartSendsEchoes: a device's own echoes are left out of its
// pulls after a cursor, but a pull from the beginning (a full resync, which
// deletes every synced record on the device first) sends them too.
func TestPullFromTheStartSendsEchoes(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	a := f.actor(f.asha, f.ashaDev)
	first, err := f.db.PullResponse(ctx, a, schema.PullRequest{})
	if err != nil {
		t.Fatal(err)
	}
	vid := schema.NewID()
	if _, err := f.db.PushAt(ctx, a, []schema.Mutation{mutation("visit", vid, f.ashaCase, stamp(1000, f.ashaDev), visitFields("planned"))}, first.Cursor); err != nil {
		t.Fatal(err)
	}
	has := func(cursor string) bool {
		t.Helper()
		resp, err := f.db.PullResponse(ctx, a, schema.PullRequest{Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range resp.Records {
			if r.ID == vid {
				return true
			}
		}
		return false
	}
	if has(first.Cursor) {
		t.Error("the device's own new visit came back in its next pull: it is its echo")
	}
	if !has("") {
		t.Error("a pull from the beginning left out the device's own visit")
	}
}
