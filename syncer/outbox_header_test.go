package syncer

import (
	"context"
	"encoding/json"
	"strconv"
	"testing"

	"doorstep/schema"
)

// The tablet tells the server what waits in its outbox on every push and
// pull (Doorstep-Outbox-Pending), for the supervisors' freshness view.
func TestSyncReportsOutboxPending(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p := newPeer(t)
	a := newAgent(t, p, nil)
	caseID := schema.NewID()
	seed(t, a, p, caseRecord(caseID))
	writeVisits(t, a, caseID, 3)
	p.mu.Lock()
	p.headers = nil
	p.mu.Unlock()
	if _, err := a.SyncOnce(ctx); err != nil {
		t.Fatal(err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.headers) < 2 {
		t.Fatalf("want a push and a pull, got %d requests", len(p.headers))
	}
	push, pull := p.headers[0], p.headers[len(p.headers)-1]
	if push.Get("Content-Encoding") != "gzip" || push.Get(schema.HeaderOutboxPending) != "3" {
		t.Errorf("push: %s = %q, want 3 (headers %v)", schema.HeaderOutboxPending, push.Get(schema.HeaderOutboxPending), push)
	}
	if pull.Get(schema.HeaderOutboxPending) != "0" {
		t.Errorf("pull after the push was acknowledged: %s = %q, want 0", schema.HeaderOutboxPending, pull.Get(schema.HeaderOutboxPending))
	}
}

// The pull after a push is sent while the push's last answers are being
// stored (decision 0109): its header says what is pending once they are,
// as when it was counted after the store. Of four changes the server
// applies one, refuses one, answers nothing for one and applies the
// last: one stays pending, and the pull's page is applied after the
// answers, on top of them.
func TestPullDuringTheStoreCountsWhatWillBePending(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p := newPeer(t)
	a := newAgent(t, p, nil)
	caseID := schema.NewID()
	seed(t, a, p, caseRecord(caseID))
	ids := writeVisits(t, a, caseID, 4)
	p.mu.Lock()
	p.headers = nil
	p.onPush = func(n int, req schema.PushRequest) (int, any) {
		resp := p.applyPush(req)
		resp.Results[1] = schema.MutationResult{MutationID: req.Mutations[1].ID, Status: schema.StatusRejected,
			Error: &schema.Error{Code: schema.ECodeInvalid, Field: "fields.status", Message: "no"}}
		resp.Results = append(resp.Results[:2], resp.Results[3])
		return 200, resp
	}
	var pulled schema.Record
	p.onPull = func(n int, req schema.PullRequest) (int, any) {
		pulled = schema.Record{Entity: "visit", ID: ids[0], CaseID: caseID, Version: 7,
			Fields: map[string]json.RawMessage{"status": raw("draft"), "location": raw("home")}}
		return 200, schema.PullResponse{Records: []schema.Record{pulled}, Removed: []schema.Removal{}, Cursor: "c-after", ServerTime: p.now()}
	}
	p.mu.Unlock()
	rep, err := a.SyncOnce(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Applied != 2 || rep.Rejected != 1 || rep.Pulled != 1 {
		t.Errorf("report %+v; want 2 applied, 1 rejected, 1 pulled", rep)
	}
	st, err := a.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	pull := p.headers[len(p.headers)-1]
	if got, want := pull.Get(schema.HeaderOutboxPending), strconv.Itoa(st.Pending); got != want || st.Pending != 1 {
		t.Errorf("the pull said %s = %q; the outbox holds %d pending after the sync (want 1, and the header to say so)",
			schema.HeaderOutboxPending, got, st.Pending)
	}
	rec, err := a.Get(ctx, "visit", ids[0])
	if err != nil {
		t.Fatal(err)
	}
	if rec.Version != 7 || string(rec.Fields["location"]) != `"home"` {
		t.Errorf("visit %s after the sync: version %d, fields %s; want the pulled version 7 over the push's receipt", ids[0], rec.Version, rec.Fields)
	}
}
