package syncer

import (
	"context"
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
