package server

import (
	"context"
	"strings"
	"testing"
	"time"

	"doorstep/schema"

	"github.com/golang-jwt/jwt/v5"
)

// Issue 11, defect 8: the low findings of the attack sweep, one test each.

// Every API answer, success or error, says not to cache it and not to
// guess its type: it holds case data.
func TestAPIAnswersAreNotCachedOrSniffed(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	h := bearer(e.login("asha", "dev-asha").AccessToken)
	for _, c := range []struct {
		name, method, path string
		headers            map[string]string
		status             int
	}{
		{"a record", "GET", "/v1/cases/" + e.ashaCase, h, 200},
		{"a list", "GET", "/v1/cases", h, 200},
		{"an error", "GET", "/v1/cases/" + e.benCase, h, 404},
		{"unsigned", "GET", "/v1/me", nil, 401},
		{"no such endpoint", "GET", "/v1/nothing/here/at/all", h, 404},
		{"health", "GET", "/healthz", nil, 200},
		{"readiness", "GET", "/readyz", nil, 200},
	} {
		r := e.do(c.method, c.path, nil, c.headers)
		if r.status != c.status {
			t.Errorf("%s: status %d, want %d", c.name, r.status, c.status)
		}
		if got := r.header.Get("X-Content-Type-Options"); got != "nosniff" {
			t.Errorf("%s: X-Content-Type-Options = %q, want nosniff", c.name, got)
		}
		if got := r.header.Get("Cache-Control"); got != "no-store" {
			t.Errorf("%s: Cache-Control = %q, want no-store", c.name, got)
		}
	}
}

// A POST naming the id of a record out of the caller's scope answers as a
// GET of that id does (404 not_found), not 409 "already exists", and names
// nothing of the record.
func TestCreateWithAnOutOfScopeIDAnswersNotFound(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	h := bearer(e.login("asha", "dev-asha").AccessToken)
	before := e.counts()
	r := e.do("POST", "/v1/visits", map[string]any{"id": e.benCase, "case_id": e.ashaCase,
		"fields": rawFields("status", "planned", "planned_type", "home_announced")}, h)
	er := r.errorResponse()
	if r.status != 404 || er.Error.Code != schema.ECodeNotFound || er.Error.Field != "id" {
		t.Errorf("POST with Ben's case id as Asha = %d %s, want 404 not_found on id", r.status, r.body)
	}
	if strings.Contains(er.Error.Message, e.benCase) || strings.Contains(er.Error.Message, "case") {
		t.Errorf("the answer says something of the record: %q", er.Error.Message)
	}
	if after := e.counts(); after != before {
		t.Errorf("counts changed from %+v to %+v", before, after)
	}
	// A record the caller can see: 409, as before (the retry of its own create).
	r = e.do("POST", "/v1/visits", map[string]any{"id": e.ashaCase, "case_id": e.ashaCase,
		"fields": rawFields("status", "planned", "planned_type", "home_announced")}, h)
	if r.status != 409 || r.errorResponse().Error.Code != schema.ECodeConflict {
		t.Errorf("POST with an id the caller can see = %d %s, want 409 conflict", r.status, r.body)
	}
}

// "This account is disabled" is said only to someone who holds a token
// already; at sign-in a disabled account answers as a wrong password does,
// so the answer does not confirm the password.
func TestDisabledAccountSignInDoesNotConfirmThePassword(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	if _, err := e.srv.DB().SetUserDisabled(context.Background(), e.admin, "ben", true); err != nil {
		t.Fatal(err)
	}
	right := e.do("POST", "/v1/auth/login", schema.LoginRequest{Username: "ben", Password: pw, DeviceID: "dev-ben"}, nil)
	wrong := e.do("POST", "/v1/auth/login", schema.LoginRequest{Username: "ben", Password: "not the password", DeviceID: "dev-ben"}, nil)
	if right.status != 401 || right.status != wrong.status || right.errorResponse().Error != wrong.errorResponse().Error {
		t.Errorf("disabled account, right password = %d %s; wrong password = %d %s; want the same answer",
			right.status, right.body, wrong.status, wrong.body)
	}
}

// The API takes from an access token only who and which device: the
// audience, the times and the device are checked, and the role and team
// come from the user's row.
func TestAccessTokenClaimsAreChecked(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	asha := e.users["asha"]
	e.login("asha", "dev-asha")
	e.login("ben", "dev-ben")
	now := e.clock.Now()
	sign := func(mod func(c *claims)) map[string]string {
		t.Helper()
		c := claims{Role: string(asha.Role), Team: asha.TeamID, Device: "dev-asha", RegisteredClaims: jwt.RegisteredClaims{
			Issuer: TokenIssuer, Subject: asha.ID, Audience: jwt.ClaimStrings{tokenAudience},
			IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(15 * time.Minute))}}
		mod(&c)
		s, err := e.srv.SignToken("", c)
		if err != nil {
			t.Fatal(err)
		}
		return bearer(s)
	}
	if r := e.do("GET", "/v1/me", nil, sign(func(*claims) {})); r.status != 200 {
		t.Fatalf("a well-formed token: %d %s", r.status, r.body)
	}
	for _, c := range []struct {
		name string
		mod  func(c *claims)
	}{
		{"no audience", func(c *claims) { c.Audience = nil }},
		{"another audience", func(c *claims) { c.Audience = jwt.ClaimStrings{"doorstep-dashboard"} }},
		{"issued in the future", func(c *claims) { c.IssuedAt = jwt.NewNumericDate(now.Add(time.Hour)) }},
		{"no issue time", func(c *claims) { c.IssuedAt = nil }},
		{"lives a year", func(c *claims) { c.ExpiresAt = jwt.NewNumericDate(now.Add(365 * 24 * time.Hour)) }},
		{"no device", func(c *claims) { c.Device = "" }},
		{"another user's device", func(c *claims) { c.Device = "dev-ben" }},
		{"a device never registered", func(c *claims) { c.Device = "dev-nowhere" }},
	} {
		r := e.do("GET", "/v1/me", nil, sign(c.mod))
		if r.status != 401 || r.errorResponse().Error.Code != schema.ECodeUnauthorized {
			t.Errorf("%s: %d %s, want 401 unauthorized", c.name, r.status, r.body)
		}
	}
	// A role or team the token claims but the user's row does not hold
	// gives nothing.
	admin := sign(func(c *claims) { c.Role = string(schema.RoleAdmin); c.Team = "" })
	if r := e.do("GET", "/v1/admin/devices", nil, admin); r.status != 403 {
		t.Errorf("an officer's token claiming admin: %d %s, want 403", r.status, r.body)
	}
	sup := sign(func(c *claims) { c.Role = string(schema.RoleSupervisor) })
	if r := e.do("GET", "/v1/cases/"+e.benCase, nil, sup); r.status != 404 {
		t.Errorf("an officer's token claiming supervisor reads a teammate's case: %d %s, want 404", r.status, r.body)
	}
}
