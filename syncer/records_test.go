package syncer

import (
	"context"
	"encoding/json"
	"testing"

	"doorstep/schema"
	"doorstep/syncer/devicedb"
)

func TestPutWritesRecordAndOutboxTogether(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p := newPeer(t)
	a := newAgent(t, p, nil)
	caseID := schema.NewID()
	seed(t, a, p, caseRecord(caseID))

	rec, err := a.Put(ctx, "household_member", "", caseID, map[string]json.RawMessage{
		"relation": raw("partner"), "residence": raw("lives_here"), "name": raw("Alex"),
	})
	if err != nil {
		t.Fatalf("Put: %v", err)
	}
	if !schema.ValidID(rec.ID) || rec.CaseID != caseID {
		t.Fatalf("Put returned id %q case %q", rec.ID, rec.CaseID)
	}
	got, err := a.Get(ctx, "household_member", rec.ID)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	if !got.Pending || got.Version != 0 || got.DeviceTime.IsZero() {
		t.Fatalf("new local record: want pending, version 0, device time set; got pending=%v version=%d device_time=%v", got.Pending, got.Version, got.DeviceTime)
	}
	out, _ := a.Outbox(ctx)
	if len(out) != 1 || out[0].RecordID != rec.ID || out[0].Status != devicedb.OutboxPending || out[0].Clock == "" {
		t.Fatalf("outbox after one write: %+v", out)
	}

	// An update sends only the fields it changes; an unchanged write sends nothing.
	if _, err := a.Put(ctx, "household_member", rec.ID, "", map[string]json.RawMessage{"name": raw("Alex Smith")}); err != nil {
		t.Fatalf("update: %v", err)
	}
	if _, err := a.Put(ctx, "household_member", rec.ID, "", map[string]json.RawMessage{"name": raw("Alex Smith")}); err != nil {
		t.Fatalf("same update: %v", err)
	}
	out, _ = a.Outbox(ctx)
	if len(out) != 2 || string(out[1].Fields) != `{"name":"Alex Smith"}` {
		t.Fatalf("outbox after update: want 2 rows, the second with only name; got %d: %+v", len(out), out)
	}
	if out[0].Clock >= out[1].Clock {
		t.Fatalf("stamps must increase: %s then %s", out[0].Clock, out[1].Clock)
	}

	// Once pushed, the receipt lands on the record and the outbox empties.
	if _, err := a.SyncOnce(ctx); err != nil {
		t.Fatalf("sync: %v", err)
	}
	got, _ = a.Get(ctx, "household_member", rec.ID)
	if got.Pending || got.Version != 2 || got.ReceivedAt.IsZero() {
		t.Fatalf("after push: want receipt version 2, not pending; got %+v", got)
	}
	if out, _ := a.Outbox(ctx); len(out) != 0 {
		t.Fatalf("outbox after push: %+v", out)
	}
}

func TestPutManyIsAllOrNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p := newPeer(t)
	a := newAgent(t, p, nil)
	caseID := schema.NewID()
	seed(t, a, p, caseRecord(caseID))
	ok := Write{Entity: "household_member", CaseID: caseID, Fields: map[string]json.RawMessage{
		"relation": raw("own_child"), "residence": raw("lives_here"), "name": raw("Kim")}}
	bad := Write{Entity: "household_member", CaseID: caseID, Fields: map[string]json.RawMessage{
		"relation": raw("cousin"), "residence": raw("lives_here"), "name": raw("Lee")}}
	err := a.PutMany(ctx, []Write{ok, ok, bad})
	mustCode(t, err, schema.ECodeInvalid, "writes[2].relation")
	if recs, _ := a.List(ctx, "household_member", caseID); len(recs) != 0 {
		t.Fatalf("a failed PutMany left %d records", len(recs))
	}
	if out, _ := a.Outbox(ctx); len(out) != 0 {
		t.Fatalf("a failed PutMany left %d outbox rows", len(out))
	}
	if err := a.PutMany(ctx, []Write{ok, ok}); err != nil {
		t.Fatalf("PutMany: %v", err)
	}
	if recs, _ := a.List(ctx, "household_member", caseID); len(recs) != 2 {
		t.Fatalf("want 2 records, got %d", len(recs))
	}
}

func TestPutRefusesWhatTheServerWouldRefuse(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p := newPeer(t)
	a := newAgent(t, p, nil)
	caseID := schema.NewID()
	seed(t, a, p, caseRecord(caseID))
	cases := []struct {
		name        string
		entity, id  string
		caseID      string
		fields      map[string]json.RawMessage
		code, field string
	}{
		{"unknown entity", "nope", "", caseID, map[string]json.RawMessage{"a": raw(1)}, schema.ECodeUnknownEntity, "entity"},
		{"unknown field", "household_member", "", caseID, map[string]json.RawMessage{"shoe_size": raw(9)}, schema.ECodeUnknownField, "shoe_size"},
		{"wrong type", "household_member", "", caseID, map[string]json.RawMessage{"age": raw("ten")}, schema.ECodeWrongType, "age"},
		{"missing required", "household_member", "", caseID, map[string]json.RawMessage{"name": raw("X")}, schema.ECodeRequired, "relation"},
		{"officer creates a case", "case", "", "", caseRecord("").Fields, schema.ECodeForbidden, "entity"},
		{"officer changes rosh", "case", caseID, "", map[string]json.RawMessage{"rosh": raw("low")}, schema.ECodeForbidden, "rosh"},
		{"case not on tablet", "visit", "", schema.NewID(), map[string]json.RawMessage{"status": raw("draft")}, schema.ECodeOutOfScope, "case_id"},
		{"conflicts are server-only", "conflict", "", caseID, map[string]json.RawMessage{"status": raw("open")}, schema.ECodeForbidden, "entity"},
		{"bad id", "visit", "123", caseID, map[string]json.RawMessage{"status": raw("draft")}, schema.ECodeInvalid, "id"},
		{"cross-field rule", "household_member", "", caseID, map[string]json.RawMessage{"relation": raw("partner"), "residence": raw("visits")}, schema.ECodeRequired, "name"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := a.Put(ctx, tc.entity, tc.id, tc.caseID, tc.fields)
			mustCode(t, err, tc.code, tc.field)
			if out, _ := a.Outbox(ctx); len(out) != 0 {
				t.Fatalf("a refused write left %d outbox rows", len(out))
			}
		})
	}
	// The officer may change the address of a case.
	if _, err := a.Put(ctx, "case", caseID, "", map[string]json.RawMessage{"address": raw("2 Low Rd")}); err != nil {
		t.Fatalf("officer changes address: %v", err)
	}
	// A record cannot move to another case.
	v, err := a.Put(ctx, "visit", "", caseID, map[string]json.RawMessage{"status": raw("draft")})
	if err != nil {
		t.Fatal(err)
	}
	_, err = a.Put(ctx, "visit", v.ID, schema.NewID(), map[string]json.RawMessage{"status": raw("planned")})
	mustCode(t, err, schema.ECodeInvalid, "case_id")
}

func TestPutBeforeSignInIsRefused(t *testing.T) {
	t.Parallel()
	a, err := Open(context.Background(), Config{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	_, err = a.Put(context.Background(), "visit", "", schema.NewID(), map[string]json.RawMessage{"status": raw("draft")})
	mustCode(t, err, schema.ECodeUnauthorized, "")
	if _, err := a.SyncOnce(context.Background()); err == nil {
		t.Fatal("SyncOnce with no server: want an error")
	}
}
