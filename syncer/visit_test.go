package syncer

import (
	"context"
	"encoding/json"
	"testing"

	"doorstep/schema"
)

func draftVisit(t *testing.T, a *Agent, caseID string, extra map[string]json.RawMessage) schema.Record {
	t.Helper()
	f := map[string]json.RawMessage{"status": raw("draft"), "type": raw("home_unannounced"),
		"outcome": raw("completed"), "started_at": raw("2026-11-20T13:58:01Z"), "location": raw("home")}
	for k, v := range extra {
		f[k] = v
	}
	v, err := a.Put(context.Background(), "visit", "", caseID, f)
	if err != nil {
		t.Fatalf("draft visit: %v", err)
	}
	return v
}

func TestSignedVisitIsRefusedLocally(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p := newPeer(t)
	a := newAgent(t, p, nil)
	caseID := schema.NewID()
	seed(t, a, p, caseRecord(caseID))
	v := draftVisit(t, a, caseID, nil)

	signed, err := a.Sign(ctx, v.ID, map[string]json.RawMessage{"person_seen": raw("yes")})
	if err != nil {
		t.Fatalf("Sign: %v", err)
	}
	if !signed.Signed() {
		t.Fatalf("signed visit does not report Signed: %s", signed.Fields["signed_at"])
	}
	var sv schema.Visit
	signed.Decode(&sv)
	if sv.Status != "signed" || sv.SignedBy != p.user.ID || sv.PersonSeen != "yes" {
		t.Fatalf("signed visit: status %q signed_by %q person_seen %q", sv.Status, sv.SignedBy, sv.PersonSeen)
	}

	// The sign mutation carries the full field set (§6.7).
	out, _ := a.Outbox(ctx)
	var last map[string]json.RawMessage
	json.Unmarshal(out[len(out)-1].Fields, &last)
	spec, _ := schema.Entity("visit")
	for _, name := range spec.Order {
		if _, ok := last[name]; !ok {
			t.Errorf("sign mutation lacks field %s", name)
		}
	}
	// The server holds it to the same rule.
	if err := schema.CheckSigningFields(last); err != nil {
		t.Errorf("sign mutation fails the server's rule: %v", err)
	}

	_, err = a.Put(ctx, "visit", v.ID, "", map[string]json.RawMessage{"outcome": raw("no_answer")})
	mustCode(t, err, schema.ECodeSigned, "")
	if e := schema.AsError(err); e.Message != "signed visits cannot be changed; add an amendment" {
		t.Fatalf("message: %q", e.Message)
	}
	_, err = a.Sign(ctx, v.ID, nil)
	mustCode(t, err, schema.ECodeSigned, "")
	if n := len(mustOutbox(t, a)); n != len(out) {
		t.Fatalf("refused changes added outbox rows: %d -> %d", len(out), n)
	}

	// After the push and a pull of the signed record, it stays refused.
	if _, err := a.SyncOnce(ctx); err != nil {
		t.Fatal(err)
	}
	_, err = a.Put(ctx, "visit", v.ID, "", map[string]json.RawMessage{"outcome": raw("no_answer")})
	mustCode(t, err, schema.ECodeSigned, "")
}

func mustOutbox(t *testing.T, a *Agent) []OutboxEntry {
	t.Helper()
	out, err := a.Outbox(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestSignChecksDomesticAbuseSections(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p := newPeer(t)
	a := newAgent(t, p, nil)
	daCase, plainCase := schema.NewID(), schema.NewID()
	seed(t, a, p, caseRecord(daCase), flagRecord(daCase, "da_perpetrator"), caseRecord(plainCase), flagRecord(plainCase, "risk_to_staff"))

	v := draftVisit(t, a, daCase, nil)
	_, err := a.Sign(ctx, v.ID, nil)
	mustCode(t, err, schema.ECodeRequired, "partner_present")
	got, _ := a.Get(ctx, "visit", v.ID)
	if got.Signed {
		t.Fatal("a refused signature left the visit signed")
	}
	_, err = a.Sign(ctx, v.ID, map[string]json.RawMessage{"partner_present": raw("not_known")})
	mustCode(t, err, schema.ECodeRequired, "children_present")
	if _, err := a.Sign(ctx, v.ID, map[string]json.RawMessage{"partner_present": raw("not_known"), "children_present": raw("no_children")}); err != nil {
		t.Fatalf("complete DA visit: %v", err)
	}

	// Without a domestic-abuse flag, the sections may stay blank.
	pv := draftVisit(t, a, plainCase, nil)
	if _, err := a.Sign(ctx, pv.ID, nil); err != nil {
		t.Fatalf("plain visit: %v", err)
	}

	// Signing through Put (setting signed_at) is checked the same way.
	dv := draftVisit(t, a, daCase, nil)
	_, err = a.Put(ctx, "visit", dv.ID, "", map[string]json.RawMessage{"signed_at": raw("2026-11-20T14:00:00Z"), "status": raw("signed")})
	mustCode(t, err, schema.ECodeRequired, "partner_present")
}

// TestSigningThroughPutIsASignature: an edit (or a create) that sets a
// visit's signed_at signs it as Sign does: status "signed" and signed_by
// the officer, whatever the edit said of them, and what is queued says so;
// a status "signed" without signed_at is refused. (Before, such an edit left
// a signed visit marked draft with no signer.)
func TestSigningThroughPutIsASignature(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p := newPeer(t)
	a := newAgent(t, p, nil)
	caseID := schema.NewID()
	seed(t, a, p, caseRecord(caseID))

	v := draftVisit(t, a, caseID, nil)
	_, err := a.Put(ctx, "visit", v.ID, "", map[string]json.RawMessage{"status": raw("signed")})
	mustCode(t, err, schema.ECodeInvalid, "status")

	got, err := a.Put(ctx, "visit", v.ID, "", map[string]json.RawMessage{"signed_at": raw("2026-11-20T14:00:00Z"), "signed_by": raw(schema.NewID())})
	if err != nil {
		t.Fatalf("sign through Put: %v", err)
	}
	var sv schema.Visit
	if err := got.Decode(&sv); err != nil {
		t.Fatal(err)
	}
	if !got.Signed() || sv.Status != "signed" || sv.SignedBy != p.user.ID {
		t.Fatalf("signed through Put: signed %v, status %q, signed_by %q; want signed, \"signed\", %q", got.Signed(), sv.Status, sv.SignedBy, p.user.ID)
	}
}

func TestAmendSignedVisit(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p := newPeer(t)
	a := newAgent(t, p, nil)
	caseID := schema.NewID()
	seed(t, a, p, caseRecord(caseID))
	v := draftVisit(t, a, caseID, nil)

	_, err := a.Amend(ctx, v.ID, "typo", map[string]json.RawMessage{"observation_notes": raw("fixed")})
	mustCode(t, err, schema.ECodeInvalid, "visit_id")

	if _, err := a.Sign(ctx, v.ID, nil); err != nil {
		t.Fatal(err)
	}
	_, err = a.Amend(ctx, v.ID, "", map[string]json.RawMessage{"observation_notes": raw("fixed")})
	mustCode(t, err, schema.ECodeRequired, "reason")
	_, err = a.Amend(ctx, v.ID, "wrong", map[string]json.RawMessage{"signed_at": raw("2026-01-01T00:00:00Z")})
	mustCode(t, err, schema.ECodeInvalid, "changes.signed_at")
	_, err = a.Amend(ctx, v.ID, "wrong", map[string]json.RawMessage{"outcome": raw("exploded")})
	mustCode(t, err, schema.ECodeInvalid, "changes.outcome")

	am, err := a.Amend(ctx, v.ID, "children were seen, not 'not known'", map[string]json.RawMessage{"children_present": raw("yes")})
	if err != nil {
		t.Fatalf("Amend: %v", err)
	}
	var got schema.Amendment
	am.Decode(&got)
	if got.VisitID != v.ID || got.AmendedBy != p.user.ID || got.AmendedAt == "" || string(got.Changes["children_present"]) != `"yes"` || am.CaseID != caseID {
		t.Fatalf("amendment: %+v", got)
	}
	if !am.Signed() {
		t.Fatal("an amendment is signed from birth")
	}
	// The amendment itself is immutable.
	_, err = a.Put(ctx, "amendment", am.ID, "", map[string]json.RawMessage{"reason": raw("changed my mind")})
	mustCode(t, err, schema.ECodeSigned, "")
	// And the visit is unchanged.
	after, _ := a.Get(ctx, "visit", v.ID)
	var av schema.Visit
	after.Decode(&av)
	if av.ChildrenPresent != "" {
		t.Fatalf("amending changed the signed visit: children_present=%q", av.ChildrenPresent)
	}
}
