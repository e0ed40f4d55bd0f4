package server

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"doorstep/schema"

	"github.com/golang-jwt/jwt/v5"
)

// scenario is one request against a fresh server, in the manner of
// PocketBase's ApiScenario: what is sent, what must come back, and what
// must not have changed.
type scenario struct {
	name    string
	method  string
	path    string
	body    any
	headers func(e *env) map[string]string
	before  func(t *testing.T, e *env) // runs before counting
	bodyFn  func(e *env) any           // the body, when it depends on before
	status  int
	code    string // error code expected ("" for a success)
	field   string
	// changes: the request is expected to write; otherwise record, audit
	// and mutation counts must be the same after as before.
	changes bool
	check   func(t *testing.T, e *env, r resp)
}

func (sc scenario) run(t *testing.T) {
	e := newEnv(t)
	if sc.before != nil {
		sc.before(t, e)
	}
	var h map[string]string
	if sc.headers != nil {
		h = sc.headers(e)
	}
	before := e.counts()
	body := sc.body
	if sc.bodyFn != nil {
		body = sc.bodyFn(e)
	}
	r := e.do(sc.method, sc.path, body, h)
	if r.status != sc.status {
		t.Fatalf("status = %d, want %d; body %s", r.status, sc.status, r.body)
	}
	if sc.code != "" {
		er := r.errorResponse()
		if er.Error.Code != sc.code || er.Error.Field != sc.field {
			t.Errorf("error = %q field %q, want %q field %q (%s)", er.Error.Code, er.Error.Field, sc.code, sc.field, r.body)
		}
		if er.Error.Message == "" || er.RequestID == "" {
			t.Errorf("error body lacks a message or request id: %s", r.body)
		}
	}
	if after := e.counts(); !sc.changes && after != before {
		t.Errorf("counts changed from %+v to %+v", before, after)
	}
	if sc.check != nil {
		sc.check(t, e, r)
	}
}

func asOfficer(e *env) map[string]string { return bearer(e.login("asha", "dev-asha").AccessToken) }

func TestBadInputMatrix(t *testing.T) {
	t.Parallel()
	bigNotes := strings.Repeat("x", schema.MaxBody+10)
	scenarios := []scenario{
		{name: "malformed JSON push", method: "POST", path: "/v1/sync/push", body: `{"mutations": [`, headers: asOfficer,
			status: 400, code: schema.ECodeMalformed},
		{name: "malformed JSON login", method: "POST", path: "/v1/auth/login", body: `{username: asha}`,
			status: 400, code: schema.ECodeMalformed},
		{name: "empty body", method: "POST", path: "/v1/auth/login", body: ``,
			status: 400, code: schema.ECodeMalformed},
		{name: "wrong type in envelope", method: "POST", path: "/v1/sync/push", body: `{"mutations": 5}`, headers: asOfficer,
			status: 400, code: schema.ECodeWrongType, field: "mutations"},
		{name: "wrong type login", method: "POST", path: "/v1/auth/login", body: `{"username": 5, "password": "x", "device_id": "d"}`,
			status: 400, code: schema.ECodeWrongType, field: "username"},
		{name: "wrong type field", method: "POST", path: "/v1/visits", headers: asOfficer,
			body:   map[string]any{"case_id": "", "fields": map[string]any{"status": 5}},
			before: nil, status: 400, code: schema.ECodeRequired, field: "case_id"},
		{name: "wrong type field value", method: "POST", path: "/v1/visits", headers: asOfficer,
			body:   `{"case_id": "00000000-0000-7000-8000-000000000000", "fields": {"status": 5}}`,
			status: 400, code: schema.ECodeWrongType, field: "fields.status"},
		{name: "unknown entity", method: "GET", path: "/v1/spaceships", headers: asOfficer,
			status: 404, code: schema.ECodeUnknownEntity, field: "path"},
		{name: "unknown field", method: "PATCH", path: "/v1/cases/x", headers: asOfficer, body: `{"fields": {"warp": 9}}`,
			status: 404, code: schema.ECodeNotFound, field: "id"},
		{name: "oversize body", method: "POST", path: "/v1/visits", headers: asOfficer,
			body:   `{"case_id": "x", "fields": {"observation_notes": "` + bigNotes + `"}}`,
			status: 413, code: schema.ECodeTooLarge},
		{name: "oversize gzip push", method: "POST", path: "/v1/sync/push",
			headers: func(e *env) map[string]string { return with(asOfficer(e), "Content-Encoding", "gzip") },
			body:    gzipped(`{"mutations": [], "pad": "` + strings.Repeat("a", schema.MaxPushBody) + `"}`),
			status:  413, code: schema.ECodeTooLarge},
		{name: "bad gzip push", method: "POST", path: "/v1/sync/push",
			headers: func(e *env) map[string]string { return with(asOfficer(e), "Content-Encoding", "gzip") },
			body:    "not gzip", status: 400, code: schema.ECodeMalformed},
		{name: "no token", method: "GET", path: "/v1/me", status: 401, code: schema.ECodeUnauthorized, field: "Authorization"},
		{name: "token signed with another key", method: "GET", path: "/v1/me",
			headers: func(e *env) map[string]string {
				return bearer(signWith(t, jwt.SigningMethodHS256, []byte("another key of thirty-two bytes!"), e.users["asha"].ID, e.clock.Now()))
			},
			status: 401, code: schema.ECodeUnauthorized, field: "Authorization"},
		{name: "alg none", method: "GET", path: "/v1/me",
			headers: func(e *env) map[string]string {
				return bearer(signWith(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, e.users["root"].ID, e.clock.Now()))
			},
			status: 401, code: schema.ECodeUnauthorized, field: "Authorization"},
		{name: "expired token", method: "GET", path: "/v1/me",
			headers: func(e *env) map[string]string {
				h := asOfficer(e)
				e.clock.Advance(16 * time.Minute)
				return h
			},
			status: 401, code: schema.ECodeTokenExpired, field: "Authorization"},
		{name: "reused refresh token", method: "POST", path: "/v1/auth/refresh",
			bodyFn: func(e *env) any { return e.scratch },
			status: 401, code: schema.ECodeRefreshReused, field: "refresh_token",
			changes: true, // every token of the device is revoked, and audited
			before: func(t *testing.T, e *env) {
				// The token comes back after its successor was used: not a
				// lost answer (see serverdb.refreshGrace) but theft.
				tr := e.login("asha", "dev-asha")
				r := e.do("POST", "/v1/auth/refresh", schema.RefreshRequest{RefreshToken: tr.RefreshToken, DeviceID: "dev-asha"}, nil)
				var next schema.TokenResponse
				if r.status != 200 || json.Unmarshal(r.body, &next) != nil {
					t.Fatalf("first refresh: %d %s", r.status, r.body)
				}
				if r := e.do("POST", "/v1/auth/refresh", schema.RefreshRequest{RefreshToken: next.RefreshToken, DeviceID: "dev-asha"}, nil); r.status != 200 {
					t.Fatalf("second refresh: %d %s", r.status, r.body)
				}
				e.scratch = schema.RefreshRequest{RefreshToken: tr.RefreshToken, DeviceID: "dev-asha"}
			}},
		{name: "wrong password", method: "POST", path: "/v1/auth/login",
			body:   schema.LoginRequest{Username: "asha", Password: "not the password", DeviceID: "d1"},
			status: 401, code: schema.ECodeUnauthorized, field: "password",
			check: func(t *testing.T, e *env, r resp) {
				if evs, err := e.srv.DB().AuditByAction(t.Context(), "sign_in_failed"); err != nil || len(evs) != 1 {
					t.Errorf("sign_in_failed events: %d, %v; want 1", len(evs), err)
				}
			}},
		{name: "rate limited", method: "POST", path: "/v1/auth/login",
			body:   schema.LoginRequest{Username: "asha", Password: pw, DeviceID: "d1"},
			status: 429, code: schema.ECodeRateLimited, field: "username",
			before: func(t *testing.T, e *env) {
				for i := 0; i < 5; i++ {
					r := e.do("POST", "/v1/auth/login", schema.LoginRequest{Username: "asha", Password: "wrong wrong", DeviceID: "d1"}, nil)
					if r.status != 401 {
						t.Fatalf("failure %d: %d", i, r.status)
					}
				}
			},
			check: func(t *testing.T, e *env, r resp) {
				if r.header.Get("Retry-After") == "" {
					t.Errorf("no Retry-After header")
				}
				e.clock.Advance(16 * time.Minute)
				if r := e.do("POST", "/v1/auth/login", schema.LoginRequest{Username: "asha", Password: pw, DeviceID: "d1"}, nil); r.status != 200 {
					t.Errorf("login after the window: %d", r.status)
				}
			}},
		{name: "officer GET of another's case", method: "GET",
			headers: asOfficer, status: 404, code: schema.ECodeNotFound, field: "id",
			before: func(t *testing.T, e *env) {}, path: "", // set below
		},
		{name: "officer creates in another's case", method: "POST", path: "/v1/visits", headers: asOfficer,
			status: 404, code: schema.ECodeNotFound, field: "case_id"},
		{name: "auditor writes", method: "POST", path: "/v1/visits",
			headers: func(e *env) map[string]string { return bearer(e.login("audrey", "dev-aud").AccessToken) },
			status:  403, code: schema.ECodeForbidden},
		{name: "officer on admin endpoint", method: "GET", path: "/v1/admin/devices", headers: asOfficer,
			status: 403, code: schema.ECodeForbidden},
		{name: "push without protocol header", method: "POST", path: "/v1/sync/push", body: `{"mutations": []}`,
			headers: func(e *env) map[string]string { return with(asOfficer(e), schema.HeaderProtocol, "") },
			status:  400, code: schema.ECodeInvalid, field: schema.HeaderProtocol},
		{name: "pull from a newer protocol", method: "POST", path: "/v1/sync/pull", body: `{}`,
			headers: func(e *env) map[string]string { return with(asOfficer(e), schema.HeaderProtocol, "99") },
			status:  426, code: schema.ECodeUpdateRequired, field: schema.HeaderProtocol},
		{name: "bad cursor", method: "POST", path: "/v1/sync/pull", body: `{"cursor": "nonsense"}`, headers: asOfficer,
			status: 400, code: schema.ECodeInvalid, field: "cursor"},
		{name: "revoked device", method: "POST", path: "/v1/sync/pull", body: `{}`,
			headers: func(e *env) map[string]string {
				h := asOfficer(e)
				if err := e.srv.DB().RevokeDevice(t.Context(), e.admin, "dev-asha"); err != nil {
					t.Fatal(err)
				}
				return h
			},
			status: 403, code: schema.ECodeDeviceRevoked, field: "device_id",
			check: func(t *testing.T, e *env, r resp) {
				if !r.errorResponse().Wipe {
					t.Errorf("device_revoked without wipe: %s", r.body)
				}
			}},
		{name: "no such endpoint", method: "DELETE", path: "/v1/visits/x", headers: asOfficer,
			status: 404, code: schema.ECodeNotFound},
	}
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel() // each scenario builds its own server
			switch sc.name {
			case "officer GET of another's case":
				e := newEnv(t)
				h := asOfficer(e)
				r := e.do("GET", "/v1/cases/"+e.benCase, nil, h)
				if r.status != 404 || r.errorResponse().Error.Code != schema.ECodeNotFound {
					t.Errorf("GET Ben's case as Asha = %d %s, want 404 not_found", r.status, r.body)
				}
				if r := e.do("GET", "/v1/cases/"+e.ashaCase, nil, h); r.status != 200 {
					t.Errorf("GET own case = %d", r.status)
				}
				return
			case "officer creates in another's case", "auditor writes":
				e := newEnv(t)
				h := sc.headers(e)
				before := e.counts()
				r := e.do("POST", "/v1/visits", map[string]any{"case_id": e.benCase, "fields": rawFields("status", "planned")}, h)
				if r.status != sc.status || r.errorResponse().Error.Code != sc.code {
					t.Errorf("= %d %s, want %d %s", r.status, r.body, sc.status, sc.code)
				}
				if after := e.counts(); after != before {
					t.Errorf("counts changed from %+v to %+v", before, after)
				}
				return
			}
			sc.run(t)
		})
	}
}

func signWith(t *testing.T, m jwt.SigningMethod, key any, sub string, now time.Time) string {
	t.Helper()
	c := claims{Role: "admin", RegisteredClaims: jwt.RegisteredClaims{Issuer: TokenIssuer, Subject: sub,
		IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(time.Hour))}}
	s, err := jwt.NewWithClaims(m, c).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func gzipped(s string) []byte {
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Write([]byte(s))
	zw.Close()
	return b.Bytes()
}

// TestPushPartlyOutOfScope: an officer pushing a record of a case not
// theirs has that mutation refused, and the rest applied.
func TestPushPartlyOutOfScope(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	h := asOfficer(e)
	before := e.counts()
	mine := visitMutation(e.ashaCase, "dev-asha", 1000)
	theirs := visitMutation(e.benCase, "dev-asha", 1001)
	mine2 := visitMutation(e.ashaCase, "dev-asha", 1002)
	r := e.do("POST", "/v1/sync/push", schema.PushRequest{Mutations: []schema.Mutation{mine, theirs, mine2}}, h)
	if r.status != 200 {
		t.Fatalf("push = %d %s", r.status, r.body)
	}
	var pr schema.PushResponse
	r.decode(t, &pr)
	want := []string{schema.StatusApplied, schema.StatusRejected, schema.StatusApplied}
	for i, w := range want {
		if pr.Results[i].Status != w {
			t.Errorf("result %d = %+v, want %s", i, pr.Results[i], w)
		}
	}
	if e := pr.Results[1].Error; e == nil || e.Code != schema.ECodeOutOfScope {
		t.Errorf("refusal = %+v, want out_of_scope", e)
	}
	after := e.counts()
	if after.records != before.records+2 || after.mutations != before.mutations+3 {
		t.Errorf("counts %+v -> %+v, want 2 records and 3 mutations more", before, after)
	}
}

// TestPushUndecodableMutation: a mutation that does not decode (a bad
// clock) is refused alone; the others are applied.
func TestPushUndecodableMutation(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	h := asOfficer(e)
	good := visitMutation(e.ashaCase, "dev-asha", 1000)
	gb, _ := json.Marshal(good)
	body := `{"mutations": [{"id": "019a4f30-0000-7000-8000-000000000009", "entity": "visit", "clock": "yesterday"}, ` + string(gb) + `]}`
	r := e.do("POST", "/v1/sync/push", body, h)
	var pr schema.PushResponse
	r.decode(t, &pr)
	if r.status != 200 || len(pr.Results) != 2 {
		t.Fatalf("push = %d %s", r.status, r.body)
	}
	if pr.Results[0].Status != schema.StatusRejected || pr.Results[0].MutationID != "019a4f30-0000-7000-8000-000000000009" {
		t.Errorf("bad mutation = %+v", pr.Results[0])
	}
	if pr.Results[1].Status != schema.StatusApplied {
		t.Errorf("good mutation = %+v", pr.Results[1])
	}
}
