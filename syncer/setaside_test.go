package syncer

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"

	"doorstep/schema"
	"doorstep/syncer/devicedb"
)

func memberRecord(caseID, name string) schema.Record {
	return schema.Record{Entity: "household_member", ID: schema.NewID(), CaseID: caseID, Version: 1,
		Fields: schema.FieldsOf(schema.HouseholdMember{Relation: "partner", Residence: "lives_here", Name: name})}
}

// rejectWhen makes the peer set aside every mutation for which bad says
// so, answering current (the server's values) when the record is known.
func (p *peer) rejectWhen(bad func(m schema.Mutation) bool, current func(m schema.Mutation) map[string]json.RawMessage) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.onPush = func(n int, req schema.PushRequest) (int, any) {
		resp := p.applyPush(req)
		for i, m := range req.Mutations {
			if bad(m) {
				resp.Results[i] = schema.MutationResult{MutationID: m.ID, Status: schema.StatusRejected,
					Error: &schema.Error{Code: schema.ECodeForbidden, Field: "fields.name", Message: "not allowed"}}
				if current != nil {
					resp.Results[i].Current = current(m)
				}
			}
		}
		return 200, resp
	}
}

func fieldOf(t *testing.T, a *Agent, entity, id, field string) string {
	t.Helper()
	r, err := a.Get(context.Background(), entity, id)
	if err != nil {
		t.Fatalf("get %s %s: %v", entity, id, err)
	}
	v, ok := r.Fields[field]
	if !ok {
		return "<absent>"
	}
	var s string
	json.Unmarshal(v, &s)
	return s
}

func setAsideIDs(t *testing.T, a *Agent) (rejected, pending []string) {
	t.Helper()
	for _, e := range mustOutbox(t, a) {
		if e.Status == devicedb.OutboxRejected {
			rejected = append(rejected, e.MutationID)
		} else {
			pending = append(pending, e.MutationID)
		}
	}
	return
}

func TestDiscardDropsOnlyThatChangeAndRestoresTheServersValue(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p := newPeer(t)
	a := newAgent(t, p, nil)
	caseID := schema.NewID()
	jo, kim := memberRecord(caseID, "Jo Doe"), memberRecord(caseID, "Kim Doe")
	seed(t, a, p, caseRecord(caseID), jo, kim)

	// Two changes set aside (the server says it still has the old names),
	// one accepted.
	for id, name := range map[string]string{jo.ID: "Joanne Doe", kim.ID: "Kimberley Doe"} {
		if _, err := a.Put(ctx, "household_member", id, "", map[string]json.RawMessage{"name": raw(name)}); err != nil {
			t.Fatal(err)
		}
	}
	writeVisits(t, a, caseID, 1)
	names := map[string]string{jo.ID: "Jo Doe", kim.ID: "Kim Doe"}
	p.rejectWhen(func(m schema.Mutation) bool { return m.Entity == "household_member" },
		func(m schema.Mutation) map[string]json.RawMessage {
			return map[string]json.RawMessage{"name": raw(names[m.RecordID])}
		})
	if _, err := a.SyncOnce(ctx); err != nil {
		t.Fatal(err)
	}
	rejected, pending := setAsideIDs(t, a)
	if len(rejected) != 2 || len(pending) != 0 {
		t.Fatalf("outbox after the push: rejected %v pending %v", rejected, pending)
	}
	// A change made since waits in the outbox.
	writeVisits(t, a, caseID, 1)

	out := mustOutbox(t, a)
	var joChange OutboxEntry
	for _, e := range out {
		if e.RecordID == jo.ID {
			joChange = e
		}
	}
	if err := a.Discard(ctx, joChange.MutationID); err != nil {
		t.Fatal(err)
	}
	rejected, pending = setAsideIDs(t, a)
	if len(rejected) != 1 || rejected[0] == joChange.MutationID || len(pending) != 1 {
		t.Fatalf("after discarding one: rejected %v pending %v", rejected, pending)
	}
	if got := fieldOf(t, a, "household_member", jo.ID, "name"); got != "Jo Doe" {
		t.Fatalf("the discarded record shows %q, want the server's Jo Doe", got)
	}
	if r, _ := a.Get(ctx, "household_member", jo.ID); r.Rejected || r.Pending {
		t.Fatalf("the record still says set aside %v / pending %v", r.Rejected, r.Pending)
	}
	// The discarded change stays readable, with who and when.
	log, err := a.OutboxLog(ctx)
	if err != nil || len(log) != 1 {
		t.Fatalf("log: %v %v", log, err)
	}
	d := log[0]
	if d.Decision != "discarded" || d.MutationID != joChange.MutationID || d.DecidedBy != p.user.ID || d.DecidedAt.IsZero() ||
		!json.Valid(d.Fields) || string(d.Fields) != `{"name":"Joanne Doe"}` || d.Error == nil || d.Error.Code != schema.ECodeForbidden {
		t.Fatalf("logged decision: %+v (fields %s)", d, d.Fields)
	}
	// Discarding twice, or a pending change, is refused and changes nothing.
	mustCode(t, a.Discard(ctx, joChange.MutationID), schema.ECodeNotFound, "mutation_id")
	mustCode(t, a.Discard(ctx, pending[0]), schema.ECodeConflict, "mutation_id")
	if log, _ := a.OutboxLog(ctx); len(log) != 1 {
		t.Fatalf("a refused discard was logged: %d", len(log))
	}
}

func TestDiscardWithoutTheServersValue(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p := newPeer(t)
	a := newAgent(t, p, nil)
	caseID := schema.NewID()
	jo := memberRecord(caseID, "Jo Doe")
	seed(t, a, p, caseRecord(caseID), jo)
	// A change to a record the server has, refused whole (no current): the
	// tablet still shows the refused value until it is discarded.
	if _, err := a.Put(ctx, "household_member", jo.ID, "", map[string]json.RawMessage{"name": raw("Joanne Doe")}); err != nil {
		t.Fatal(err)
	}
	// A new record the server refuses: it never had it.
	newVisit := writeVisits(t, a, caseID, 1)[0]
	p.rejectWhen(func(schema.Mutation) bool { return true }, nil)
	if _, err := a.SyncOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if got := fieldOf(t, a, "household_member", jo.ID, "name"); got != "Joanne Doe" {
		t.Fatalf("before the discard the tablet shows %q", got)
	}
	for _, e := range mustOutbox(t, a) {
		if err := a.Discard(ctx, e.MutationID); err != nil {
			t.Fatal(err)
		}
	}
	if got := fieldOf(t, a, "household_member", jo.ID, "name"); got != "Jo Doe" {
		t.Fatalf("after the discard the tablet shows %q, want the value the change replaced", got)
	}
	if _, err := a.Get(ctx, "visit", newVisit); schema.ErrorCode(err) != schema.ECodeNotFound {
		t.Fatalf("a discarded new record the server never had is still on the tablet: %v", err)
	}
	if log, _ := a.OutboxLog(ctx); len(log) != 2 {
		t.Fatalf("log: %d decisions, want 2", len(log))
	}
	if st, _ := a.Status(ctx); st.Pending != 0 || st.Rejected != 0 {
		t.Fatalf("status: %+v", st)
	}
}

func TestRetryQueuesAgainAndARejectionComesBackSetAside(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p := newPeer(t)
	a := newAgent(t, p, nil)
	caseID := schema.NewID()
	jo := memberRecord(caseID, "Jo Doe")
	seed(t, a, p, caseRecord(caseID), jo)
	if _, err := a.Put(ctx, "household_member", jo.ID, "", map[string]json.RawMessage{"name": raw("Joanne Doe")}); err != nil {
		t.Fatal(err)
	}
	refuse := true
	p.rejectWhen(func(m schema.Mutation) bool { return refuse && m.Entity == "household_member" },
		func(schema.Mutation) map[string]json.RawMessage {
			return map[string]json.RawMessage{"name": raw("Jo Doe")}
		})
	if _, err := a.SyncOnce(ctx); err != nil {
		t.Fatal(err)
	}
	first := mustOutbox(t, a)[0]

	// Sent again: a new pending change under a new id, with the value.
	newID, err := a.Retry(ctx, first.MutationID, nil)
	if err != nil {
		t.Fatal(err)
	}
	out := mustOutbox(t, a)
	if len(out) != 1 || out[0].MutationID != newID || newID == first.MutationID || out[0].Status != "pending" ||
		string(out[0].Fields) != `{"name":"Joanne Doe"}` || out[0].Clock <= first.Clock {
		t.Fatalf("after retry: %+v (first %s)", out, first.MutationID)
	}
	if got := fieldOf(t, a, "household_member", jo.ID, "name"); got != "Joanne Doe" {
		t.Fatalf("after retry the tablet shows %q", got)
	}
	// The server refuses it again: it is set aside again, not lost.
	if _, err := a.SyncOnce(ctx); err != nil {
		t.Fatal(err)
	}
	out = mustOutbox(t, a)
	if len(out) != 1 || out[0].MutationID != newID || out[0].Status != "rejected" {
		t.Fatalf("after the second refusal: %+v", out)
	}
	// Edited and sent again; this time the server takes it.
	refuse = false
	lastID, err := a.Retry(ctx, newID, map[string]json.RawMessage{"name": raw("Joanna Doe")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.SyncOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if out := mustOutbox(t, a); len(out) != 0 {
		t.Fatalf("after the server took it: %+v", out)
	}
	p.mu.Lock()
	lastPush := p.pushes[len(p.pushes)-1]
	p.mu.Unlock()
	if m := lastPush.Mutations; len(m) != 1 || m[0].ID != lastID || string(m[0].Fields["name"]) != `"Joanna Doe"` {
		t.Fatalf("the last push: %+v", m)
	}
	log, _ := a.OutboxLog(ctx)
	if len(log) != 2 || log[0].Decision != "retried" || log[0].NewMutationID != newID || log[1].NewMutationID != lastID ||
		string(log[1].Fields) != `{"name":"Joanne Doe"}` {
		t.Fatalf("log: %+v", log)
	}
	// A retry the tablet itself refuses (an invalid edit) changes nothing.
	if _, err := a.Put(ctx, "household_member", jo.ID, "", map[string]json.RawMessage{"name": raw("Jo D")}); err != nil {
		t.Fatal(err)
	}
	refuse = true
	a.SyncOnce(ctx)
	bad := mustOutbox(t, a)[0]
	_, err = a.Retry(ctx, bad.MutationID, map[string]json.RawMessage{"relation": raw("spaceship")})
	mustCode(t, err, schema.ECodeInvalid, "relation")
	if out := mustOutbox(t, a); len(out) != 1 || out[0].MutationID != bad.MutationID || out[0].Status != "rejected" {
		t.Fatalf("a refused retry changed the outbox: %+v", out)
	}
}

// TestRetryOfANewRecordSendsItWhole: a new record whose creation and later
// change were both set aside (the server has no such record) is created
// whole, as last changed, when its creation is sent again: whether it is
// still on the tablet, or left it meanwhile (its case went and came back;
// the server never had the record) and the creation must carry the later
// change's values itself.
func TestRetryOfANewRecordSendsItWhole(t *testing.T) {
	t.Parallel()
	for _, gone := range []bool{false, true} {
		t.Run(fmt.Sprintf("gone from the tablet %v", gone), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			p := newPeer(t)
			a := newAgent(t, p, nil)
			caseID := schema.NewID()
			seed(t, a, p, caseRecord(caseID))
			rec, err := a.Put(ctx, "household_member", "", caseID, map[string]json.RawMessage{
				"relation": raw("partner"), "residence": raw("lives_here"), "name": raw("Jo Doe")})
			if err != nil {
				t.Fatal(err)
			}
			// A later change to it waits behind the refused creation.
			if _, err := a.Put(ctx, "household_member", rec.ID, "", map[string]json.RawMessage{"name": raw("Joanne Doe")}); err != nil {
				t.Fatal(err)
			}
			out := mustOutbox(t, a)
			p.rejectWhen(func(m schema.Mutation) bool { return m.RecordID == rec.ID }, nil)
			a.SyncOnce(ctx)
			if gone { // a removal takes the record; the outbox keeps both changes
				if err := a.DB().Update(ctx, func(tx *devicedb.Tx) error {
					_, err := tx.DeleteRecord(ctx, "household_member", rec.ID)
					return err
				}); err != nil {
					t.Fatal(err)
				}
			}
			newID, err := a.Retry(ctx, out[0].MutationID, nil)
			if err != nil {
				t.Fatalf("send the creation again: %v", err)
			}
			q := mustOutbox(t, a)
			if len(q) != 2 || q[0].MutationID != out[1].MutationID || q[1].MutationID != newID {
				t.Fatalf("outbox: %+v", q)
			}
			var f map[string]string
			json.Unmarshal(q[1].Fields, &f)
			if f["relation"] != "partner" || f["residence"] != "lives_here" || f["name"] != "Joanne Doe" {
				t.Fatalf("the creation sent again carries %s; want the whole record as last changed", q[1].Fields)
			}
			if got := fieldOf(t, a, "household_member", rec.ID, "name"); got != "Joanne Doe" {
				t.Fatalf("the tablet shows name %q", got)
			}
		})
	}
}

func TestSetAsideSurvivesARestart(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p := newPeer(t)
	a := newAgent(t, p, nil)
	caseID := schema.NewID()
	jo := memberRecord(caseID, "Jo Doe")
	seed(t, a, p, caseRecord(caseID), jo)
	if _, err := a.Put(ctx, "household_member", jo.ID, "", map[string]json.RawMessage{"name": raw("Joanne Doe")}); err != nil {
		t.Fatal(err)
	}
	p.rejectWhen(func(schema.Mutation) bool { return true },
		func(schema.Mutation) map[string]json.RawMessage {
			return map[string]json.RawMessage{"name": raw("Jo Doe")}
		})
	a.SyncOnce(ctx)
	before := mustOutbox(t, a)
	dir := filepath.Dir(a.DB().Path())
	a.Close()
	a2, err := Open(ctx, Config{DataDir: dir, ServerURL: p.URL()})
	if err != nil {
		t.Fatal(err)
	}
	defer a2.Close()
	if _, _, err := a2.Unlock(ctx, "asha.officer", "correct horse battery"); err != nil {
		t.Fatal(err)
	}
	after := mustOutbox(t, a2)
	if len(after) != 1 || after[0].MutationID != before[0].MutationID || after[0].Status != "rejected" ||
		after[0].Error == nil || after[0].Error.Code != schema.ECodeForbidden || string(after[0].Current["name"]) != `"Jo Doe"` ||
		string(after[0].Before["name"]) != `"Jo Doe"` {
		t.Fatalf("after a restart: %+v", after)
	}
	if st, _ := a2.Status(ctx); st.Rejected != 1 {
		t.Fatalf("status after a restart: %+v", st)
	}
	// And it can still be dealt with.
	if _, err := a2.Retry(ctx, after[0].MutationID, nil); err != nil {
		t.Fatal(err)
	}
}

func conflictRecord(caseID, entity, recordID, field, reason string, losing, winning any) schema.Record {
	return schema.Record{Entity: "conflict", ID: schema.NewID(), CaseID: caseID, Version: 1,
		Fields: schema.FieldsOf(schema.Conflict{RecordEntity: entity, RecordID: recordID, Field: field, Reason: reason,
			LosingValue: string(raw(losing)), LosingClock: "0001763892000000-0000-dev", LosingAuthor: "officer",
			WinningValue: string(raw(winning)), WinningClock: "0001763892000001-0000-server", WinningAuthor: "someone", Status: "open"})}
}

func TestKeepMineWritesTheLosingValueAgain(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p := newPeer(t)
	a := newAgent(t, p, nil)
	caseID := schema.NewID()
	jo := memberRecord(caseID, "Jo Doe")
	lost := conflictRecord(caseID, "household_member", jo.ID, "name", "lww_lost", "Joanne Doe", "Jo Doe")
	signed := conflictRecord(caseID, "visit", schema.NewID(), "outcome", "record_signed", "no_answer", "completed")
	seed(t, a, p, caseRecord(caseID), jo, lost, signed)

	_, err := a.KeepMine(ctx, signed.ID)
	mustCode(t, err, schema.ECodeInvalid, "reason")
	if n := len(mustOutbox(t, a)); n != 0 {
		t.Fatalf("a refused keep-mine queued %d changes", n)
	}
	newID, err := a.KeepMine(ctx, lost.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got := fieldOf(t, a, "household_member", jo.ID, "name"); got != "Joanne Doe" {
		t.Fatalf("the member shows %q", got)
	}
	out := mustOutbox(t, a)
	if len(out) != 2 || out[0].MutationID != newID || out[0].RecordID != jo.ID || string(out[0].Fields) != `{"name":"Joanne Doe"}` ||
		out[1].Entity != "conflict" || out[1].RecordID != lost.ID {
		t.Fatalf("outbox: %+v", out)
	}
	if got := fieldOf(t, a, "conflict", lost.ID, "status"); got != "resolved" {
		t.Fatalf("the conflict is %q", got)
	}
	if by := fieldOf(t, a, "conflict", lost.ID, "resolved_by"); by != p.user.ID {
		t.Fatalf("resolved_by %q", by)
	}
	if st, _ := a.Status(ctx); st.Conflicts != 1 {
		t.Fatalf("open conflicts: %d, want 1 (the signed one)", st.Conflicts)
	}
	log, _ := a.OutboxLog(ctx)
	if len(log) != 1 || log[0].Decision != "kept_mine" || log[0].ConflictID != lost.ID || log[0].NewMutationID != newID {
		t.Fatalf("log: %+v", log)
	}
	_, err = a.KeepMine(ctx, lost.ID)
	mustCode(t, err, schema.ECodeConflict, "status")
	if _, err := a.SyncOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(mustOutbox(t, a)); n != 0 {
		t.Fatalf("%d changes left after the sync", n)
	}
}
