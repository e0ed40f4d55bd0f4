package main

import (
	"context"
	"encoding/json"
	"testing"

	"doorstep/schema"
)

// TestSetAsideChangeSentAgainReachesTheServer: against the real server, a
// new household member made on a tablet whose case was reassigned away
// meanwhile is set aside (out_of_scope); sending it again is refused on the
// tablet while the case is gone, and once the case is back it reaches the
// server under a new mutation id. A second change, discarded, never does.
func TestSetAsideChangeSentAgainReachesTheServer(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := newCluster(t, 2)
	a, b := c.officers[0], c.officers[1]
	ta := c.tablet("ta", a.Username, nil, nil)
	mustSync(t, ta)
	moved := c.cases[a.ID][0]
	lodger, err := ta.Put(ctx, "household_member", "", moved, map[string]json.RawMessage{
		"relation": str("lodger"), "residence": str("lives_here"), "name": str("Lee Lodger")})
	if err != nil {
		t.Fatal(err)
	}
	visitor, err := ta.Put(ctx, "household_member", "", moved, map[string]json.RawMessage{
		"relation": str("regular_visitor"), "residence": str("visits"), "name": str("Val Visitor")})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.srv.DB().ReassignCase(ctx, cliActor, moved, b.Username); err != nil {
		t.Fatal(err)
	}
	if rep := mustSync(t, ta); rep.Rejected != 2 {
		t.Fatalf("want both changes set aside, got %+v", rep)
	}
	out, _ := ta.Outbox(ctx)
	if len(out) != 2 || out[0].Status != "rejected" || out[0].Error == nil || out[0].Error.Code != schema.ECodeOutOfScope {
		t.Fatalf("outbox: %+v", out)
	}
	first, second := out[0], out[1]
	if first.RecordID != lodger.ID || second.RecordID != visitor.ID {
		t.Fatalf("outbox order: %+v", out)
	}
	// While the case is not the officer's, the tablet refuses to send it.
	_, err = ta.Retry(ctx, first.MutationID, nil)
	if schema.ErrorCode(err) != schema.ECodeOutOfScope {
		t.Fatalf("retry with the case gone: %v", err)
	}
	if out, _ := ta.Outbox(ctx); len(out) != 2 || out[0].MutationID != first.MutationID {
		t.Fatalf("a refused retry changed the outbox: %+v", out)
	}
	// The case comes back; the lodger is sent again, the visitor discarded.
	if err := c.srv.DB().ReassignCase(ctx, cliActor, moved, a.Username); err != nil {
		t.Fatal(err)
	}
	mustSync(t, ta)
	newID, err := ta.Retry(ctx, first.MutationID, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := ta.Discard(ctx, second.MutationID); err != nil {
		t.Fatal(err)
	}
	if rep := mustSync(t, ta); rep.Applied != 1 || rep.Rejected != 0 {
		t.Fatalf("sync after the retry: %+v", rep)
	}
	if st, _ := ta.Status(ctx); st.Pending != 0 || st.Rejected != 0 {
		t.Fatalf("status: %+v", st)
	}
	server := c.serverState([]string{moved})
	got, ok := server[lodger.ID]
	if !ok || string(got.Fields["name"]) != `"Lee Lodger"` || string(got.Fields["relation"]) != `"lodger"` {
		t.Fatalf("the lodger on the server: %+v (present %v)", got, ok)
	}
	if _, ok := server[visitor.ID]; ok {
		t.Fatal("the discarded visitor reached the server")
	}
	if _, err := ta.Get(ctx, "household_member", visitor.ID); schema.ErrorCode(err) != schema.ECodeNotFound {
		t.Fatalf("the discarded visitor is still on the tablet: %v", err)
	}
	log, _ := ta.OutboxLog(ctx)
	if len(log) != 2 || log[0].Decision != "retried" || log[0].NewMutationID != newID || log[1].Decision != "discarded" ||
		log[1].DecidedBy != a.ID {
		t.Fatalf("log: %+v", log)
	}
}
