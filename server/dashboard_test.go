package server

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// browser is a cookie-keeping HTTP client of the dashboard, which does
// not follow redirects (the tests look at them).
type browser struct {
	t    *testing.T
	e    *env
	c    *http.Client
	csrf string
}

type page struct {
	status int
	header http.Header
	body   string
}

func (e *env) browser(t *testing.T) *browser {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, e: e, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (b *browser) get(path string) page {
	b.t.Helper()
	res, err := b.c.Get(b.e.url + path)
	if err != nil {
		b.t.Fatalf("GET %s: %v", path, err)
	}
	return b.read(res)
}

func (b *browser) post(path string, form url.Values) page {
	b.t.Helper()
	res, err := b.c.PostForm(b.e.url+path, form)
	if err != nil {
		b.t.Fatalf("POST %s: %v", path, err)
	}
	return b.read(res)
}

func (b *browser) read(res *http.Response) page {
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		b.t.Fatal(err)
	}
	p := page{status: res.StatusCode, header: res.Header, body: string(body)}
	if m := csrfRE.FindStringSubmatch(p.body); m != nil {
		b.csrf = m[1]
	}
	return p
}

var (
	csrfRE = regexp.MustCompile(`name="_csrf" value="([^"]+)"`)
	preRE  = regexp.MustCompile(`name="_pre" value="([^"]+)"`)
)

// signIn fills the sign-in form as a person would.
func (b *browser) signIn(username, password string) page {
	b.t.Helper()
	p := b.get("/dashboard/signin")
	m := preRE.FindStringSubmatch(p.body)
	if p.status != 200 || m == nil {
		b.t.Fatalf("sign-in page: %d %s", p.status, p.body)
	}
	return b.post("/dashboard/signin", url.Values{"_pre": {m[1]}, "username": {username}, "password": {password}, "next": {"/dashboard/"}})
}

// signedIn is a browser signed in as username.
func (e *env) signedIn(t *testing.T, username string) *browser {
	t.Helper()
	b := e.browser(t)
	if p := b.signIn(username, pw); p.status != 303 || p.header.Get("Location") != "/dashboard/" {
		t.Fatalf("sign in as %s: %d %s %s", username, p.status, p.header.Get("Location"), p.body)
	}
	return b
}

func mustStatus(t *testing.T, what string, p page, status int) {
	t.Helper()
	if p.status != status {
		t.Fatalf("%s: status %d, want %d\n%s", what, p.status, status, p.body)
	}
}

const period = "from=2026-09-01&to=2026-10-31"

func TestDashboardSignIn(t *testing.T) {
	e := newEnv(t)
	b := e.browser(t)
	p := b.get("/dashboard/")
	if p.status != 303 || !strings.HasPrefix(p.header.Get("Location"), "/dashboard/signin") {
		t.Fatalf("signed out: %d %s, want a redirect to the sign-in page", p.status, p.header.Get("Location"))
	}
	// A bad password: the page says so, and no session.
	p = b.signIn("sue", "wrong password")
	mustStatus(t, "bad password", p, 401)
	if !strings.Contains(p.body, "username or password is not right") {
		t.Errorf("bad password page does not say so:\n%s", p.body)
	}
	// An officer is sent to the tablet.
	p = b.signIn("asha", pw)
	mustStatus(t, "officer", p, 403)
	if !strings.Contains(p.body, "Officers use the Doorstep app on their tablet") {
		t.Errorf("officer refusal does not say where to go:\n%s", p.body)
	}
	// The sign-in form without its token.
	p = b.post("/dashboard/signin", url.Values{"username": {"sue"}, "password": {pw}})
	mustStatus(t, "sign-in without its token", p, 403)
	if p = b.get("/dashboard/"); p.status != 303 {
		t.Fatalf("a refused sign-in made a session: %d", p.status)
	}

	p = b.signIn("sue", pw)
	if p.status != 303 || p.header.Get("Location") != "/dashboard/" {
		t.Fatalf("sign in: %d %s", p.status, p.header.Get("Location"))
	}
	cookie := ""
	for _, c := range p.header.Values("Set-Cookie") {
		if strings.HasPrefix(c, dashCookie+"=") {
			cookie = c
		}
	}
	for _, want := range []string{"HttpOnly", "SameSite=Strict", "path=/dashboard", "expires="} {
		if !strings.Contains(strings.ToLower(cookie), strings.ToLower(want)) {
			t.Errorf("session cookie %q lacks %s", cookie, want)
		}
	}
	p = b.get("/dashboard/")
	mustStatus(t, "dashboard", p, 200)
	for _, want := range []string{"Compliance dashboard", "Team A", "First home visit on time", "Overdue visits", "Contacts in the home", "Safeguarding enquiries answered", "<svg"} {
		if !strings.Contains(p.body, want) {
			t.Errorf("dashboard lacks %q", want)
		}
	}
	if csp := p.header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("CSP = %q", csp)
	}
	if strings.Contains(p.body, "http://") || strings.Contains(p.body, "https://") {
		t.Errorf("the page refers to another site")
	}
	// The session cookie is no API token, and an API token is no session.
	u, _ := url.Parse(e.url + "/dashboard/")
	var sessionValue string
	for _, c := range b.c.Jar.Cookies(u) {
		if c.Name == dashCookie {
			sessionValue = c.Value
		}
	}
	if r := e.do("GET", "/v1/me", nil, bearer(sessionValue)); r.status != 401 {
		t.Errorf("the session cookie worked as an API token: %d", r.status)
	}
	// Sign-out needs the CSRF token.
	p = b.post("/dashboard/signout", url.Values{"_csrf": {"forged"}})
	mustStatus(t, "sign-out with a forged token", p, 403)
	mustStatus(t, "still signed in", b.get("/dashboard/"), 200)
	p = b.post("/dashboard/signout", url.Values{"_csrf": {b.csrf}})
	if p.status != 303 || !strings.Contains(p.header.Get("Location"), "/dashboard/signin") {
		t.Fatalf("sign out: %d %s", p.status, p.header.Get("Location"))
	}
	if p = b.get("/dashboard/"); p.status != 303 {
		t.Errorf("signed out, but the dashboard answered %d", p.status)
	}
	// The old cookie, replayed, is refused too.
	old := e.browser(t)
	old.c.Jar.SetCookies(u, []*http.Cookie{{Name: dashCookie, Value: sessionValue, Path: "/dashboard"}})
	if p = old.get("/dashboard/"); p.status != 303 {
		t.Errorf("a signed-out session replayed: %d", p.status)
	}
}

func TestDashboardSignInRateLimit(t *testing.T) {
	e := newEnv(t)
	b := e.browser(t)
	for i := 0; i < maxUserFailures; i++ {
		mustStatus(t, "bad password", b.signIn("sue", "nope"), 401)
	}
	p := b.signIn("sue", pw)
	mustStatus(t, "after five failures", p, 429)
	if p.header.Get("Retry-After") == "" || !strings.Contains(p.body, "Too many failed sign-ins") {
		t.Errorf("rate limited page: %v\n%s", p.header, p.body)
	}
}
