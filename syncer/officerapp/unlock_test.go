package officerapp

import (
	"context"
	"encoding/json"
	"net/url"
	"path/filepath"
	"testing"
	"time"

	"doorstep/schema"
	"doorstep/syncer"
	"doorstep/syncer/localapi"
	"doorstep/syncer/localapi/localapitest"
)

// reopen restarts the agent and the app on the store in dir, on e.clock.
func (e *appEnv) reopen(dir string) {
	e.t.Helper()
	e.api.Close()
	e.agent.Close()
	a, err := syncer.Open(context.Background(), syncer.Config{DataDir: dir, ServerURL: e.peer.url, Timeout: 5 * time.Second, Now: e.clock.Now})
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { a.Close() })
	api := New(a, localapi.Config{Now: e.clock.Now})
	if err := api.Start(); err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { api.Close() })
	e.agent, e.api = a, api
}

func (b *browser) unlockWith(password string) page {
	b.t.Helper()
	form := b.get("/app/signin")
	return b.post("/app/unlock", url.Values{"_pre": {form.token(preRE)}, "username": {officer.Username}, "password": {password}, "next": {"/app/today"}})
}

// TestAppUnlockLimitsWrongPasswords: the unlock page says the tries left
// after each wrong password, and from the fifth how long to wait; a try
// during the wait is refused unchecked; a right password resets the count;
// the count survives a restart; the tenth wrong password ends every
// session and turns the page into the online sign-in, saying the unsent
// change is kept; the online sign-in sends it.
func TestAppUnlockLimitsWrongPasswords(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := startApp(t)
	officerTab := e.browser()
	officerTab.mustSignIn()
	e.peer.down.Store(true)
	if _, err := e.agent.Put(ctx, "household_member", "", e.plain, map[string]json.RawMessage{
		"relation": json.RawMessage(`"lodger"`), "residence": json.RawMessage(`"lives_here"`), "name": json.RawMessage(`"Lee Unsent"`)}); err != nil {
		t.Fatal(err)
	}
	b := e.browser()

	p := b.unlockWith("wrong password")
	if p.status != 401 || p.path != "/app/unlock" {
		t.Fatalf("wrong password: %d at %s", p.status, p.path)
	}
	mustContain(t, p, `id="f-password-error"`, "The username or password is not right. 9 tries left before this tablet can only be opened by signing in online.")
	mustNotContain(t, p, "Sam Doe", "Wait ")
	mustContain(t, b.get("/app/signin"), `id="unlock-notice"`, "The password was typed wrong 1 time. 9 tries left")
	if p := b.unlockWith(testPassword); p.path != "/app/today" {
		t.Fatalf("the right password: %d at %s", p.status, p.path)
	}
	if st, _ := e.agent.UnlockState(ctx); st.Failures != 0 {
		t.Fatalf("the right password did not reset the count: %+v", st)
	}

	b = e.browser()
	for range syncer.FreeUnlockFailures - 1 {
		b.unlockWith("wrong password")
	}
	p = b.unlockWith("wrong password")
	mustContain(t, p, "5 tries left before this tablet can only be opened by signing in online. Wait 30 seconds before the next try.")
	p = b.unlockWith(testPassword)
	if p.status != 429 || p.path != "/app/unlock" {
		t.Fatalf("the right password during the wait: %d at %s", p.status, p.path)
	}
	mustContain(t, p, "Too many wrong passwords. Wait 30 seconds (until ", "Your password was not checked. 5 tries left")
	mustNotContain(t, p, "Sam Doe")
	mustContain(t, b.get("/app/signin"), `id="unlock-notice"`, "Too many wrong passwords: the next try must wait until ", "(30 seconds from now). 5 tries left")

	// A restart keeps the count and the wait.
	e.reopen(filepath.Dir(e.agent.DB().Path()))
	b = e.browser()
	if p := b.unlockWith("wrong password"); p.status != 429 {
		t.Fatalf("the restart ended the wait: %d", p.status)
	}
	e.clock.Advance(30 * time.Second)
	mustContain(t, b.unlockWith("wrong password"), "4 tries left", "Wait 1 minute before the next try.")

	// The restart forgot the officer's session; open one again, to see the
	// lockout end it.
	e.clock.Advance(time.Minute)
	officerTab = e.browser()
	if p := officerTab.unlockWith(testPassword); p.path != "/app/today" {
		t.Fatalf("the right password after the wait: %d at %s", p.status, p.path)
	}
	for i := 1; i < syncer.MaxUnlockFailures; i++ {
		st, _ := e.agent.UnlockState(ctx)
		e.clock.Advance(st.Wait)
		b.unlockWith("wrong password")
	}
	st, _ := e.agent.UnlockState(ctx)
	e.clock.Advance(st.Wait)
	p = b.unlockWith("wrong password")
	if p.status != 403 || p.path != "/app/unlock" {
		t.Fatalf("the tenth wrong password: %d at %s", p.status, p.path)
	}
	mustContain(t, p, `id="unlock-notice"`, "The password was typed wrong too many times, so this tablet can no longer be unlocked here.",
		"Your 1 unsent change is kept on this tablet and will be sent after you sign in.", `action="/app/signin"`, `value="asha.officer"`)
	mustNotContain(t, p, `action="/app/unlock"`, "Unlock Doorstep", "Sign in online instead")
	if p := officerTab.get("/app/today"); p.path == "/app/today" {
		t.Fatal("the lockout left an open session")
	}
	if p := e.browser().unlockWith(testPassword); p.status != 403 || p.path == "/app/today" {
		t.Fatalf("the right password after the lockout: %d at %s", p.status, p.path)
	}
	mustContain(t, e.browser().get("/app/today"), "Sign in to Doorstep", "1 unsent change is kept")

	// Online again, the sign-in opens the tablet and sends the change.
	e.peer.down.Store(false)
	if p := e.browser().signIn("/app/signin", officer.Username, testPassword); p.path != "/app/today" {
		t.Fatalf("the online sign-in after the lockout: %d at %s:\n%s", p.status, p.path, p.body)
	}
	if _, err := e.agent.SyncOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if st, _ := e.agent.Status(ctx); st.Pending != 0 || st.Rejected != 0 {
		t.Fatalf("the unsent change was not sent: %+v", st)
	}
	if p := e.browser().unlockWith(testPassword); p.path != "/app/today" {
		t.Fatalf("unlock after the online sign-in: %d at %s", p.status, p.path)
	}
}

// TestAPIUnlockLimits: the JSON API says the tries left and the wait (also
// as Retry-After), refuses a try during the wait with rate_limited, and the
// lockout with forbidden; never a 500.
func TestAPIUnlockLimits(t *testing.T) {
	t.Parallel()
	e := startApp(t)
	c := localapitest.Client{T: t, Base: e.api.URL()}
	if st, out, _ := c.Do("POST", "/v1/login", map[string]string{"username": officer.Username, "password": testPassword}, nil); st != 200 {
		t.Fatalf("login: %d %v", st, out)
	}
	wrong := map[string]string{"username": officer.Username, "password": "wrong password"}
	right := map[string]string{"username": officer.Username, "password": testPassword}
	unlockOf := func(out map[string]any) map[string]any {
		u, _ := out["unlock"].(map[string]any)
		return u
	}
	st, out, _ := c.Do("POST", "/v1/unlock", wrong, nil)
	if code, _ := localapitest.ErrCode(out); st != 401 || code != schema.ECodeUnauthorized || unlockOf(out)["failures"] != float64(1) || unlockOf(out)["left"] != float64(9) {
		t.Fatalf("wrong password: %d %v", st, out)
	}
	if st, out, _ := c.Do("GET", "/v1/unlock", nil, nil); st != 200 || out["failures"] != float64(1) || out["wait_seconds"] != float64(0) {
		t.Fatalf("GET /v1/unlock: %d %v", st, out)
	}
	st, out, _ = c.Do("POST", "/v1/unlock", right, nil)
	if st != 200 || out["user"] == nil || unlockOf(out)["failures"] != float64(0) || out["token"] == nil {
		t.Fatalf("right password: %d %v", st, out)
	}
	session := localapitest.Client{T: t, Base: c.Base, Token: out["token"].(string)}
	for range syncer.FreeUnlockFailures - 1 {
		c.Do("POST", "/v1/unlock", wrong, nil)
	}
	st, out, hdr := c.Do("POST", "/v1/unlock", wrong, nil)
	if st != 401 || unlockOf(out)["wait_seconds"] != float64(30) || hdr.Get("Retry-After") != "30" {
		t.Fatalf("fifth wrong password: %d %v %v", st, out, hdr)
	}
	st, out, hdr = c.Do("POST", "/v1/unlock", right, nil)
	if code, field := localapitest.ErrCode(out); st != 429 || code != schema.ECodeRateLimited || field != "password" || hdr.Get("Retry-After") != "30" ||
		unlockOf(out)["failures"] != float64(5) || unlockOf(out)["left"] != float64(5) || out["user"] != nil {
		t.Fatalf("right password during the wait: %d %v %v", st, out, hdr)
	}
	for i := syncer.FreeUnlockFailures + 1; i <= syncer.MaxUnlockFailures; i++ {
		_, us, _ := c.Do("GET", "/v1/unlock", nil, nil)
		e.clock.Advance(time.Duration(us["wait_seconds"].(float64)) * time.Second)
		st, out, _ = c.Do("POST", "/v1/unlock", wrong, nil)
	}
	if code, _ := localapitest.ErrCode(out); st != 403 || code != schema.ECodeForbidden || unlockOf(out)["locked_out"] != true || unlockOf(out)["erased"] != true {
		t.Fatalf("tenth wrong password: %d %v", st, out)
	}
	if st, out, _ := c.Do("POST", "/v1/unlock", right, nil); st != 403 || unlockOf(out)["locked_out"] != true {
		t.Fatalf("right password after the lockout: %d %v", st, out)
	}
	if st, out, _ := c.Do("GET", "/v1/unlock", nil, nil); st != 200 || out["locked_out"] != true {
		t.Fatalf("GET /v1/unlock after the lockout: %d %v", st, out)
	}
	// The lockout ended the session the right password opened.
	if st, out, _ := session.Do("GET", "/v1/status", nil, nil); st != 401 {
		t.Fatalf("a session after the lockout: %d %v", st, out)
	}
	if st, err := e.agent.Status(context.Background()); err != nil || st.User != nil || st.SignedIn {
		t.Fatalf("status after the lockout: %+v %v", st, err)
	}
}
