package server

import (
	"encoding/json"
	"net"
	"net/http"
	"strconv"
	"testing"
	"time"

	"doorstep/schema"
)

// fromAddress is a client whose requests come from ip (a loopback address
// other than 127.0.0.1: another client, as the server sees it).
func fromAddress(ip string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	return &http.Client{Transport: &http.Transport{DialContext: d.DialContext}}
}

// restart closes the server and opens another on the same data folder.
func (e *env) restart(t *testing.T) {
	t.Helper()
	cfg := e.srv.cfg
	cfg.Addr = "127.0.0.1:0"
	if err := e.srv.Close(); err != nil {
		t.Fatal(err)
	}
	srv, err := Open(t.Context(), cfg)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	e.srv, e.url = srv, srv.URL()
}

// signInAs tries to sign username in with password and checks the answer's
// status, error message and Retry-After ("" for none).
func (e *env) signInAs(t *testing.T, what, username, password string, status int, message, retryAfter string) {
	t.Helper()
	r := e.do("POST", "/v1/auth/login", schema.LoginRequest{Username: username, Password: password, DeviceID: "dev-" + username}, nil)
	er := r.errorResponse()
	if r.status != status || er.Error.Message != message || r.header.Get("Retry-After") != retryAfter {
		t.Fatalf("%s: got %d %q Retry-After %q, want %d %q Retry-After %q", what, r.status, er.Error.Message,
			r.header.Get("Retry-After"), status, message, retryAfter)
	}
	if status == http.StatusTooManyRequests && (er.Error.Code != schema.ECodeRateLimited || er.Error.Field != "username") {
		t.Fatalf("%s: error %+v, want rate_limited on username", what, er.Error)
	}
}

// TestSignInWaitsGrowAndSurviveARestart: failed sign-ins are kept in the
// database (a restart forgets none), warn before the last free tries, then
// bring waits that double up to 15 minutes, never a lockout; a try during a
// wait is not checked; every failure and every wait is audited.
func TestSignInWaitsGrowAndSurviveARestart(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	const wrong = "not the password"
	e.signInAs(t, "failure 1", "asha", wrong, 401, "wrong username or password", "")
	e.signInAs(t, "failure 2", "asha", wrong, 401, "wrong username or password", "")
	e.signInAs(t, "failure 3", "asha", wrong, 401, "wrong username or password; 2 tries left before a wait", "")
	e.restart(t)
	e.signInAs(t, "failure 4, after a restart", "asha", wrong, 401, "wrong username or password; 1 try left before a wait", "")
	e.signInAs(t, "failure 5", "asha", wrong, 401, "wrong username or password; try again in 30 seconds", "30")
	// During the wait the password is not checked: the right one and a
	// wrong one answer alike, and neither is counted.
	e.signInAs(t, "right password during the wait", "asha", pw, 429, "too many failed sign-ins; try again in 30 seconds", "30")
	e.clock.Advance(10 * time.Second)
	e.signInAs(t, "wrong password during the wait", "asha", wrong, 429, "too many failed sign-ins; try again in 20 seconds", "20")
	e.clock.Advance(20 * time.Second)
	failures := 5
	for _, want := range []time.Duration{time.Minute, 2 * time.Minute, 4 * time.Minute, 8 * time.Minute, 15 * time.Minute, 15 * time.Minute} {
		failures++
		sec := strconv.Itoa(int(want / time.Second))
		e.signInAs(t, "failure "+strconv.Itoa(failures), "asha", wrong, 401, "wrong username or password; try again in "+humanMinutes(want), sec)
		e.clock.Advance(want - time.Second)
		e.signInAs(t, "a second early", "asha", pw, 429, "too many failed sign-ins; try again in 1 second", "1")
		e.clock.Advance(time.Second)
	}
	e.restart(t)
	e.signInAs(t, "the right password after the wait", "asha", pw, 200, "", "")
	// A success forgets the account's failures.
	e.signInAs(t, "a failure after the success", "asha", wrong, 401, "wrong username or password", "")

	ctx := t.Context()
	failed, err := e.srv.DB().AuditByAction(ctx, "sign_in_failed")
	if err != nil {
		t.Fatal(err)
	}
	if len(failed) != failures+1 {
		t.Fatalf("%d sign_in_failed events, want %d", len(failed), failures+1)
	}
	var d struct {
		Username, Addr, Via string
		Failures            int
	}
	if err := json.Unmarshal(failed[4].Detail, &d); err != nil {
		t.Fatal(err)
	}
	if failed[4].UserID != "" || failed[4].RecordID != e.users["asha"].ID || failed[4].DeviceID != "dev-asha" ||
		d.Username != "asha" || d.Addr != "127.0.0.1" || d.Via != "api" || d.Failures != 5 {
		t.Errorf("fifth failure audited as %+v %s", failed[4], failed[4].Detail)
	}
	throttled, err := e.srv.DB().AuditByAction(ctx, "sign_in_throttled")
	if err != nil {
		t.Fatal(err)
	}
	if len(throttled) != failures-4 {
		t.Fatalf("%d sign_in_throttled events, want %d (one per wait begun)", len(throttled), failures-4)
	}
	var w struct {
		WaitSeconds int      `json:"wait_seconds"`
		Counters    []string `json:"counters"`
	}
	if err := json.Unmarshal(throttled[len(throttled)-1].Detail, &w); err != nil {
		t.Fatal(err)
	}
	// Every try refused during a wait: two at the first wait, one a second
	// early at each of the six after.
	if locked, err := e.srv.DB().AuditByAction(ctx, "sign_in_locked"); err != nil || len(locked) != 8 {
		t.Errorf("%d sign_in_locked events (%v), want 8", len(locked), err)
	}
	if w.WaitSeconds != 900 || len(w.Counters) == 0 || w.Counters[0] != "account_address" {
		t.Errorf("last wait audited as %s", throttled[len(throttled)-1].Detail)
	}
}

func humanMinutes(d time.Duration) string {
	if d == time.Minute {
		return "1 minute"
	}
	return strconv.Itoa(int(d/time.Minute)) + " minutes"
}

// TestAnotherAddressSignsInAfterABoundedWait: someone guessing a password
// from one address makes that address wait up to 15 minutes, but the
// account's holder, from another address with the right password, waits
// at most MaxAccountSignInWait (a minute), then gets in
// (docs/decisions/0027-sign-in-waits-not-lockouts.md).
func TestAnotherAddressSignsInAfterABoundedWait(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for i := 1; i <= 12; i++ {
		r := e.do("POST", "/v1/auth/login", schema.LoginRequest{Username: "sue", Password: "a guess " + strconv.Itoa(i), DeviceID: "d1"}, nil)
		if r.status != 401 {
			t.Fatalf("guess %d: %d %s", i, r.status, r.body)
		}
		if ra := r.header.Get("Retry-After"); ra != "" && i < 12 {
			s, _ := strconv.Atoi(ra)
			e.clock.Advance(time.Duration(s) * time.Second)
		}
	}
	// The guesser's address waits 15 minutes now; the account, a minute.
	e.client = fromAddress("127.0.0.2")
	e.signInAs(t, "sue from elsewhere", "sue", pw, 429, "too many failed sign-ins; try again in 1 minute", "60")
	e.clock.Advance(time.Minute)
	e.signInAs(t, "sue from elsewhere, after the wait", "sue", pw, 200, "", "")
	e.client = nil
	e.signInAs(t, "the guesser's address", "sue", pw, 429, "too many failed sign-ins; try again in 14 minutes", "840")
}
