package server

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"doorstep/internal/testkit"
	"doorstep/schema"
	"doorstep/schema/policy"
	"doorstep/schema/synth"
	"doorstep/server/serverdb"
	"doorstep/server/serverdb/serverdbtest"
)

// checkLease verifies the lease of an answer against the key the sign-in
// gave, and that it is for device and user, from the server's now, for
// days and then grace days.
func checkLease(t *testing.T, what string, r resp, pub, device, userID string, now time.Time, days, grace int) {
	t.Helper()
	key, err := schema.ParsePublicKey(pub)
	if err != nil {
		t.Fatalf("%s: the server's public key %q: %v", what, pub, err)
	}
	l, err := schema.VerifyLease(key, r.header.Get(schema.HeaderLease))
	if err != nil {
		t.Fatalf("%s: the lease does not verify: %v (%d %s)", what, err, r.status, r.body)
	}
	issued := now.UTC().Truncate(time.Second)
	if l.DeviceID != device || l.UserID != userID || !l.IssuedAt.Equal(issued) ||
		!l.ValidUntil.Equal(issued.AddDate(0, 0, days)) || !l.GraceUntil.Equal(issued.AddDate(0, 0, days+grace)) {
		t.Errorf("%s: lease %+v; want device %s, user %s, issued %s, %d days then %d of grace", what, l, device, userID, issued, days, grace)
	}
	if s := r.header.Get(schema.HeaderDeviceStanding); s != schema.StandingActive {
		t.Errorf("%s: standing %q, want active", what, s)
	}
}

// TestEveryDeviceAnswerTellsItsStanding: every answer to a request whose
// device credential the server checked says whether the device is
// revoked, errors included, and those to a device in good standing carry
// a lease that verifies against the key the sign-in gave. An answer to a
// credential not proven (no token, a wrong password) says nothing.
func TestEveryDeviceAnswerTellsItsStanding(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	asha := e.users["asha"]
	tr := e.login("asha", "tab-1")
	if tr.ServerPublicKey != e.srv.ServerPublicKey() || tr.ServerPublicKey == "" {
		t.Fatalf("the sign-in gave the server key %q, want %q", tr.ServerPublicKey, e.srv.ServerPublicKey())
	}
	r := e.do("POST", "/v1/auth/login", schema.LoginRequest{Username: "asha", Password: pw, DeviceID: "tab-1"}, nil)
	checkLease(t, "login", r, tr.ServerPublicKey, "tab-1", asha.ID, e.clock.Now(), 7, 7)
	r.decode(t, &tr)
	r = e.do("POST", "/v1/auth/refresh", schema.RefreshRequest{RefreshToken: tr.RefreshToken, DeviceID: "tab-1"}, nil)
	checkLease(t, "refresh", r, tr.ServerPublicKey, "tab-1", asha.ID, e.clock.Now(), 7, 7)
	r.decode(t, &tr)
	e.clock.Advance(time.Minute)
	r = e.do("POST", "/v1/sync/pull", schema.PullRequest{}, bearer(tr.AccessToken))
	checkLease(t, "pull", r, tr.ServerPublicKey, "tab-1", asha.ID, e.clock.Now(), 7, 7)
	r = e.do("POST", "/v1/sync/push", "{", bearer(tr.AccessToken))
	if r.status != 400 {
		t.Fatalf("a push that is not JSON: %d", r.status)
	}
	checkLease(t, "a refused push", r, tr.ServerPublicKey, "tab-1", asha.ID, e.clock.Now(), 7, 7)

	silent := func(what string, r resp, status int) {
		t.Helper()
		if r.status != status || r.header.Get(schema.HeaderDeviceStanding) != "" || r.header.Get(schema.HeaderLease) != "" {
			t.Errorf("%s: want %d with no standing and no lease, got %d, standing %q, lease %q", what, status, r.status,
				r.header.Get(schema.HeaderDeviceStanding), r.header.Get(schema.HeaderLease))
		}
	}
	silent("a pull with no token", e.do("POST", "/v1/sync/pull", schema.PullRequest{}, nil), 401)
	silent("a wrong password", e.do("POST", "/v1/auth/login", schema.LoginRequest{Username: "asha", Password: "wrong", DeviceID: "tab-1"}, nil), 401)

	// Revoked: every answer to the device's credentials says so, with no lease.
	other := e.login("asha", "tab-2")
	for _, dev := range []string{"tab-1", "tab-2"} {
		if err := e.srv.DB().RevokeDevice(context.Background(), e.admin, dev); err != nil {
			t.Fatal(err)
		}
	}
	revoked := func(what string, r resp, status int) {
		t.Helper()
		if r.status != status || r.header.Get(schema.HeaderDeviceStanding) != schema.StandingRevoked || r.header.Get(schema.HeaderLease) != "" {
			t.Errorf("%s: want %d with standing revoked and no lease, got %d, standing %q, lease %q: %s", what, status, r.status,
				r.header.Get(schema.HeaderDeviceStanding), r.header.Get(schema.HeaderLease), r.body)
		}
	}
	revoked("pull", e.do("POST", "/v1/sync/pull", schema.PullRequest{}, bearer(tr.AccessToken)), 403)
	revoked("push", e.do("POST", "/v1/sync/push", schema.PushRequest{}, bearer(tr.AccessToken)), 403)
	revoked("a REST read", e.do("GET", "/v1/cases", nil, bearer(tr.AccessToken)), 403)
	revoked("refresh", e.do("POST", "/v1/auth/refresh", schema.RefreshRequest{RefreshToken: tr.RefreshToken, DeviceID: "tab-1"}, nil), 403)
	revoked("login", e.do("POST", "/v1/auth/login", schema.LoginRequest{Username: "asha", Password: pw, DeviceID: "tab-1"}, nil), 403)
	silent("login with a wrong password", e.do("POST", "/v1/auth/login", schema.LoginRequest{Username: "asha", Password: "wrong", DeviceID: "tab-1"}, nil), 401)
	e.clock.Advance(time.Hour) // tab-2's access token has expired
	r = e.do("POST", "/v1/sync/pull", schema.PullRequest{}, bearer(other.AccessToken))
	revoked("an expired token", r, 401)
	if code := r.errorResponse().Error.Code; code != schema.ECodeTokenExpired {
		t.Errorf("an expired token of a revoked device: code %q, want token_expired", code)
	}
}

// TestLeaseFollowsTheRulesFile: offline_lease_days and offline_grace_days
// set the lease's times, and the document tablets receive leaves them out
// (an older tablet refuses a document with keys it does not know).
func TestLeaseFollowsTheRulesFile(t *testing.T) {
	t.Parallel()
	doc := strings.Replace(string(policy.DefaultRules()), `"rules": [`, `"offline_lease_days": 2, "offline_grace_days": 3, "rules": [`, 1)
	clock := testkit.NewClock(synth.DefaultNow)
	srv, err := Open(context.Background(), Config{Addr: "127.0.0.1:0", DataDir: filepath.Join(t.TempDir(), "data"), DB: serverdbtest.ConfigDB(t), Now: clock.Now, Rules: []byte(doc)})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	e := &env{t: t, srv: srv, clock: clock, url: srv.URL()}
	admin := serverdb.Actor{UserID: "setup", Role: schema.RoleAdmin}
	team := schema.Team{ID: schema.NewID(), Name: "Team A"}
	u := schema.User{ID: schema.NewID(), Username: "asha", Name: "Asha", Role: schema.RoleOfficer, TeamID: team.ID}
	if err := srv.DB().CreateTeam(context.Background(), admin, team); err != nil {
		t.Fatal(err)
	}
	if err := srv.DB().CreateUser(context.Background(), admin, u, pw); err != nil {
		t.Fatal(err)
	}
	r := e.do("POST", "/v1/auth/login", schema.LoginRequest{Username: "asha", Password: pw, DeviceID: "tab-1"}, nil)
	var tr schema.TokenResponse
	r.decode(t, &tr)
	checkLease(t, "login", r, tr.ServerPublicKey, "tab-1", u.ID, clock.Now(), 2, 3)

	tag := ""
	r = e.do("POST", "/v1/sync/pull", schema.PullRequest{RulesTag: &tag}, bearer(tr.AccessToken))
	var page schema.PullResponse
	r.decode(t, &page)
	if bytes.Contains(page.Rules, []byte("offline_")) || page.RulesTag != srv.RulesTag() || page.RulesTag != policy.Tag(page.Rules) {
		t.Fatalf("the rules sent to the tablet (tag %q, server's %q): %s", page.RulesTag, srv.RulesTag(), page.Rules)
	}
	if p, err := policy.Parse(page.Rules); err != nil || p.Version != srv.Policy().Version {
		t.Fatalf("the rules sent do not parse back: %v", err)
	}
}
