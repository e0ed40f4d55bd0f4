package server

import (
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"testing"

	"doorstep/schema"
	"doorstep/schema/synth"
)

// ashaSigning is a server with asha signed in on her tablet: the env, her
// tokens, their header and a signing time.
func ashaSigning(t *testing.T) (*env, schema.TokenResponse, map[string]string, string) {
	e := newEnv(t)
	tr := e.login("asha", "dev-asha")
	return e, tr, bearer(tr.AccessToken), string(schema.TimestampOf(synth.DefaultNow))
}

// A visit's status and its signature go together (schema.CheckVisitStatus,
// the tablet's rule too): signed_at with a status other than "signed", or
// "signed" without signed_at, is refused naming fields.status, by a REST
// write and by a push alike, and changes nothing.
func TestVisitStatusMatchesItsSignature(t *testing.T) {
	t.Parallel()
	e, _, h, signedAt := ashaSigning(t)
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
	// A signing write carries the whole visit (schema.CheckSigningFields).
	whole := func(kv ...any) map[string]json.RawMessage {
		f := schema.FieldsOf(schema.Visit{})
		maps.Copy(f, rec.Fields)
		maps.Copy(f, rawFields(kv...))
		return f
	}
	r = e.do("PATCH", "/v1/visits/"+rec.ID, map[string]any{"fields": whole("signed_at", signedAt)}, h)
	if er := r.errorResponse().Error; r.status != 400 || er.Field != "fields.status" {
		t.Errorf("PATCH signed_at on a draft: %d %s, want 400 on fields.status", r.status, r.body)
	}
	r = e.do("PATCH", "/v1/visits/"+rec.ID, map[string]any{"fields": whole("signed_at", signedAt, "status", "signed")}, h)
	if r.status != 200 {
		t.Errorf("PATCH signed_at with status signed: %d %s, want 200", r.status, r.body)
	}
}

// A write that signs a visit carries the visit's whole field set
// (schema.CheckSigningFields, protocol §6 step 7): a push mutation or a
// REST PATCH that sets signed_at on a stored draft with only some fields
// would sign a merge with values the officer never saw. It is refused,
// required on "fields" naming every missing field, and changes nothing;
// the same write carrying every field (blank ones too) signs.
func TestSigningCarriesTheWholeVisit(t *testing.T) {
	t.Parallel()
	e, tr, h, signedAt := ashaSigning(t)
	draft := rawFields("status", "draft", "type", "home_announced", "outcome", "completed",
		"started_at", signedAt, "observation_notes", "Kitchen window boarded up.")
	sign := rawFields("status", "signed", "signed_at", signedAt, "signed_by", tr.User.ID)
	partial := maps.Clone(sign)
	partial["type"], partial["outcome"], partial["started_at"] = draft["type"], draft["outcome"], draft["started_at"]
	missing := schema.MissingSigningFields(partial)
	if !slices.Contains(missing, "observation_notes") || slices.Contains(missing, "outcome") {
		t.Fatalf("missing = %v, want observation_notes and not outcome", missing)
	}
	refused := func(what string, er *schema.Error) {
		t.Helper()
		if er == nil || er.Code != schema.ECodeRequired || er.Field != "fields" {
			t.Fatalf("%s: %+v, want required on fields", what, er)
		}
		for _, f := range missing {
			if !strings.Contains(er.Message, f) {
				t.Errorf("%s: %q does not name the missing field %s", what, er.Message, f)
			}
		}
	}
	newDraft := func() schema.Record {
		var rec schema.Record
		r := e.do("POST", "/v1/visits", map[string]any{"case_id": e.ashaCase, "fields": draft}, h)
		if r.decode(t, &rec); r.status != 201 {
			t.Fatalf("a draft visit: %d %s", r.status, r.body)
		}
		return rec
	}
	unchanged := func(what string, before schema.Record) {
		t.Helper()
		after, err := e.srv.DB().Get(t.Context(), e.admin, "visit", before.ID)
		if err != nil || after.Version != before.Version || after.Signed() || !maps.EqualFunc(after.Fields, before.Fields, schema.SameJSON) {
			t.Errorf("%s: the visit changed from %v to %v (%v)", what, before.Fields, after.Fields, err)
		}
	}

	// Push.
	rec := newDraft()
	m := schema.Mutation{ID: schema.NewID(), Entity: "visit", RecordID: rec.ID, CaseID: e.ashaCase,
		Fields: partial, Clock: schema.HLC{Wall: synth.DefaultNow.UnixMilli(), Node: "dev-asha"}, DeviceTime: synth.DefaultNow}
	var pr schema.PushResponse
	e.do("POST", "/v1/sync/push", schema.PushRequest{Mutations: []schema.Mutation{m}}, h).decode(t, &pr)
	if len(pr.Results) != 1 || pr.Results[0].Status != schema.StatusRejected {
		t.Fatalf("push of a partial signing mutation: %+v, want rejected", pr.Results)
	}
	refused("push", pr.Results[0].Error)
	unchanged("push", rec)
	whole := schema.FieldsOf(schema.Visit{})
	maps.Copy(whole, draft)
	maps.Copy(whole, sign)
	m.ID, m.Fields = schema.NewID(), whole
	e.do("POST", "/v1/sync/push", schema.PushRequest{Mutations: []schema.Mutation{m}}, h).decode(t, &pr)
	if len(pr.Results) != 1 || pr.Results[0].Status != schema.StatusApplied {
		t.Fatalf("push of the whole visit signed: %+v, want applied", pr.Results)
	}

	// REST.
	rec = newDraft()
	r := e.do("PATCH", "/v1/visits/"+rec.ID, map[string]any{"fields": partial}, h)
	if r.status != 400 {
		t.Fatalf("PATCH of a partial signing write: %d %s, want 400", r.status, r.body)
	}
	er := r.errorResponse().Error
	refused("PATCH", &er)
	unchanged("PATCH", rec)
	if r = e.do("PATCH", "/v1/visits/"+rec.ID, map[string]any{"fields": whole}, h); r.status != 200 {
		t.Errorf("PATCH of the whole visit signed: %d %s, want 200", r.status, r.body)
	}
}

// An amendment amends a signed visit of its own case that the writer can
// see (schema.CheckAmends, the tablet's rule too): a missing visit, or one
// out of the writer's scope, is 404 on fields.visit_id alike; an unsigned
// one, or one of another case, 400. By REST and by push.
func TestAmendmentNeedsASignedVisitOfItsCase(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	at := string(schema.TimestampOf(synth.DefaultNow))
	asha := bearer(e.login("asha", "dev-asha").AccessToken)
	ben := bearer(e.login("ben", "dev-ben").AccessToken)
	sue := bearer(e.login("sue", "dev-sue").AccessToken)
	visit := func(h map[string]string, caseID string, signed bool) string {
		t.Helper()
		f := rawFields("status", "draft", "type", "home_announced", "outcome", "completed", "started_at", at)
		if signed {
			f = rawFields("status", "signed", "type", "home_announced", "outcome", "completed", "started_at", at, "signed_at", at)
		}
		r := e.do("POST", "/v1/visits", map[string]any{"case_id": caseID, "fields": f}, h)
		var rec schema.Record
		r.decode(t, &rec)
		if r.status != 201 {
			t.Fatalf("a visit: %d %s", r.status, r.body)
		}
		return rec.ID
	}
	amendment := func(visitID string) map[string]json.RawMessage {
		return rawFields("visit_id", visitID, "reason", "a typing slip", "changes", map[string]string{"observation_notes": "none"}, "amended_at", at)
	}
	draft := visit(asha, e.ashaCase, false)
	signedA := visit(asha, e.ashaCase, true)
	signedB := visit(ben, e.benCase, true)
	for _, c := range []struct {
		name, visitID, code string
		status              int
		h                   map[string]string
	}{
		{"no such visit", schema.NewID(), schema.ECodeNotFound, 404, asha},
		{"another officer's visit", signedB, schema.ECodeNotFound, 404, asha},
		{"an unsigned visit", draft, schema.ECodeInvalid, 400, asha},
		{"a visit of another case", signedB, schema.ECodeInvalid, 400, sue},
	} {
		before := e.counts()
		r := e.do("POST", "/v1/amendments", map[string]any{"case_id": e.ashaCase, "fields": amendment(c.visitID)}, c.h)
		er := r.errorResponse().Error
		if r.status != c.status || er.Code != c.code || er.Field != "fields.visit_id" {
			t.Errorf("REST, %s: %d %s, want %d %s on fields.visit_id", c.name, r.status, r.body, c.status, c.code)
		}
		if c.code == schema.ECodeNotFound && c.visitID == signedB && strings.Contains(er.Message, "another case") {
			t.Errorf("REST, %s: the answer tells the visit exists: %q", c.name, er.Message)
		}
		if after := e.counts(); after.records != before.records || after.mutations != before.mutations {
			t.Errorf("REST, %s: counts moved from %+v to %+v", c.name, before, after)
		}
		m := schema.Mutation{ID: schema.NewID(), Entity: "amendment", RecordID: schema.NewID(), CaseID: e.ashaCase,
			Fields: amendment(c.visitID), Clock: schema.HLC{Wall: 1000, Node: "dev"}, DeviceTime: synth.DefaultNow}
		var pr schema.PushResponse
		e.do("POST", "/v1/sync/push", schema.PushRequest{Mutations: []schema.Mutation{m}}, c.h).decode(t, &pr)
		if res := pr.Results[0]; res.Status != schema.StatusRejected || res.Error == nil || res.Error.Code != c.code || res.Error.Field != "fields.visit_id" {
			t.Errorf("push, %s: %+v, want rejected %s on fields.visit_id", c.name, res, c.code)
		}
	}
	if r := e.do("POST", "/v1/amendments", map[string]any{"case_id": e.ashaCase, "fields": amendment(signedA)}, asha); r.status != 201 {
		t.Errorf("an amendment of a signed visit of its case: %d %s, want 201", r.status, r.body)
	}
}
