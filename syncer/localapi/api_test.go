package localapi

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"doorstep/schema"
	"doorstep/syncer"
	"doorstep/syncer/localapi/localapitest"
)

// fakePeer stands for the network: it answers login, push (all applied)
// and pull (one case) with canned schema messages.
func fakePeer(t *testing.T, caseID string, extra ...schema.Record) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/v1/auth/login":
			var req schema.LoginRequest
			json.NewDecoder(r.Body).Decode(&req)
			if req.Password != "correct horse battery" {
				w.WriteHeader(401)
				json.NewEncoder(w).Encode(schema.ErrorResponse{Error: schema.Error{Code: schema.ECodeUnauthorized, Message: "wrong username or password"}})
				return
			}
			json.NewEncoder(w).Encode(schema.TokenResponse{AccessToken: "a", RefreshToken: "r", ServerTime: time.Now(),
				User: schema.User{ID: "officer-1", Username: req.Username, Name: "Asha", Role: schema.RoleOfficer, TeamID: "t"}})
		case "/v1/sync/push":
			var req schema.PushRequest
			json.NewDecoder(gunzip(t, r)).Decode(&req)
			resp := schema.PushResponse{ServerTime: time.Now()}
			for _, m := range req.Mutations {
				resp.Results = append(resp.Results, schema.MutationResult{MutationID: m.ID, Status: schema.StatusApplied,
					Receipt: &schema.Receipt{Entity: m.Entity, ID: m.RecordID, Version: 1, ReceivedAt: time.Now(), UpdatedAt: time.Now()}})
			}
			json.NewEncoder(w).Encode(resp)
		case "/v1/sync/pull":
			json.NewEncoder(w).Encode(schema.PullResponse{Cursor: "c1", ServerTime: time.Now(), Records: append([]schema.Record{{
				Entity: "case", ID: caseID, CaseID: caseID, Version: 1, Fields: schema.FieldsOf(schema.Case{
					CRN: "X123456", GivenName: "Sam", FamilyName: "Doe", DateOfBirth: "1990-01-02", Address: "1 High St",
					OfficerID: "officer-1", TeamID: "t", SentenceType: "licence", SupervisionStart: "2026-11-01", RoSH: "high"})}}, extra...)})
		default:
			w.WriteHeader(404)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func gunzip(t *testing.T, r *http.Request) io.Reader {
	if r.Header.Get("Content-Encoding") != "gzip" {
		return r.Body
	}
	zr, err := newGzipReader(r.Body)
	if err != nil {
		t.Errorf("push body: %v", err)
	}
	return zr
}

// startAPI starts the local API alone (no web app) over a real agent and
// the fake peer, signs the officer in, and returns a client that carries
// the session, the agent, and the id of the case the peer serves.
func startAPI(t *testing.T) (localapitest.Client, *syncer.Agent, string) {
	t.Helper()
	return startAPIWith(t, nil)
}

// startAPIWith starts the API with a peer whose pull also brings the
// records extra makes for the case.
func startAPIWith(t *testing.T, extra func(caseID string) []schema.Record) (localapitest.Client, *syncer.Agent, string) {
	t.Helper()
	caseID := schema.NewID()
	var recs []schema.Record
	if extra != nil {
		recs = extra(caseID)
	}
	peer := fakePeer(t, caseID, recs...)
	a, err := syncer.Open(context.Background(), syncer.Config{DataDir: t.TempDir(), ServerURL: peer.URL})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	api := New(a, Config{})
	if err := api.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { api.Close() })
	if !strings.HasPrefix(api.URL(), "http://127.0.0.1:") {
		t.Fatalf("URL %q", api.URL())
	}
	c := localapitest.Client{T: t, Base: api.URL()}
	return c.SignIn("/v1/login", map[string]string{"username": "asha.officer", "password": testPassword}), a, caseID
}

func TestStartRefusesNonLoopback(t *testing.T) {
	t.Parallel()
	for _, addr := range []string{"0.0.0.0:0", "192.168.1.20:8080", ":0x", "example.com:80", "[::]:0"} {
		api := New(nil, Config{Addr: addr})
		if err := api.Start(); err == nil {
			api.Close()
			t.Errorf("Start(%q): want a refusal", addr)
		}
	}
	for _, addr := range []string{"0", "localhost:0", "127.0.0.1:0"} {
		api := New(nil, Config{Addr: addr})
		if err := api.Start(); err != nil {
			t.Errorf("Start(%q): %v", addr, err)
			continue
		}
		api.Close()
	}
}

func TestCrossSiteRequestsAreRefused(t *testing.T) {
	t.Parallel()
	c, _, _ := startAPI(t)
	status, _, hdr := c.Do("GET", "/healthz", nil, nil)
	if status != 200 || !strings.Contains(hdr.Get("Content-Security-Policy"), "default-src 'self'") || hdr.Get("X-Frame-Options") != "DENY" {
		t.Fatalf("healthz: %d, headers %v", status, hdr)
	}
	cases := []struct {
		name   string
		method string
		body   any
		hdr    map[string]string
		status int
		field  string
	}{
		{"foreign origin", "GET", nil, map[string]string{"Origin": "https://evil.example"}, 403, "Origin"},
		{"rebound host", "GET", nil, map[string]string{"Host": "evil.example:80"}, 403, "Host"},
		{"cross-site fetch", "GET", nil, map[string]string{"Sec-Fetch-Site": "cross-site"}, 403, "Sec-Fetch-Site"},
		{"form post", "POST", "username=a", map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, 415, "Content-Type"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, out, _ := c.Do(tc.method, "/v1/status", tc.body, tc.hdr)
			if tc.method == "POST" {
				status, out, _ = c.Do(tc.method, "/v1/login", tc.body, tc.hdr)
			}
			if _, f := localapitest.ErrCode(out); status != tc.status || f != tc.field {
				t.Fatalf("want %d naming %s, got %d %v", tc.status, tc.field, status, out)
			}
		})
	}
	// The app's own origin is fine.
	c = c.SignIn("/v1/login", map[string]string{"username": "asha.officer", "password": testPassword})
	if status, _, _ := c.Do("GET", "/v1/status", nil, map[string]string{"Origin": c.Base}); status != 200 {
		t.Fatalf("same origin: %d", status)
	}
}

func TestOfficerFlowThroughTheLocalAPI(t *testing.T) {
	t.Parallel()
	c, a, caseID := startAPI(t)
	ctx := context.Background()

	status, out, _ := c.Do("POST", "/v1/login", map[string]string{"username": "asha.officer", "password": "nope"}, nil)
	if code, _ := localapitest.ErrCode(out); status != 401 || code != schema.ECodeUnauthorized {
		t.Fatalf("bad login: %d %v", status, out)
	}
	c = c.SignIn("/v1/login", map[string]string{"username": "asha.officer", "password": "correct horse battery"})
	if status, out, _ = c.Do("POST", "/v1/sync", "{}", nil); status != 200 || out["pulled"].(float64) != 1 {
		t.Fatalf("sync: %d %v", status, out)
	}
	status, out, _ = c.Do("GET", "/v1/records/cases", nil, nil)
	if recs := out["records"].([]any); status != 200 || len(recs) != 1 {
		t.Fatalf("list cases: %d %v", status, out)
	}

	status, out, _ = c.Do("POST", "/v1/records/visit", map[string]any{"case_id": caseID, "fields": map[string]any{
		"status": "draft", "type": "home_announced", "outcome": "completed", "started_at": "2026-11-20T10:00:00Z"}}, nil)
	if status != 201 || out["pending"] != true {
		t.Fatalf("create visit: %d %v", status, out)
	}
	visitID := out["id"].(string)
	status, out, _ = c.Do("PATCH", "/v1/records/visit/"+visitID, map[string]any{"fields": map[string]any{"person_seen": "yes"}}, nil)
	if status != 200 || out["fields"].(map[string]any)["person_seen"] != "yes" {
		t.Fatalf("patch visit: %d %v", status, out)
	}

	// The bad-input matrix: each answer names the field, and nothing changes.
	before, _ := a.Outbox(ctx)
	bad := []struct {
		name, method, path string
		body               any
		status             int
		code, field        string
	}{
		{"unknown entity", "POST", "/v1/records/spaceship", map[string]any{"case_id": caseID, "fields": map[string]any{"a": 1}}, 404, schema.ECodeUnknownEntity, "entity"},
		{"bad enum", "POST", "/v1/records/visits", map[string]any{"case_id": caseID, "fields": map[string]any{"status": "sideways"}}, 400, schema.ECodeInvalid, "fields.status"},
		{"unknown field", "PATCH", "/v1/records/visit/" + visitID, map[string]any{"fields": map[string]any{"mood": "ok"}}, 400, schema.ECodeUnknownField, "fields.mood"},
		{"unknown member", "PATCH", "/v1/records/visit/" + visitID, map[string]any{"fields": map[string]any{}, "extra": 1}, 400, schema.ECodeUnknownField, "extra"},
		{"wrong type", "PATCH", "/v1/records/visit/" + visitID, map[string]any{"fields": map[string]any{"face_to_face": "yes"}}, 400, schema.ECodeWrongType, "fields.face_to_face"},
		{"not JSON", "PATCH", "/v1/records/visit/" + visitID, "{fields:", 400, schema.ECodeMalformed, ""},
		{"empty body", "POST", "/v1/visits/" + visitID + "/sign", "", 400, schema.ECodeMalformed, ""},
		{"missing record", "PATCH", "/v1/records/visit/" + schema.NewID(), map[string]any{"fields": map[string]any{"status": "draft"}}, 404, schema.ECodeNotFound, "id"},
		{"officer edits rosh", "PATCH", "/v1/records/case/" + caseID, map[string]any{"fields": map[string]any{"rosh": "low"}}, 403, schema.ECodeForbidden, "fields.rosh"},
		{"case not here", "POST", "/v1/records/visit", map[string]any{"case_id": schema.NewID(), "fields": map[string]any{"status": "draft"}}, 403, schema.ECodeOutOfScope, "case_id"},
		{"amend unsigned", "POST", "/v1/visits/" + visitID + "/amend", map[string]any{"reason": "x", "changes": map[string]any{"outcome": "no_answer"}}, 400, schema.ECodeInvalid, "visit_id"},
		{"no route", "GET", "/v1/nothing", nil, 404, schema.ECodeNotFound, ""},
		{"born in the future", "POST", "/v1/records/household-members", map[string]any{"case_id": caseID, "fields": map[string]any{
			"relation": "own_child", "residence": "lives_here", "name": "Future Baby", "date_of_birth": "2099-01-01"}}, 400, schema.ECodeInvalid, "fields.date_of_birth"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			c := localapitest.Client{T: t, Base: c.Base, Token: c.Token}
			status, out, _ := c.Do(tc.method, tc.path, tc.body, nil)
			code, field := localapitest.ErrCode(out)
			if status != tc.status || code != tc.code || field != tc.field {
				t.Fatalf("want %d %s on %q, got %d %s on %q (%v)", tc.status, tc.code, tc.field, status, code, field, out)
			}
			if after, _ := a.Outbox(ctx); len(after) != len(before) {
				t.Fatalf("a refused request changed the outbox: %d -> %d", len(before), len(after))
			}
		})
	}

	// A body over the limit is refused with 413 (or the connection is cut
	// before the client finished sending it).
	big := `{"fields":{"observation_notes":"` + strings.Repeat("x", 2<<20) + `"}}`
	req, _ := http.NewRequest("POST", c.Base+"/v1/records/visit", strings.NewReader(big))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+c.Token)
	if resp, err := http.DefaultClient.Do(req); err == nil {
		var out map[string]any
		json.NewDecoder(resp.Body).Decode(&out)
		resp.Body.Close()
		if code, _ := localapitest.ErrCode(out); resp.StatusCode != 413 || code != schema.ECodeTooLarge {
			t.Fatalf("too large: %d %v", resp.StatusCode, out)
		}
	}
	if after, _ := a.Outbox(ctx); len(after) != len(before) {
		t.Fatalf("a refused request changed the outbox")
	}

	status, out, _ = c.Do("POST", "/v1/visits/"+visitID+"/sign", map[string]any{"fields": map[string]any{}}, nil)
	if status != 200 || out["signed"] != true {
		t.Fatalf("sign: %d %v", status, out)
	}
	status, out, _ = c.Do("PATCH", "/v1/records/visit/"+visitID, map[string]any{"fields": map[string]any{"outcome": "no_answer"}}, nil)
	if code, _ := localapitest.ErrCode(out); status != 409 || code != schema.ECodeSigned {
		t.Fatalf("edit signed: %d %v", status, out)
	}
	status, out, _ = c.Do("POST", "/v1/visits/"+visitID+"/amend", map[string]any{"reason": "typo", "changes": map[string]any{"outcome": "no_answer"}}, nil)
	if status != 201 || out["entity"] != "amendment" {
		t.Fatalf("amend: %d %v", status, out)
	}
	status, out, _ = c.Do("GET", "/v1/outbox", nil, nil)
	if n := len(out["outbox"].([]any)); status != 200 || n != 4 {
		t.Fatalf("outbox: want 4 entries, got %d (%v)", n, out)
	}
	if status, out, _ = c.Do("POST", "/v1/sync", "{}", nil); status != 200 || out["applied"].(float64) != 4 {
		t.Fatalf("sync: %d %v", status, out)
	}
	status, out, _ = c.Do("GET", "/v1/status", nil, nil)
	if status != 200 || out["pending"].(float64) != 0 || out["signed_in"] != true {
		t.Fatalf("status: %d %v", status, out)
	}
	status, out, _ = c.Do("GET", "/v1/records/visit/"+visitID, nil, nil)
	if status != 200 || out["version"].(float64) != 1 || out["received_at"] == "" {
		t.Fatalf("receipt: %d %v", status, out)
	}
	if status, out, _ = c.Do("GET", "/v1/conflicts", nil, nil); status != 200 || len(out["conflicts"].([]any)) != 0 {
		t.Fatalf("conflicts: %d %v", status, out)
	}
	if status, out, _ = c.Do("POST", "/v1/unlock", map[string]string{"username": "asha.officer", "password": "correct horse battery"}, nil); status != 200 {
		t.Fatalf("unlock: %d %v", status, out)
	}
}
