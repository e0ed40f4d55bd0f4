package server

import (
	"strings"
	"testing"

	"doorstep/schema"
)

// bodyKinds says, for every POST and PATCH route of the API, how it reads
// its JSON body (decision 0038): "strict" refuses a member it does not
// know; "tolerant" (the bodies tablets send, docs/sync-protocol.md §8)
// passes over it; "none" reads no body. A new route must be listed.
var bodyKinds = map[string]string{
	"POST /v1/auth/login":                           "tolerant",
	"POST /v1/auth/refresh":                         "tolerant",
	"POST /v1/sync/push":                            "tolerant",
	"POST /v1/sync/pull":                            "tolerant",
	"POST /v1/auth/logout":                          "none",
	"POST /v1/admin/users/:username/reset-password": "none",
	"POST /v1/admin/devices/:id/revoke":             "none",
	"POST /v1/auth/setup":                           "strict",
	"POST /v1/admin/teams":                          "strict",
	"POST /v1/admin/users":                          "strict",
	"POST /v1/admin/cases/:id/reassign":             "strict",
	"POST /v1/review/conflicts/:id":                 "strict",
	"POST /v1/review/set-aside/:mutation_id":        "strict",
	"POST /v1/review/approve":                       "strict",
	"POST /v1/oversight":                            "strict",
	"POST /v1/periods":                              "strict",
	"POST /v1/:path":                                "strict",
	"PATCH /v1/:path/:id":                           "strict",
}

// Every body the API takes refuses a member it does not know, 400
// unknown_field naming it, and changes nothing; the bodies tablets send
// pass over it, so that a tablet of a newer (or older) protocol keeps
// syncing.
func TestUnknownBodyMembersAreRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	root := bearer(e.login("root", "dev-root").AccessToken)
	seen := map[string]bool{}
	for _, rt := range e.srv.app.GetRoutes(true) {
		if !strings.HasPrefix(rt.Path, "/v1/") || (rt.Method != "POST" && rt.Method != "PATCH" && rt.Method != "PUT") {
			continue
		}
		key := rt.Method + " " + rt.Path
		seen[key] = true
		kind, ok := bodyKinds[key]
		if !ok {
			t.Errorf("%s takes a body and is not in bodyKinds: say whether it refuses unknown members", key)
			continue
		}
		if kind != "strict" {
			continue
		}
		path := rt.Path
		for _, p := range rt.Params {
			v := e.ashaCase
			if p == "path" {
				v = "cases"
			}
			path = strings.Replace(path, ":"+p, v, 1)
		}
		before := e.counts()
		r := e.do(rt.Method, path, `{"no_such_member": 1}`, root)
		if er := r.errorResponse().Error; r.status != 400 || er.Code != schema.ECodeUnknownField || er.Field != "no_such_member" {
			t.Errorf("%s with an unknown member: %d %s, want 400 unknown_field on no_such_member", key, r.status, r.body)
		}
		if after := e.counts(); after.records != before.records || after.mutations != before.mutations {
			t.Errorf("%s with an unknown member: counts moved from %+v to %+v", key, before, after)
		}
	}
	for key := range bodyKinds {
		if !seen[key] {
			t.Errorf("%s is in bodyKinds but is no route", key)
		}
	}
	// A misspelt member is named, with what the body takes.
	r := e.do("POST", "/v1/admin/teams", `{"nmae": "North"}`, root)
	if er := r.errorResponse().Error; er.Field != "nmae" || !strings.Contains(er.Message, "it takes id, name") {
		t.Errorf("a misspelt member: %d %s, want it named with the members the body takes", r.status, r.body)
	}

	// The tablets' bodies: a member this server does not know is passed over.
	login := e.do("POST", "/v1/auth/login", map[string]any{"username": "asha", "password": pw, "device_id": "dev-asha",
		"a_newer_member": true}, nil)
	var tr schema.TokenResponse
	login.decode(t, &tr)
	if login.status != 200 {
		t.Fatalf("login with an unknown member: %d %s, want 200", login.status, login.body)
	}
	h := bearer(tr.AccessToken)
	for _, c := range []struct {
		path string
		body any
		h    map[string]string
	}{
		{"/v1/auth/refresh", map[string]any{"refresh_token": tr.RefreshToken, "device_id": "dev-asha", "a_newer_member": 1}, nil},
		{"/v1/sync/push", map[string]any{"mutations": []schema.Mutation{visitMutation(e.ashaCase, "dev-asha", 1000)}, "a_newer_member": 1}, h},
		{"/v1/sync/pull", map[string]any{"cursor": "", "a_newer_member": 1}, h},
	} {
		if r := e.do("POST", c.path, c.body, c.h); r.status != 200 {
			t.Errorf("%s with an unknown member: %d %s, want 200", c.path, r.status, r.body)
		}
	}
}
