package server

import (
	"encoding/json"
	"testing"

	"doorstep/schema"
	"doorstep/schema/synth"
)

// A visit's status and its signature go together (schema.Visit.Validate,
// the tablet's rule too): signed_at with a status other than "signed", or
// "signed" without signed_at, is refused naming fields.status, by a REST
// write and by a push alike, and changes nothing.
func TestVisitStatusMatchesItsSignature(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tr := e.login("asha", "dev-asha")
	h := bearer(tr.AccessToken)
	signedAt := string(schema.TimestampOf(synth.DefaultNow))
	done := func(kv ...any) map[string]any {
		f := rawFields(append([]any{"type", "home_announced", "outcome", "completed", "started_at", signedAt}, kv...)...)
		return map[string]any{"case_id": e.ashaCase, "fields": f}
	}
	for _, c := range []struct {
		name string
		body map[string]any
	}{
		{"signed_at, status draft", done("status", "draft", "signed_at", signedAt)},
		{"signed_at, status cancelled", done("status", "cancelled", "signed_at", signedAt)},
		{"status signed, no signed_at", done("status", "signed")},
	} {
		before := e.counts()
		r := e.do("POST", "/v1/visits", c.body, h)
		if er := r.errorResponse().Error; r.status != 400 || er.Code != schema.ECodeInvalid || er.Field != "fields.status" {
			t.Errorf("REST %s: %d %s, want 400 invalid on fields.status", c.name, r.status, r.body)
		}
		if after := e.counts(); after.records != before.records || after.mutations != before.mutations {
			t.Errorf("REST %s: counts moved from %+v to %+v", c.name, before, after)
		}
		m := schema.Mutation{ID: schema.NewID(), Entity: "visit", RecordID: schema.NewID(), CaseID: e.ashaCase,
			Fields: c.body["fields"].(map[string]json.RawMessage), Clock: schema.HLC{Wall: 1000, Node: "dev-asha"}, DeviceTime: synth.DefaultNow}
		var pr schema.PushResponse
		e.do("POST", "/v1/sync/push", schema.PushRequest{Mutations: []schema.Mutation{m}}, h).decode(t, &pr)
		if res := pr.Results[0]; res.Status != schema.StatusRejected || res.Error == nil || res.Error.Field != "fields.status" {
			t.Errorf("push %s: %+v, want rejected on fields.status", c.name, res)
		}
		if _, err := e.srv.DB().Get(t.Context(), e.admin, "visit", m.RecordID); schema.ErrorCode(err) != schema.ECodeNotFound {
			t.Errorf("push %s: the visit was kept (%v)", c.name, err)
		}
	}

	// A draft given signed_at by a PATCH that leaves its status is refused;
	// with status "signed" it signs.
	r := e.do("POST", "/v1/visits", map[string]any{"case_id": e.ashaCase, "fields": rawFields("status", "draft",
		"type", "home_announced", "outcome", "completed", "started_at", signedAt)}, h)
	var rec schema.Record
	r.decode(t, &rec)
	if r.status != 201 {
		t.Fatalf("a draft visit: %d %s", r.status, r.body)
	}
	r = e.do("PATCH", "/v1/visits/"+rec.ID, map[string]any{"fields": rawFields("signed_at", signedAt)}, h)
	if er := r.errorResponse().Error; r.status != 400 || er.Field != "fields.status" {
		t.Errorf("PATCH signed_at on a draft: %d %s, want 400 on fields.status", r.status, r.body)
	}
	r = e.do("PATCH", "/v1/visits/"+rec.ID, map[string]any{"fields": rawFields("signed_at", signedAt, "status", "signed")}, h)
	if r.status != 200 {
		t.Errorf("PATCH signed_at with status signed: %d %s, want 200", r.status, r.body)
	}
}
