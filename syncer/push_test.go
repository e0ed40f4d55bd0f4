package syncer

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"doorstep/schema"
	"doorstep/syncer/devicedb"
)

func writeVisits(t *testing.T, a *Agent, caseID string, n int) []string {
	t.Helper()
	ws := make([]Write, n)
	ids := make([]string, n)
	for i := range ws {
		ids[i] = schema.NewID()
		ws[i] = Write{Entity: "visit", ID: ids[i], CaseID: caseID, Fields: map[string]json.RawMessage{"status": raw("draft")}}
	}
	if err := a.PutMany(context.Background(), ws); err != nil {
		t.Fatal(err)
	}
	return ids
}

func TestRejectedMutationIsSetAsideAndNeverBlocks(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p := newPeer(t)
	a := newAgent(t, p, nil)
	caseID := schema.NewID()
	seed(t, a, p, caseRecord(caseID))
	ids := writeVisits(t, a, caseID, 3)
	out := mustOutbox(t, a)
	bad := out[1].MutationID
	p.mu.Lock()
	p.onPush = func(n int, req schema.PushRequest) (int, any) {
		resp := p.applyPush(req)
		for i, m := range req.Mutations {
			if m.ID == bad {
				resp.Results[i] = schema.MutationResult{MutationID: m.ID, Status: schema.StatusRejected,
					Error: &schema.Error{Code: schema.ECodeOutOfScope, Field: "case_id", Message: "not your case"}}
			}
		}
		return 200, resp
	}
	p.mu.Unlock()
	rep, err := a.SyncOnce(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Applied != 2 || rep.Rejected != 1 || rep.Pushed != 3 {
		t.Fatalf("report: %+v", rep)
	}
	out = mustOutbox(t, a)
	if len(out) != 1 || out[0].MutationID != bad || out[0].Status != "rejected" || out[0].Error == nil || out[0].Error.Code != schema.ECodeOutOfScope {
		t.Fatalf("outbox: want only the rejected one, with its reason; got %+v", out)
	}
	rec, _ := a.Get(ctx, "visit", ids[1])
	if !rec.Rejected || rec.Pending {
		t.Fatalf("the rejected record: rejected=%v pending=%v", rec.Rejected, rec.Pending)
	}
	st, _ := a.Status(ctx)
	if st.Pending != 0 || st.Rejected != 1 {
		t.Fatalf("status pending %d rejected %d", st.Pending, st.Rejected)
	}
	// Later writes go; the rejected one is never resent.
	writeVisits(t, a, caseID, 1)
	pushesBefore := p.pushCount()
	if _, err := a.SyncOnce(ctx); err != nil {
		t.Fatal(err)
	}
	p.mu.Lock()
	last := p.pushes[len(p.pushes)-1]
	p.mu.Unlock()
	if p.pushCount() != pushesBefore+1 || len(last.Mutations) != 1 || last.Mutations[0].ID == bad {
		t.Fatalf("second push: %+v", last.Mutations)
	}
	// A further sync with only the rejected row pushes nothing.
	pushesBefore = p.pushCount()
	if _, err := a.SyncOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if p.pushCount() != pushesBefore {
		t.Fatal("a sync with only a rejected row still pushed")
	}
}

func TestBatchShrinksAfterFailureAndGrowsBack(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p := newPeer(t)
	a := newAgent(t, p, func(c *Config) { c.BatchSize = 8 })
	caseID := schema.NewID()
	seed(t, a, p, caseRecord(caseID))
	writeVisits(t, a, caseID, 30)
	var sizes []int
	fails := 2
	p.mu.Lock()
	p.onPush = func(n int, req schema.PushRequest) (int, any) {
		sizes = append(sizes, len(req.Mutations))
		if fails > 0 {
			fails--
			return 503, errBody(schema.ECodeUnavailable, "", "overloaded")
		}
		return 200, nil
	}
	p.mu.Unlock()
	for i := 0; i < 2; i++ {
		if _, err := a.SyncOnce(ctx); err == nil {
			t.Fatal("want the push error")
		}
	}
	if out := mustOutbox(t, a); len(out) != 30 {
		t.Fatalf("a failed push lost rows: %d left", len(out))
	}
	if out := mustOutbox(t, a); out[0].Attempts != 2 {
		t.Fatalf("attempts after two failed pushes: %d", out[0].Attempts)
	}
	if _, err := a.SyncOnce(ctx); err != nil {
		t.Fatal(err)
	}
	want := []int{8, 4, 2, 4, 8, 8, 8}
	if len(sizes) != len(want) {
		t.Fatalf("batch sizes: want %v, got %v", want, sizes)
	}
	for i := range want {
		if sizes[i] != want[i] {
			t.Fatalf("batch sizes: want %v, got %v", want, sizes)
		}
	}
	if out := mustOutbox(t, a); len(out) != 0 {
		t.Fatalf("outbox not emptied: %d", len(out))
	}
}

// dropResponses is a fault-injecting RoundTripper: it lets the request
// reach the server, then loses the answer.
type dropResponses struct {
	next http.RoundTripper
	drop atomic.Int32 // how many answers to lose
}

func (d *dropResponses) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := d.next.RoundTrip(r)
	if err == nil && r.URL.Path == "/v1/sync/push" && d.drop.Add(-1) >= 0 {
		resp.Body.Close()
		return nil, errors.New("connection reset by peer")
	}
	return resp, err
}

func TestLostResponseIsResentAsDuplicate(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p := newPeer(t)
	rt := &dropResponses{next: http.DefaultTransport}
	a := newAgent(t, p, func(c *Config) { c.HTTPClient = &http.Client{Transport: rt} })
	caseID := schema.NewID()
	seed(t, a, p, caseRecord(caseID))
	writeVisits(t, a, caseID, 5)
	first := mustOutbox(t, a)
	rt.drop.Store(1)
	if _, err := a.SyncOnce(ctx); err == nil {
		t.Fatal("want the network error")
	}
	if out := mustOutbox(t, a); len(out) != 5 {
		t.Fatalf("rows lost with the answer: %d left", len(out))
	}
	rep, err := a.SyncOnce(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Duplicates != 5 || rep.Applied != 0 {
		t.Fatalf("report after resend: %+v", rep)
	}
	p.mu.Lock()
	resent := p.pushes[1].Mutations
	p.mu.Unlock()
	if resent[0].ID != first[0].MutationID || resent[0].Clock.String() != first[0].Clock {
		t.Fatalf("resent mutation changed identity: %s/%s vs %s/%s", resent[0].ID, resent[0].Clock, first[0].MutationID, first[0].Clock)
	}
	if out := mustOutbox(t, a); len(out) != 0 {
		t.Fatalf("outbox: %d left", len(out))
	}
}

func TestPoisonMutationRefusedWholeIsSetAside(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p := newPeer(t)
	a := newAgent(t, p, func(c *Config) { c.BatchSize = 1 })
	caseID := schema.NewID()
	seed(t, a, p, caseRecord(caseID))
	writeVisits(t, a, caseID, 2)
	poison := mustOutbox(t, a)[0].MutationID
	p.mu.Lock()
	p.onPush = func(n int, req schema.PushRequest) (int, any) {
		if req.Mutations[0].ID == poison {
			return http.StatusRequestEntityTooLarge, errBody(schema.ECodeTooLarge, "", "too large")
		}
		return 200, nil
	}
	p.mu.Unlock()
	a.SyncOnce(ctx)
	if _, err := a.SyncOnce(ctx); err != nil {
		t.Fatal(err)
	}
	out := mustOutbox(t, a)
	if len(out) != 1 || out[0].MutationID != poison || out[0].Status != "rejected" || out[0].Error.Code != schema.ECodeTooLarge {
		t.Fatalf("outbox: %+v", out)
	}
}

func TestPushSendsHeadersGzipAndMeasuresSkew(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p := newPeer(t)
	p.now = func() time.Time { return time.Now().Add(90 * time.Second) } // the server's clock is 90 s ahead
	a := newAgent(t, p, nil)
	caseID := schema.NewID()
	seed(t, a, p, caseRecord(caseID))
	writeVisits(t, a, caseID, 1)
	if _, err := a.SyncOnce(ctx); err != nil {
		t.Fatal(err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	var push http.Header
	for _, h := range p.headers {
		if h.Get("Content-Encoding") == "gzip" {
			push = h
		}
		if h.Get(schema.HeaderProtocol) != "1" || h.Get(schema.HeaderSchema) != "1" || h.Get(schema.HeaderAppVersion) != "test" {
			t.Fatalf("request without version headers: %v", h)
		}
		if h.Get("Accept-Encoding") != "gzip" {
			t.Fatalf("request without Accept-Encoding: %v", h)
		}
	}
	if push == nil {
		t.Fatal("no gzip push body")
	}
	if push.Get(schema.HeaderClockSkew) == "" || push.Get("Authorization") != "Bearer "+p.access {
		t.Fatalf("push headers: %v", push)
	}
	st, _ := a.Status(ctx)
	if st.ClockSkewMs < 89_000 || st.ClockSkewMs > 91_000 {
		t.Fatalf("clock skew: want about 90000 ms, got %d", st.ClockSkewMs)
	}
}

// TestOutcomesOfABatchApplyInOrder: the answers to a batch are stored a
// chunk per statement, but an outcome that carries the server's values
// sees the acknowledgements before it: a change acknowledged earlier in
// the batch no longer holds its field back from the server's value.
func TestOutcomesOfABatchApplyInOrder(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p, a, caseID := peerAgentAndCase(t)
	id := schema.NewID()
	for _, f := range []map[string]json.RawMessage{
		{"status": raw("draft"), "observation_notes": raw("the tablet's note")},
		{"outcome": raw("no_answer")},
	} {
		if err := a.PutMany(ctx, []Write{{Entity: "visit", ID: id, CaseID: caseID, Fields: f}}); err != nil {
			t.Fatal(err)
		}
	}
	p.mu.Lock()
	p.onPush = func(n int, req schema.PushRequest) (int, any) {
		resp := p.applyPush(req)
		if len(req.Mutations) != 2 {
			t.Errorf("want both changes in one batch, got %d", len(req.Mutations))
			return 200, resp
		}
		resp.Results[1] = schema.MutationResult{MutationID: req.Mutations[1].ID, Status: schema.StatusConflict,
			Current: map[string]json.RawMessage{"observation_notes": raw("the server's note"), "outcome": raw("completed")}}
		return 200, resp
	}
	p.mu.Unlock()
	rep, err := a.SyncOnce(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Applied != 1 || rep.Conflicts != 1 {
		t.Fatalf("report: %+v", rep)
	}
	rec, err := a.Get(ctx, "visit", id)
	if err != nil {
		t.Fatal(err)
	}
	if got := string(rec.Fields["observation_notes"]); got != `"the server's note"` {
		t.Fatalf("observation_notes = %s, want the server's value once the change that set it was acknowledged", got)
	}
	if len(mustOutbox(t, a)) != 0 {
		t.Fatal("outbox not emptied")
	}
}

// peerAgentAndCase is a peer, an agent signed in to it, and a case both
// hold.
func peerAgentAndCase(t *testing.T) (*peer, *Agent, string) {
	t.Helper()
	p := newPeer(t)
	a := newAgent(t, p, nil)
	caseID := schema.NewID()
	seed(t, a, p, caseRecord(caseID))
	return p, a, caseID
}

// TestReadAheadIsDroppedWhenARequestFails: the next batch is read while
// one is on the wire; when that request fails, the batch read ahead is
// not sent, the rows of the failed one count an attempt and the rest
// none, and the next sync sends every remaining row once, in order.
func TestReadAheadIsDroppedWhenARequestFails(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p := newPeer(t)
	a := newAgent(t, p, func(c *Config) { c.BatchSize = 2 })
	caseID := schema.NewID()
	seed(t, a, p, caseRecord(caseID))
	before := p.pushCount()
	ids := writeVisits(t, a, caseID, 7)
	byMutation := map[string]string{}
	for _, e := range mustOutbox(t, a) {
		byMutation[e.MutationID] = e.RecordID
	}
	p.mu.Lock()
	p.onPush = func(n int, req schema.PushRequest) (int, any) {
		if n == before+2 {
			return 503, errBody(schema.ECodeUnavailable, "", "overloaded")
		}
		return 200, nil
	}
	p.mu.Unlock()
	if _, err := a.SyncOnce(ctx); err == nil {
		t.Fatal("want the push error")
	}
	if got := p.pushCount() - before; got != 2 {
		t.Fatalf("%d push requests, want 2 (the read-ahead batch is not sent after a failure)", got)
	}
	out := mustOutbox(t, a)
	if len(out) != 5 {
		t.Fatalf("%d rows left, want 5 (the first batch acknowledged)", len(out))
	}
	for i, e := range out {
		if want := ids[2+i]; e.RecordID != want || e.Status != devicedb.OutboxPending {
			t.Fatalf("row %d: record %s status %s, want %s pending", i, e.RecordID, e.Status, want)
		}
		if want := map[bool]int{true: 1, false: 0}[i < 2]; e.Attempts != want {
			t.Fatalf("row %d: %d attempts, want %d", i, e.Attempts, want)
		}
	}
	p.mu.Lock()
	p.onPush = nil
	p.mu.Unlock()
	if _, err := a.SyncOnce(ctx); err != nil {
		t.Fatal(err)
	}
	var sent []string
	p.mu.Lock()
	for _, req := range p.pushes[before+2:] {
		for _, m := range req.Mutations {
			sent = append(sent, byMutation[m.ID])
		}
	}
	p.mu.Unlock()
	if len(sent) != 5 {
		t.Fatalf("sent %d changes after the failure, want the 5 left once each: %v", len(sent), sent)
	}
	for i, id := range sent {
		if id != ids[2+i] {
			t.Fatalf("change %d sent for %s, want %s: the order is the outbox's", i, id, ids[2+i])
		}
	}
	if len(mustOutbox(t, a)) != 0 {
		t.Fatal("outbox not emptied")
	}
}

// TestMixedAnswersLeaveTheRightRows: one batch answered with every
// outcome (applied, duplicate, a lost answer to a rejection, rejected,
// conflict with the server's values, an unknown outcome, no result at
// all) leaves pending exactly the rows the server did not settle, sets
// aside the refused ones, and stores a receipt on exactly the
// acknowledged records.
func TestMixedAnswersLeaveTheRightRows(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p, a, caseID := peerAgentAndCase(t)
	ids := writeVisits(t, a, caseID, 8)
	muts := map[string]string{} // record id -> mutation id
	for _, e := range mustOutbox(t, a) {
		muts[e.RecordID] = e.MutationID
	}
	now := time.Date(2026, 12, 5, 4, 0, 0, 0, time.UTC)
	receipt := func(i int) *schema.Receipt {
		return &schema.Receipt{Entity: "visit", ID: ids[i], Version: int64(10 + i), ReceivedAt: now, UpdatedAt: now}
	}
	refusal := &schema.Error{Code: schema.ECodeInvalid, Field: "outcome", Message: "not a known outcome"}
	p.mu.Lock()
	p.onPush = func(n int, req schema.PushRequest) (int, any) {
		results := []schema.MutationResult{
			{MutationID: muts[ids[0]], Status: schema.StatusApplied, Receipt: receipt(0)},
			{MutationID: muts[ids[1]], Status: schema.StatusDuplicate, Original: schema.StatusApplied, Receipt: receipt(1)},
			{MutationID: muts[ids[2]], Status: schema.StatusDuplicate, Original: schema.StatusRejected, Error: refusal},
			{MutationID: muts[ids[3]], Status: schema.StatusRejected, Error: refusal},
			{MutationID: muts[ids[4]], Status: schema.StatusConflict, Receipt: receipt(4),
				Current: map[string]json.RawMessage{"status": raw("draft"), "observation_notes": raw("the server's note")}},
			{MutationID: muts[ids[5]], Status: "postponed"},
			// ids[6]: no result at all.
			{MutationID: muts[ids[7]], Status: schema.StatusApplied, Receipt: receipt(7)},
			{MutationID: "never-sent", Status: schema.StatusApplied},
		}
		return 200, schema.PushResponse{Results: results, ServerTime: now}
	}
	p.mu.Unlock()
	rep, err := a.SyncOnce(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Applied != 2 || rep.Duplicates != 1 || rep.Conflicts != 1 || rep.Rejected != 2 || rep.Pushed != 6 {
		t.Fatalf("report: %+v", rep)
	}
	want := map[string]struct {
		status   string
		attempts int
	}{
		ids[2]: {devicedb.OutboxRejected, 1}, ids[3]: {devicedb.OutboxRejected, 1},
		ids[5]: {devicedb.OutboxPending, 1}, ids[6]: {devicedb.OutboxPending, 1},
	}
	out := mustOutbox(t, a)
	if len(out) != len(want) {
		t.Fatalf("%d rows left, want %d: %+v", len(out), len(want), out)
	}
	for _, e := range out {
		w, ok := want[e.RecordID]
		if !ok || e.Status != w.status || e.Attempts != w.attempts {
			t.Fatalf("row of %s: status %s, %d attempts; want %+v (listed: %v)", e.RecordID, e.Status, e.Attempts, w, ok)
		}
		if e.Status == devicedb.OutboxRejected && (e.Error == nil || e.Error.Code != refusal.Code) {
			t.Fatalf("row of %s: set aside without the server's reason: %+v", e.RecordID, e.Error)
		}
	}
	for i, id := range ids {
		rec, err := a.Get(ctx, "visit", id)
		if err != nil {
			t.Fatal(err)
		}
		acked := i == 0 || i == 1 || i == 4 || i == 7
		if got := rec.Version; acked && got != int64(10+i) || !acked && got != 0 {
			t.Fatalf("record %d: version %d, want the receipt's only on an acknowledged record", i, got)
		}
		if i == 4 && string(rec.Fields["observation_notes"]) != `"the server's note"` {
			t.Fatalf("the conflict's record: observation_notes %s, want the server's", rec.Fields["observation_notes"])
		}
	}
}

// TestOutboxCountThroughThePush: the pending and set-aside counts the
// status shows stay equal to the outbox's rows through a push whose answer
// is lost (the server applied it), the push again (duplicates), a
// rejection, a retry of the set-aside change, and a discard of another.
// (A store of answers that fails half-way: TestOutboxCountStaysExact in
// devicedb.)
func TestOutboxCountThroughThePush(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p := newPeer(t)
	a := newAgent(t, p, func(c *Config) { c.BatchSize = 2 })
	caseID := schema.NewID()
	seed(t, a, p, caseRecord(caseID))
	check := func(step string, wantPending, wantRejected int) {
		t.Helper()
		st, err := a.Status(ctx)
		if err != nil {
			t.Fatalf("%s: %v", step, err)
		}
		pending, rejected := 0, 0
		for _, e := range mustOutbox(t, a) {
			if e.Status == devicedb.OutboxPending {
				pending++
			} else {
				rejected++
			}
		}
		if st.Pending != pending || st.Rejected != rejected || pending != wantPending || rejected != wantRejected {
			t.Fatalf("%s: status %d pending, %d set aside; the outbox %d, %d; want %d, %d",
				step, st.Pending, st.Rejected, pending, rejected, wantPending, wantRejected)
		}
	}
	writeVisits(t, a, caseID, 5)
	check("5 written", 5, 0)
	var refuse string // the mutation the peer sets aside
	p.mu.Lock()
	p.onPush = func(n int, req schema.PushRequest) (int, any) {
		resp := p.applyPush(req)
		if n == 1 {
			return 503, errBody(schema.ECodeUnavailable, "", "the answer was lost") // applied all the same
		}
		for i, m := range req.Mutations {
			if m.ID == refuse {
				resp.Results[i] = schema.MutationResult{MutationID: m.ID, Status: schema.StatusRejected,
					Error: &schema.Error{Code: schema.ECodeInvalid, Field: "status", Message: "refused"}}
			}
		}
		return 200, resp
	}
	p.mu.Unlock()
	if _, err := a.SyncOnce(ctx); err == nil {
		t.Fatal("a push whose answer was lost: no error")
	}
	check("the answer lost", 5, 0)
	p.mu.Lock()
	refuse = mustOutbox(t, a)[3].MutationID
	p.mu.Unlock()
	rep, err := a.SyncOnce(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Duplicates != 2 || rep.Rejected != 1 || rep.Applied != 2 {
		t.Fatalf("the push again: %+v; want the 2 lost answers duplicates, 1 set aside, 2 applied", rep)
	}
	check("pushed again, one set aside", 0, 1)
	if _, err := a.Retry(ctx, refuse, nil); err != nil {
		t.Fatal(err)
	}
	check("the set-aside change sent again", 1, 0)
	writeVisits(t, a, caseID, 1)
	p.mu.Lock()
	refuse = mustOutbox(t, a)[1].MutationID
	p.mu.Unlock()
	check("one more written", 2, 0)
	if _, err := a.SyncOnce(ctx); err != nil {
		t.Fatal(err)
	}
	check("the retry applied, the new one set aside", 0, 1)
	if err := a.Discard(ctx, refuse); err != nil {
		t.Fatal(err)
	}
	check("the set-aside change discarded", 0, 0)
}

// TestPushReadsLaterBatchesOnTheWriter: a push's batches after the first
// are read on the writer's connection (decision 0137): for a push of
// four batches the read pool begins no more transactions than for a push
// of one but those of the three more requests (each reads the server's
// address and the tokens: two), and the batches go in the outbox's order,
// each once.
func TestPushReadsLaterBatchesOnTheWriter(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	readsOf := func(n int) (int64, []string, []string) {
		p := newPeer(t)
		a := newAgent(t, p, func(c *Config) { c.BatchSize = 2 })
		caseID := schema.NewID()
		seed(t, a, p, caseRecord(caseID))
		ids := writeVisits(t, a, caseID, n)
		byMutation := map[string]string{}
		for _, e := range mustOutbox(t, a) {
			byMutation[e.MutationID] = e.RecordID
		}
		before, pushes := a.db.ReadTransactions(), p.pushCount()
		if _, err := a.SyncOnce(ctx); err != nil {
			t.Fatal(err)
		}
		reads := a.db.ReadTransactions() - before
		var sent []string
		p.mu.Lock()
		for _, req := range p.pushes[pushes:] {
			for _, m := range req.Mutations {
				sent = append(sent, byMutation[m.ID])
			}
		}
		p.mu.Unlock()
		if len(mustOutbox(t, a)) != 0 {
			t.Fatal("outbox not emptied")
		}
		return reads, ids, sent
	}
	one, ids1, sent1 := readsOf(2)
	four, ids4, sent4 := readsOf(8)
	for _, c := range []struct{ ids, sent []string }{{ids1, sent1}, {ids4, sent4}} {
		if len(c.sent) != len(c.ids) {
			t.Fatalf("sent %d changes, want %d", len(c.sent), len(c.ids))
		}
		for i := range c.ids {
			if c.sent[i] != c.ids[i] {
				t.Fatalf("change %d sent for %s, want %s: the order is the outbox's", i, c.sent[i], c.ids[i])
			}
		}
	}
	// Four batches are three requests more, each with two reads.
	if four-one != 6 {
		t.Errorf("the read pool began %d transactions for a push of 4 batches and %d for 1: %d more, want 6 (the address and tokens of each request; the batches read on the writer)",
			four, one, four-one)
	}
}
