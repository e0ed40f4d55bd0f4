package main

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"doorstep/schema"
	"doorstep/syncer"
)

// TestOfficerResolvesConflictsOnTheServer: two tablets of one officer make
// a lww_lost conflict (a household member renamed on both) and a
// record_signed conflict (a visit edited on one tablet after the other
// signed it), against the real server. The officer resolves them on the
// tablets as the conflicts page does: "Keep my value" (Agent.KeepMine) on
// the first, "Keep the server's value" (Agent.Put of status, resolution,
// resolved_by, resolved_at) on the second. After the syncs the server holds
// both conflicts resolved, by the officer, with the kept value, and the
// other tablet has converged on the same records.
func TestOfficerResolvesConflictsOnTheServer(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := newCluster(t, 2)
	officer := c.officers[0]
	caseID := c.cases[officer.ID][0]
	t1 := c.tablet("t1", officer.Username, nil, nil)
	t2 := c.tablet("t2", officer.Username, nil, nil)
	mustSync(t, t1)

	member, err := t1.Put(ctx, "household_member", "", caseID, map[string]json.RawMessage{
		"relation": str("partner"), "residence": str("lives_here"), "name": str("Kim Partner")})
	if err != nil {
		t.Fatal(err)
	}
	draft, err := t1.Put(ctx, "visit", "", caseID, map[string]json.RawMessage{
		"status": str("draft"), "planned_type": str("home_unannounced"), "officer_id": str(officer.ID)})
	if err != nil {
		t.Fatal(err)
	}
	mustSync(t, t1)
	mustSync(t, t2)

	// lww_lost: t1 renames first, t2 later; t2's change reaches the server
	// first, so t1's loses.
	if _, err := t1.Put(ctx, "household_member", member.ID, caseID, map[string]json.RawMessage{"name": str("Kim Ashby")}); err != nil {
		t.Fatal(err)
	}
	c.clock.Advance(time.Second)
	if _, err := t2.Put(ctx, "household_member", member.ID, caseID, map[string]json.RawMessage{"name": str("Kim Barnes")}); err != nil {
		t.Fatal(err)
	}
	mustSync(t, t2)
	if rep := mustSync(t, t1); rep.Conflicts != 1 {
		t.Fatalf("t1's rename: want 1 conflict, got %+v", rep)
	}

	// record_signed: t1 signs; t2, not yet synced, edits its unsigned copy.
	if _, err := t1.Sign(ctx, draft.ID, map[string]json.RawMessage{
		"type": str("home_unannounced"), "outcome": str("completed"), "location": str("home"),
		"face_to_face": json.RawMessage("true"), "started_at": str(c.clock.Now().UTC().Format(time.RFC3339)),
		"person_seen": str("yes"), "partner_present": str("no"), "children_present": str("no_children"),
		"observation_notes": str("as signed"),
	}); err != nil {
		t.Fatalf("sign: %v", err)
	}
	mustSync(t, t1)
	if _, err := t2.Put(ctx, "visit", draft.ID, caseID, map[string]json.RawMessage{"observation_notes": str("late edit on t2")}); err != nil {
		t.Fatal(err)
	}
	if rep := mustSync(t, t2); rep.Conflicts != 1 {
		t.Fatalf("t2's edit of the signed visit: want 1 conflict, got %+v", rep)
	}
	mustSync(t, t1)

	lost := onlyConflict(t, t1, member.ID, "lww_lost")
	signed := onlyConflict(t, t2, draft.ID, "record_signed")
	var lc schema.Conflict
	if err := lost.Decode(&lc); err != nil || lc.LosingValue != `"Kim Ashby"` || lc.WinningValue != `"Kim Barnes"` {
		t.Fatalf("the lww_lost conflict: losing %s, winning %s (%v); want t1's \"Kim Ashby\" and t2's \"Kim Barnes\"", lc.LosingValue, lc.WinningValue, err)
	}

	// The officer resolves both, each on the tablet that lost, a minute on.
	c.clock.Advance(time.Minute)
	if _, err := t1.KeepMine(ctx, lost.ID); err != nil {
		t.Fatalf("keep my value: %v", err)
	}
	resolvedAt := schema.TimestampOf(c.clock.Now())
	if _, err := t2.Put(ctx, "conflict", signed.ID, "", map[string]json.RawMessage{
		"status":      str("resolved"),
		"resolution":  str("kept the server's value"),
		"resolved_by": str(officer.ID),
		"resolved_at": mustJSONValue(t, resolvedAt),
	}); err != nil {
		t.Fatalf("keep the server's value: %v", err)
	}
	for name, a := range map[string]*syncer.Agent{"t1": t1, "t2": t2} {
		rep := mustSync(t, a)
		if rep.Rejected != 0 || rep.Conflicts != 0 {
			t.Fatalf("%s: the server refused the resolution: %+v (outbox %+v)", name, rep, mustOutboxOf(t, a))
		}
	}
	mustSync(t, t1)
	mustSync(t, t2)

	server := c.serverState([]string{caseID})
	for _, want := range []struct {
		id, resolution string
	}{{lost.ID, "kept my value: written again"}, {signed.ID, "kept the server's value"}} {
		got, ok := server[want.id]
		if !ok {
			t.Fatalf("conflict %s is not on the server", want.id)
		}
		var cf schema.Conflict
		if err := got.Decode(&cf); err != nil {
			t.Fatal(err)
		}
		if cf.Status != "resolved" || cf.Resolution != want.resolution || cf.ResolvedBy != officer.ID || cf.ResolvedAt == "" {
			t.Errorf("conflict %s (%s) on the server: status %q resolution %q by %q at %v; want resolved, %q, by %s",
				want.id, cf.Reason, cf.Status, cf.Resolution, cf.ResolvedBy, cf.ResolvedAt, want.resolution, officer.ID)
		}
	}
	if got := server[member.ID].Fields["name"]; !jsonEqual(got, str("Kim Ashby")) {
		t.Errorf("the member's name on the server = %s, want the kept value \"Kim Ashby\"", got)
	}
	visit := server[draft.ID]
	if !visit.Signed() || !jsonEqual(visit.Fields["observation_notes"], str("as signed")) {
		t.Errorf("the signed visit on the server: signed %v, observation_notes %s; want it as signed", visit.Signed(), visit.Fields["observation_notes"])
	}
	// Both tablets hold what the server holds, field by field.
	for name, a := range map[string]*syncer.Agent{"t1": t1, "t2": t2} {
		if st, _ := a.Status(ctx); st.Pending != 0 || st.Rejected != 0 || st.Conflicts != 0 {
			t.Errorf("%s status after the resolutions: %+v", name, st)
		}
		assertSameRecords(t, name, c.serverState(c.cases[officer.ID]), tabletState(t, a))
	}
}

// onlyConflict returns the one open conflict on a for recordID with reason.
func onlyConflict(t *testing.T, a *syncer.Agent, recordID, reason string) syncer.LocalRecord {
	t.Helper()
	recs, err := a.Conflicts(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var out []syncer.LocalRecord
	for _, r := range recs {
		var cf schema.Conflict
		if err := r.Decode(&cf); err != nil {
			t.Fatal(err)
		}
		if cf.RecordID == recordID && cf.Reason == reason && cf.Status != "resolved" {
			out = append(out, r)
		}
	}
	if len(out) != 1 {
		t.Fatalf("want one open %s conflict for %s, got %d of %d conflicts", reason, recordID, len(out), len(recs))
	}
	return out[0]
}

func mustJSONValue(t *testing.T, v any) json.RawMessage {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustOutboxOf(t *testing.T, a *syncer.Agent) []syncer.OutboxEntry {
	t.Helper()
	out, err := a.Outbox(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return out
}
