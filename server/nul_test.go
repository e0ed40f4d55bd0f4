package server

import (
	"testing"

	"doorstep/schema"
)

// TestNULIsRefused: a NUL character anywhere a request carries text is a
// 400 naming the member (a rejected mutation, in a push), and nothing
// changes, on SQLite as on PostgreSQL, whose text holds no NUL: there each
// was a 500, and a push naming a NUL id failed its whole batch (decision
// 0048).
func TestNULIsRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	adm := bearer(e.login("root", "dev-root").AccessToken)
	sup := bearer(e.login("sue", "dev-sue").AccessToken)
	const nul = "a\x00b"
	planned := map[string]string{"status": "planned", "planned_type": "home_announced"}
	for _, c := range []struct {
		method, path string
		body         any
		h            map[string]string
		field        string
	}{
		{"POST", "/v1/auth/login", schema.LoginRequest{Username: nul, Password: pw, DeviceID: "d"}, nil, "username"},
		{"POST", "/v1/auth/login", schema.LoginRequest{Username: "asha", Password: pw, DeviceID: nul}, nil, "device_id"},
		{"POST", "/v1/auth/refresh", map[string]string{"refresh_token": nul}, nil, "refresh_token"},
		{"POST", "/v1/admin/teams", map[string]string{"id": schema.NewID(), "name": nul}, adm, "name"},
		{"POST", "/v1/admin/users", map[string]any{"id": schema.NewID(), "username": nul, "name": "x", "role": "officer", "team_id": e.teamA.ID, "password": "long enough password"}, adm, "username"},
		{"POST", "/v1/admin/users", map[string]any{"id": schema.NewID(), "username": "zed", "name": nul, "role": "officer", "team_id": e.teamA.ID, "password": "long enough password"}, adm, "name"},
		{"POST", "/v1/visits", map[string]any{"id": nul, "case_id": e.ashaCase, "fields": planned}, adm, "id"},
		{"POST", "/v1/visits", map[string]any{"id": schema.NewID(), "case_id": nul, "fields": planned}, adm, "case_id"},
		{"POST", "/v1/periods", map[string]string{"from": "2026-11-01", "to": "2026-11-30", "reason": nul}, sup, "reason"},
		{"POST", "/v1/review/approve", map[string]any{"subject_entity": "visit", "subject_ids": []string{nul}, "reason": "fine"}, sup, "subject_ids[0]"},
		{"POST", "/v1/sync/pull", map[string]any{"cursor": nul}, adm, "cursor"},
	} {
		before := e.counts()
		r := e.do(c.method, c.path, c.body, c.h)
		if er := r.errorResponse(); r.status != 400 || er.Error.Code != schema.ECodeInvalid || er.Error.Field != c.field {
			t.Errorf("%s %s with a NUL in %s: %d %s, want 400 invalid naming %s", c.method, c.path, c.field, r.status, r.body, c.field)
		}
		if after := e.counts(); after != before {
			t.Errorf("%s %s with a NUL in %s: %+v became %+v, want nothing changed", c.method, c.path, c.field, before, after)
		}
	}

	// In a push, the mutation holding a NUL is rejected alone; the rest of
	// the batch applies.
	good := visitMutation(e.ashaCase, "dev-root", synth0())
	ids := visitMutation(e.ashaCase, "dev-root", synth0())
	ids.ID, ids.RecordID = nul, nul
	node := visitMutation(e.ashaCase, "dev-root\x00", synth0())
	entity := visitMutation(e.ashaCase, "dev-root", synth0())
	entity.Entity = "vis\x00it"
	r := e.do("POST", "/v1/sync/push", schema.PushRequest{Mutations: []schema.Mutation{ids, node, entity, good}}, adm)
	var pr schema.PushResponse
	r.decode(t, &pr)
	if r.status != 200 || len(pr.Results) != 4 {
		t.Fatalf("a push with NULs: %d %s, want 200 and 4 results", r.status, r.body)
	}
	for i, want := range []string{"id", "clock", "entity"} {
		if res := pr.Results[i]; res.Status != schema.StatusRejected || res.Error == nil || res.Error.Field != want {
			t.Errorf("mutation %d, a NUL in its %s: %+v, want rejected naming %s", i, want, res, want)
		}
	}
	if res := pr.Results[3]; res.Status != schema.StatusApplied {
		t.Errorf("the good mutation beside them: %+v, want applied", res)
	}
}
