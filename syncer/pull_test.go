package syncer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"doorstep/schema"
)

func TestPullKeepsFieldsWithPendingChanges(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p := newPeer(t)
	a := newAgent(t, p, nil)
	caseID := schema.NewID()
	visitID := schema.NewID()
	visit := schema.Record{Entity: "visit", ID: visitID, CaseID: caseID, Version: 1,
		Fields: map[string]json.RawMessage{"status": raw("planned"), "planned_type": raw("home_announced"), "observation_notes": raw("server v1")}}
	seed(t, a, p, caseRecord(caseID), visit)

	// A local change waits in the outbox (the push fails).
	if _, err := a.Put(ctx, "visit", visitID, "", map[string]json.RawMessage{"observation_notes": raw("local edit")}); err != nil {
		t.Fatal(err)
	}
	// The server meanwhile changed both fields; the push fails as a whole,
	// so the pull runs with the change still pending.
	p.mu.Lock()
	p.onPush = func(n int, req schema.PushRequest) (int, any) {
		return 503, errBody(schema.ECodeUnavailable, "", "try later")
	}
	p.onPull = func(n int, req schema.PullRequest) (int, any) {
		v2 := visit
		v2.Version = 2
		v2.Fields = map[string]json.RawMessage{"status": raw("planned"), "planned_type": raw("home_unannounced"), "observation_notes": raw("server v2")}
		return 200, schema.PullResponse{Records: []schema.Record{v2}, Cursor: "c2", ServerTime: time.Now()}
	}
	p.mu.Unlock()
	if _, err := a.SyncOnce(ctx); err == nil {
		t.Fatal("want the push error")
	}
	got, err := a.Get(ctx, "visit", visitID)
	if err != nil {
		t.Fatal(err)
	}
	if s := string(got.Fields["observation_notes"]); s != `"local edit"` {
		t.Errorf("pending field: want the local value, got %s", s)
	}
	if s := string(got.Fields["planned_type"]); s != `"home_unannounced"` {
		t.Errorf("other field: want the server's value, got %s", s)
	}
	if got.Version != 2 || !got.Pending {
		t.Errorf("want version 2 and pending, got version %d pending %v", got.Version, got.Pending)
	}
	if st, _ := a.Status(ctx); st.Cursor != "c2" || st.Pending != 1 {
		t.Errorf("status: cursor %q pending %d", st.Cursor, st.Pending)
	}
}

func TestCrashBeforeCursorKeepsOldCursor(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p := newPeer(t)
	crash := errors.New("power cut")
	var fail bool
	a := newAgent(t, p, func(c *Config) {
		c.AfterApplyPage = func() error {
			if fail {
				return crash
			}
			return nil
		}
	})
	caseID := schema.NewID()
	seed(t, a, p, caseRecord(caseID))
	before, _ := a.Status(ctx)

	second := schema.NewID()
	p.mu.Lock()
	p.onPull = func(n int, req schema.PullRequest) (int, any) {
		return 200, schema.PullResponse{Records: []schema.Record{caseRecord(second)}, Removed: []schema.Removal{{CaseID: caseID, Reason: "out_of_scope"}},
			Cursor: "after-crash", ServerTime: time.Now()}
	}
	p.mu.Unlock()
	fail = true
	if _, err := a.SyncOnce(ctx); !errors.Is(err, crash) {
		t.Fatalf("want the crash error, got %v", err)
	}
	st, _ := a.Status(ctx)
	if st.Cursor != before.Cursor {
		t.Fatalf("cursor moved despite the crash: %q -> %q", before.Cursor, st.Cursor)
	}
	if _, err := a.Get(ctx, "case", second); schema.ErrorCode(err) != schema.ECodeNotFound {
		t.Fatalf("the crashed page's record was kept: %v", err)
	}
	if _, err := a.Get(ctx, "case", caseID); err != nil {
		t.Fatalf("the crashed page's removal was applied: %v", err)
	}
	// The page is simply pulled again.
	fail = false
	if _, err := a.SyncOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if st, _ := a.Status(ctx); st.Cursor != "after-crash" {
		t.Fatalf("cursor after retry: %q", st.Cursor)
	}
	if _, err := a.Get(ctx, "case", second); err != nil {
		t.Fatal(err)
	}
}

func TestRemovalDeletesCaseButKeepsOutbox(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p := newPeer(t)
	a := newAgent(t, p, nil)
	gone, stays := schema.NewID(), schema.NewID()
	seed(t, a, p, caseRecord(gone), flagRecord(gone, "da_victim"), caseRecord(stays), flagRecord(stays, "marac"))
	v, err := a.Put(ctx, "visit", "", gone, map[string]json.RawMessage{"status": raw("draft")})
	if err != nil {
		t.Fatal(err)
	}
	p.mu.Lock()
	p.onPush = func(n int, req schema.PushRequest) (int, any) {
		return 503, errBody(schema.ECodeUnavailable, "", "down")
	}
	p.onPull = func(n int, req schema.PullRequest) (int, any) {
		return 200, schema.PullResponse{Removed: []schema.Removal{{CaseID: gone, Reason: "out_of_scope"}}, Cursor: "c9", ServerTime: time.Now()}
	}
	p.mu.Unlock()
	rep, _ := a.SyncOnce(ctx)
	if rep.Removed != 3 {
		t.Errorf("want 3 records removed (case, flag, visit), got %d", rep.Removed)
	}
	if recs, _ := a.List(ctx, "", gone); len(recs) != 0 {
		t.Fatalf("records of the removed case remain: %d", len(recs))
	}
	if recs, _ := a.List(ctx, "", stays); len(recs) != 2 {
		t.Fatalf("the other case lost records: %d left", len(recs))
	}
	out := mustOutbox(t, a)
	if len(out) != 1 || out[0].RecordID != v.ID || out[0].Status != "pending" {
		t.Fatalf("the outbox must keep the removed case's change: %+v", out)
	}
}

func TestInvalidCursorResyncsFromStart(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p := newPeer(t)
	a := newAgent(t, p, nil)
	kept, dropped := schema.NewID(), schema.NewID()
	seed(t, a, p, caseRecord(kept), caseRecord(dropped))
	if _, err := a.Put(ctx, "visit", "", dropped, map[string]json.RawMessage{"status": raw("draft")}); err != nil {
		t.Fatal(err)
	}
	p.mu.Lock()
	p.onPush = func(n int, req schema.PushRequest) (int, any) {
		return 503, errBody(schema.ECodeUnavailable, "", "down")
	}
	p.onPull = func(n int, req schema.PullRequest) (int, any) {
		if req.Cursor != "" {
			return 400, errBody(schema.ECodeInvalid, "cursor", "unknown cursor")
		}
		return 200, schema.PullResponse{Records: []schema.Record{caseRecord(kept)}, Cursor: "fresh", ServerTime: time.Now()}
	}
	p.mu.Unlock()
	a.SyncOnce(ctx)
	st, _ := a.Status(ctx)
	if st.Cursor != "fresh" || st.Pending != 1 {
		t.Fatalf("after resync: cursor %q pending %d", st.Cursor, st.Pending)
	}
	if _, err := a.Get(ctx, "case", kept); err != nil {
		t.Fatal(err)
	}
	// The case the resync did not send is gone; the local visit (in the outbox) stays.
	if _, err := a.Get(ctx, "case", dropped); schema.ErrorCode(err) != schema.ECodeNotFound {
		t.Fatalf("a case outside the resync is still on the tablet: %v", err)
	}
	if vs, _ := a.List(ctx, "visit", dropped); len(vs) != 1 {
		t.Fatalf("the unsent visit went with the resync: %d left", len(vs))
	}
}

func TestPullPagesUntilDone(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p := newPeer(t)
	a := newAgent(t, p, func(c *Config) { c.PullLimit = 10 })
	ids := make([]string, 25)
	for i := range ids {
		ids[i] = schema.NewID()
	}
	p.mu.Lock()
	p.onPull = func(n int, req schema.PullRequest) (int, any) {
		start := 0
		fmt.Sscanf(req.Cursor, "c%d", &start)
		end := min(start+req.Limit, len(ids))
		var recs []schema.Record
		for _, id := range ids[start:end] {
			recs = append(recs, caseRecord(id))
		}
		return 200, schema.PullResponse{Records: recs, Cursor: fmt.Sprintf("c%d", end), HasMore: end < len(ids), ServerTime: time.Now()}
	}
	p.mu.Unlock()
	rep, err := a.SyncOnce(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Pulled != 25 || rep.Requests != 3 {
		t.Fatalf("want 25 records in 3 requests, got %d in %d", rep.Pulled, rep.Requests)
	}
	if recs, _ := a.List(ctx, "case", ""); len(recs) != 25 {
		t.Fatalf("want 25 cases, got %d", len(recs))
	}
}

func TestUpdateRequiredStillPushes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p := newPeer(t)
	a := newAgent(t, p, nil)
	caseID := schema.NewID()
	seed(t, a, p, caseRecord(caseID))
	if _, err := a.Put(ctx, "visit", "", caseID, map[string]json.RawMessage{"status": raw("draft")}); err != nil {
		t.Fatal(err)
	}
	p.mu.Lock()
	p.onPull = func(n int, req schema.PullRequest) (int, any) {
		return http.StatusUpgradeRequired, errBody(schema.ECodeUpdateRequired, "", "update the app")
	}
	p.mu.Unlock()
	rep, err := a.SyncOnce(ctx)
	if !errors.Is(err, ErrUpdateRequired) {
		t.Fatalf("want ErrUpdateRequired, got %v", err)
	}
	if rep.Applied != 1 {
		t.Fatalf("the push must still go: %+v", rep)
	}
	st, _ := a.Status(ctx)
	if !st.UpdateRequired || st.Pending != 0 {
		t.Fatalf("status: update_required %v pending %d", st.UpdateRequired, st.Pending)
	}
	// A later pull that works clears the flag.
	p.mu.Lock()
	p.onPull = nil
	p.mu.Unlock()
	if _, err := a.SyncOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if st, _ := a.Status(ctx); st.UpdateRequired {
		t.Fatal("update_required not cleared")
	}
}
