package server

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"doorstep/schema"
	"doorstep/server/serverdb"
)

// Guessable passwords are refused for every role, and a password equal to
// the username too (issue 11, defect 7).
func TestGuessablePasswordsAreRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tok := e.login("root", "dev-root").AccessToken
	for _, role := range []schema.Role{schema.RoleOfficer, schema.RoleSupervisor, schema.RoleAdmin, schema.RoleAuditor} {
		for i, p := range []string{"password12", "1234567890", "qwertyuiop", "%s", "%s2026", "Sam Weakling"} {
			name := strings.ToLower(string(role)) + ".weak"
			p = strings.ReplaceAll(p, "%s", name)
			team := ""
			if role == schema.RoleOfficer || role == schema.RoleSupervisor {
				team = e.teamA.ID
			}
			r := e.do("POST", "/v1/admin/users", map[string]any{"username": name, "name": "Sam Weakling", "role": role, "team_id": team, "password": p}, bearer(tok))
			if r.status != 422 && r.status != 400 || r.errorResponse().Error.Field != "password" {
				t.Errorf("%s with password %d %q: %d %s, want refused on field password", role, i, p, r.status, r.body)
			}
			if _, err := e.srv.DB().UserByUsername(context.Background(), name); err == nil {
				t.Fatalf("%s: user created with password %q", role, p)
			}
		}
	}
}

// An admin creates a user, or resets one, with a one-time setup code; the
// user sets their own password with it, once.
func TestSetupCode(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tok := e.login("root", "dev-root").AccessToken
	r := e.do("POST", "/v1/admin/users", map[string]any{"username": "nia", "name": "Nia Newcomer", "role": "auditor"}, bearer(tok))
	var created struct {
		schema.User
		SetupCode string `json:"setup_code"`
	}
	r.decode(t, &created)
	if r.status != 201 || created.SetupCode == "" {
		t.Fatalf("create without a password: %d %s, want 201 with a setup_code", r.status, r.body)
	}
	if r := e.do("POST", "/v1/auth/login", schema.LoginRequest{Username: "nia", Password: "", DeviceID: "d"}, nil); r.status == 200 {
		t.Fatal("a user without a password signed in")
	}
	setup := func(code, password string) resp {
		return e.do("POST", "/v1/auth/setup", map[string]string{"username": "nia", "code": code, "password": password}, nil)
	}
	if r := setup(created.SetupCode, "qwertyuiop"); r.status != 422 && r.status != 400 {
		t.Errorf("setup with a weak password: %d %s", r.status, r.body)
	}
	if r := setup("aaaaa-bbbbb-ccccc-ddddd", "a long pass phrase of hers"); r.status != 401 {
		t.Errorf("setup with a wrong code: %d %s, want 401", r.status, r.body)
	}
	if evs, _ := e.srv.DB().AuditByAction(context.Background(), "sign_in_failed"); len(evs) != 1 || !strings.Contains(string(evs[0].Detail), `"via":"setup"`) {
		t.Errorf("a wrong setup code's audit events: %+v, want one sign_in_failed via setup", evs)
	}
	if r := setup(created.SetupCode, "a long pass phrase of hers"); r.status != 200 {
		t.Fatalf("setup: %d %s", r.status, r.body)
	}
	if r := setup(created.SetupCode, "another long pass phrase"); r.status != 401 {
		t.Errorf("the code used twice: %d %s, want 401", r.status, r.body)
	}
	nia := e.do("POST", "/v1/auth/login", schema.LoginRequest{Username: "nia", Password: "a long pass phrase of hers", DeviceID: "dev-nia"}, nil)
	if nia.status != 200 {
		t.Fatalf("sign-in with the chosen password: %d %s", nia.status, nia.body)
	}
	var niaTok schema.TokenResponse
	nia.decode(t, &niaTok)

	// A reset: the old password and the access token stop at once.
	r = e.do("POST", "/v1/admin/users/nia/reset-password", nil, bearer(tok))
	var reset struct {
		SetupCode string `json:"setup_code"`
	}
	r.decode(t, &reset)
	if r.status != 200 || reset.SetupCode == "" {
		t.Fatalf("reset-password: %d %s", r.status, r.body)
	}
	if r := e.do("GET", "/v1/me", nil, bearer(niaTok.AccessToken)); r.status != 401 {
		t.Errorf("an access token after a reset: %d %s, want 401", r.status, r.body)
	}
	if r := e.do("POST", "/v1/auth/login", schema.LoginRequest{Username: "nia", Password: "a long pass phrase of hers", DeviceID: "dev-nia"}, nil); r.status != 401 {
		t.Errorf("the old password after a reset: %d %s, want 401", r.status, r.body)
	}
	e.clock.Advance(serverdb.SetupCodeTTL + 1)
	if r := setup(reset.SetupCode, "a new long pass phrase"); r.status != 401 {
		t.Errorf("an expired code: %d %s, want 401", r.status, r.body)
	}
	// An officer may not reset anyone.
	asha := e.login("asha", "dev-asha").AccessToken
	if r := e.do("POST", "/v1/admin/users/ben/reset-password", nil, bearer(asha)); r.status != 403 {
		t.Errorf("an officer's reset: %d %s, want 403", r.status, r.body)
	}
}

// An access token stops at logout and at a reused refresh token, not 15
// minutes later (issue 11, defect 8).
func TestAccessTokenStopsAtLogout(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.login("asha", "dev-asha")
	if r := e.do("POST", "/v1/auth/logout", nil, bearer(a.AccessToken)); r.status != 200 {
		t.Fatalf("logout: %d %s", r.status, r.body)
	}
	if r := e.do("GET", "/v1/me", nil, bearer(a.AccessToken)); r.status != 401 {
		t.Errorf("an access token after logout: %d %s, want 401", r.status, r.body)
	}
	b := e.login("ben", "dev-ben")
	next := e.do("POST", "/v1/auth/refresh", schema.RefreshRequest{RefreshToken: b.RefreshToken, DeviceID: "dev-ben"}, nil)
	var nb schema.TokenResponse
	next.decode(t, &nb)
	if next.status != 200 {
		t.Fatalf("refresh: %d %s", next.status, next.body)
	}
	if r := e.do("POST", "/v1/auth/refresh", schema.RefreshRequest{RefreshToken: nb.RefreshToken, DeviceID: "dev-ben"}, nil); r.status != 200 {
		t.Fatalf("refresh: %d %s", r.status, r.body)
	}
	// The first token again, outside the grace of a lost answer: theft.
	e.clock.Advance(3 * 60e9)
	if r := e.do("POST", "/v1/auth/refresh", schema.RefreshRequest{RefreshToken: b.RefreshToken, DeviceID: "dev-ben"}, nil); r.status != 401 {
		t.Fatalf("a reused refresh token: %d %s, want 401", r.status, r.body)
	}
	if r := e.do("GET", "/v1/me", nil, bearer(nb.AccessToken)); r.status != 401 {
		t.Errorf("an access token after reuse detection: %d %s, want 401", r.status, r.body)
	}
}

// Guessing a setup code is slowed as guessing a password is (decision
// 0027): wrong codes count with the failed sign-ins, warn, then bring a
// wait answered 429 with Retry-After, during which even the right code is
// not checked (nor spent); after the wait it works. Each wrong code is
// audited once.
func TestSetupCodeGuessesWait(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	nia := schema.User{ID: schema.NewID(), Username: "nia", Name: "Nia Newcomer", Role: schema.RoleAuditor}
	if err := e.srv.DB().CreateUser(ctx, e.admin, nia, ""); err != nil {
		t.Fatal(err)
	}
	code, _, err := e.srv.DB().IssueSetupCode(ctx, e.admin, "nia")
	if err != nil {
		t.Fatal(err)
	}
	const chosen = "a long pass phrase of hers"
	try := func(what, code string, status int, message, retryAfter string) {
		t.Helper()
		r := e.do("POST", "/v1/auth/setup", map[string]string{"username": "nia", "code": code, "password": chosen}, nil)
		if er := r.errorResponse().Error; r.status != status || er.Message != message || r.header.Get("Retry-After") != retryAfter {
			t.Fatalf("%s: %d %q Retry-After %q, want %d %q Retry-After %q", what, r.status, er.Message, r.header.Get("Retry-After"),
				status, message, retryAfter)
		}
	}
	const bad = "the setup code is not right, or it has been used or has expired: ask an admin for a new one"
	for i := 1; i <= 2; i++ {
		try(fmt.Sprintf("wrong code %d", i), fmt.Sprintf("aaaaa-bbbbb-ccccc-dddd%d", i), 401, bad, "")
	}
	try("wrong code 3", "aaaaa-bbbbb-ccccc-dddd3", 401, bad+"; 2 tries left before a wait", "")
	try("wrong code 4", "aaaaa-bbbbb-ccccc-dddd4", 401, bad+"; 1 try left before a wait", "")
	try("wrong code 5", "aaaaa-bbbbb-ccccc-dddd5", 401, bad+"; try again in 30 seconds", "30")
	try("the right code during the wait", code, 429, "too many failed sign-ins; try again in 30 seconds", "30")
	if evs, _ := e.srv.DB().AuditByAction(ctx, "sign_in_failed"); len(evs) != 5 {
		t.Errorf("%d sign_in_failed events, want one per wrong code (5)", len(evs))
	}
	e.clock.Advance(30 * time.Second)
	try("the right code after the wait", code, 200, "", "")
	if r := e.do("POST", "/v1/auth/login", schema.LoginRequest{Username: "nia", Password: chosen, DeviceID: "dev-nia"}, nil); r.status != 200 {
		t.Errorf("sign-in with the password set after the wait: %d %s", r.status, r.body)
	}
}
