package officerapp

import (
	"bytes"
	"context"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"doorstep/schema"
	"doorstep/syncer"
	"doorstep/syncer/localapi"
)

const goodPIN = "402781"

// signInWith posts the online sign-in form with extra fields.
func (b *browser) signInWith(extra url.Values) page {
	b.t.Helper()
	form := b.get("/app/signin?online=1")
	v := url.Values{"_pre": {form.token(preRE)}, "username": {officer.Username}, "password": {testPassword}}
	for k, x := range extra {
		v[k] = x
	}
	return b.post("/app/signin", v)
}

func (b *browser) unlockPIN(pin string) page {
	b.t.Helper()
	form := b.get("/app/signin")
	return b.post("/app/unlock/pin", url.Values{"_pre": {form.token(preRE)}, "pin": {pin}, "next": {"/app/today"}})
}

func TestAppPINSetAtSignInAndUnlock(t *testing.T) {
	t.Parallel()
	e := startApp(t)
	first := e.browser()
	steps := []struct {
		name       string
		before     func()
		do         func() page
		status     int
		path       string
		want, dont []string
	}{
		{name: "the sign-in form offers an optional PIN",
			do: func() page { return first.get("/app/signin") }, status: 200,
			want: []string{`for="f-pin"`, "PIN for unlocking this tablet (optional)", `for="f-pin_confirm"`, "not digits in a row like 123456"}},
		{name: "a weak PIN is refused next to the PIN, and nobody is signed in",
			do: func() page { return first.signInWith(url.Values{"pin": {"123456"}, "pin_confirm": {"123456"}}) }, status: 422, path: "/app/signin",
			want: []string{`id="f-pin-error"`, "A PIN of digits in a row (like 123456) is too easy to guess. Choose another."}, dont: []string{"Sam Doe"}},
		{name: "a short PIN is refused",
			do: func() page { return first.signInWith(url.Values{"pin": {"4027"}, "pin_confirm": {"4027"}}) }, status: 422,
			want: []string{`id="f-pin-error"`, "at least 6 digits"}},
		{name: "one digit repeated is refused",
			do: func() page { return first.signInWith(url.Values{"pin": {"777777"}, "pin_confirm": {"777777"}}) }, status: 422,
			want: []string{`id="f-pin-error"`, "one digit repeated"}},
		{name: "two different PINs are refused next to the second",
			do: func() page { return first.signInWith(url.Values{"pin": {goodPIN}, "pin_confirm": {"402782"}}) }, status: 422,
			want: []string{`id="f-pin_confirm-error"`, "The two PINs are not the same"}},
		{name: "a good PIN is set with the sign-in",
			do: func() page { return first.signInWith(url.Values{"pin": {goodPIN}, "pin_confirm": {goodPIN}}) }, status: 200, path: "/app/today",
			want: []string{"Sam Doe", "Your PIN is set"}},
		{name: "the unlock page offers the PIN first",
			before: func() { e.peer.down.Store(true) },
			do:     func() page { return e.browser().get("/app/today") }, status: 200,
			want: []string{"Unlock Doorstep", `action="/app/unlock/pin"`, "Unlock with PIN", "Or unlock with your password",
				`name="pin" type="password" value="" autocomplete="off" inputmode="numeric"`}},
		{name: "offline, the right PIN unlocks",
			do: func() page { return e.browser().unlockPIN(goodPIN) }, status: 200, path: "/app/today", want: []string{"Sam Doe"}},
		{name: "a wrong PIN is refused with the tries left",
			do: func() page { return e.browser().unlockPIN("913572") }, status: 401, path: "/app/unlock/pin",
			want: []string{`id="f-pin-error"`, "That PIN is not right. 4 tries left"}, dont: []string{"Sam Doe"}},
		{name: "an empty PIN is named",
			do: func() page { return e.browser().unlockPIN("") }, status: 422, want: []string{`id="f-pin-error"`, "Enter your PIN."}},
		{name: "the fifth wrong PIN turns the PIN off and says so",
			before: func() {
				for range 3 {
					e.browser().unlockPIN("913572")
				}
			},
			do: func() page { return e.browser().unlockPIN("913572") }, status: 403,
			want: []string{"Your PIN was wrong 5 times, so it is now turned off. Unlock with your password.", `id="pin-disabled-notice"`},
			dont: []string{`action="/app/unlock/pin"`}},
		{name: "then even the right PIN does not unlock",
			do: func() page {
				b := e.browser()
				form := b.get("/app/signin")
				return b.post("/app/unlock/pin", url.Values{"_pre": {form.token(preRE)}, "pin": {goodPIN}})
			}, status: 403, dont: []string{"Sam Doe"}},
		{name: "but the password does",
			do: func() page { return e.browser().signIn("/app/unlock", officer.Username, testPassword) }, status: 200, path: "/app/today",
			want: []string{"Sam Doe"}},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			if s.before != nil {
				s.before()
			}
			p := s.do()
			if p.status != s.status || (s.path != "" && p.path != s.path) {
				t.Fatalf("want %d at %s, got %d at %s:\n%s", s.status, s.path, p.status, p.path, p.body)
			}
			mustContain(t, p, s.want...)
			mustNotContain(t, p, s.dont...)
		})
	}
}

func TestAppPINPage(t *testing.T) {
	t.Parallel()
	e := startApp(t)
	b := e.browser()
	b.mustSignIn()
	p := b.get("/app/pin")
	mustContain(t, p, "No PIN is set.", "Set a PIN", `for="f-password"`, `for="f-pin"`)
	tok := p.token(csrfRE)
	for _, tc := range []struct {
		form        url.Values
		field, want string
	}{
		{url.Values{"pin": {goodPIN}, "pin_confirm": {goodPIN}}, "password", "Enter your password."},
		{url.Values{"password": {"wrong one"}, "pin": {goodPIN}, "pin_confirm": {goodPIN}}, "password", "The password is not right."},
		{url.Values{"password": {testPassword}, "pin": {"121212"}, "pin_confirm": {"121212"}}, "pin", "repeats a short pattern"},
		{url.Values{"password": {testPassword}, "pin": {"12ab56"}, "pin_confirm": {"12ab56"}}, "pin", "digits only"},
		{url.Values{"password": {testPassword}, "pin": {""}}, "pin", "Enter a PIN of 6 to 12 digits."},
	} {
		tc.form.Set("_csrf", tok)
		p := b.post("/app/pin", tc.form)
		if p.status != 422 {
			t.Fatalf("%v: want 422, got %d:\n%s", tc.form, p.status, p.body)
		}
		mustContain(t, p, `id="f-`+tc.field+`-error"`, tc.want)
		if st, _ := e.agent.PIN(context.Background()); st.Set {
			t.Fatalf("%v: a PIN was stored", tc.form)
		}
	}
	p = b.post("/app/pin", url.Values{"_csrf": {tok}, "password": {testPassword}, "pin": {goodPIN}, "pin_confirm": {goodPIN}})
	mustContain(t, p, "Your PIN is set.", "A PIN is set.", "Change your PIN", "Remove PIN")
	if _, _, err := e.agent.UnlockPIN(context.Background(), goodPIN); err != nil {
		t.Fatalf("the PIN set on the page does not unlock: %v", err)
	}
	// Without the session's token nothing changes.
	p = b.post("/app/pin/remove", url.Values{})
	if p.status != 403 {
		t.Fatalf("remove without a token: %d", p.status)
	}
	// Nor without the password, or with a wrong one.
	for _, tc := range []struct{ password, want string }{
		{"", "Enter your password to remove your PIN."},
		{"wrong one", "The password is not right."},
	} {
		p = b.post("/app/pin/remove", url.Values{"_csrf": {tok}, "remove_password": {tc.password}})
		if p.status != 422 {
			t.Fatalf("remove with password %q: want 422, got %d:\n%s", tc.password, p.status, p.body)
		}
		mustContain(t, p, `id="f-remove_password-error"`, tc.want, "A PIN is set.")
		if st, _ := e.agent.PIN(context.Background()); !st.Set {
			t.Fatalf("remove with password %q removed the PIN", tc.password)
		}
	}
	p = b.post("/app/pin/remove", url.Values{"_csrf": {tok}, "remove_password": {testPassword}})
	mustContain(t, p, "Your PIN is removed.", "No PIN is set.")
	if _, _, err := e.agent.UnlockPIN(context.Background(), goodPIN); schema.ErrorCode(err) != schema.ECodeForbidden {
		t.Fatalf("a removed PIN unlocks: %v", err)
	}
}

// TestAppPINSurvivesARestart: the PIN and its count of wrong tries live in
// the store, and the file holds neither the PIN nor the password.
func TestAppPINSurvivesARestart(t *testing.T) {
	t.Parallel()
	e := startApp(t)
	b := e.browser()
	b.signInWith(url.Values{"pin": {goodPIN}, "pin_confirm": {goodPIN}})
	e.browser().unlockPIN("913572")
	dir := filepath.Dir(e.agent.DB().Path())
	e.api.Close()
	e.agent.Close()
	a, err := syncer.Open(context.Background(), syncer.Config{DataDir: dir, ServerURL: e.peer.url, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	api := New(a, localapi.Config{Now: e.clock.Now})
	if err := api.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { api.Close() })
	e.agent, e.api = a, api
	p := e.browser().unlockPIN("913573")
	mustContain(t, p, "3 tries left")
	p = e.browser().unlockPIN(goodPIN)
	if p.path != "/app/today" {
		t.Fatalf("the PIN after a restart: %d at %s", p.status, p.path)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*"))
	for _, f := range files {
		raw, _ := os.ReadFile(f)
		if bytes.Contains(raw, []byte(goodPIN)) || bytes.Contains(raw, []byte(testPassword)) {
			t.Fatalf("%s holds the PIN or the password in clear", f)
		}
	}
}

// TestAppPINPasswordCountsAsAnUnlock: a wrong password on the PIN page
// counts toward the unlock's waits and lockout, and says so; the lockout
// ends the session and sends to the sign-in page.
func TestAppPINPasswordCountsAsAnUnlock(t *testing.T) {
	e := startApp(t)
	b := e.browser()
	b.mustSignIn()
	if err := e.agent.SetPIN(context.Background(), testPassword, goodPIN); err != nil {
		t.Fatal(err)
	}
	wrong := func(want ...string) page {
		t.Helper()
		tok := b.get("/app/pin").token(csrfRE)
		p := b.post("/app/pin/remove", url.Values{"_csrf": {tok}, "remove_password": {"wrong password"}})
		mustContain(t, p, want...)
		return p
	}
	wrong("The password is not right. 9 tries left before this tablet can only be opened by signing in online.")
	for range syncer.FreeUnlockFailures - 2 {
		wrong("The password is not right.")
	}
	wrong("5 tries left", "Wait 30 seconds before the next try.")
	wrong("Too many wrong passwords. Wait 30 seconds, then try again. Your password was not checked.")
	for i := syncer.FreeUnlockFailures + 1; i < syncer.MaxUnlockFailures; i++ {
		// Wait out the wait, using the app within its lock time.
		st, _ := e.agent.UnlockState(context.Background())
		for w := st.Wait; w > 0; w -= 4 * time.Minute {
			e.clock.Advance(min(w, 4*time.Minute))
			b.get("/app/today")
		}
		wrong("The password is not right.")
	}
	st, _ := e.agent.UnlockState(context.Background())
	for w := st.Wait; w > 0; w -= 4 * time.Minute {
		e.clock.Advance(min(w, 4*time.Minute))
		b.get("/app/today")
	}
	p := wrong("Sign in online")
	if p.path != pathSignIn {
		t.Fatalf("the lockout: want the sign-in page, got %d at %s", p.status, p.path)
	}
	if p := b.get("/app/today"); p.path == pathToday {
		t.Fatal("the session outlived the lockout")
	}
}
