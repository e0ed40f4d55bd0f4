package dashboard

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestCookiesSecureBehindAnHTTPSProxy: behind a proxy that says the
// scheme is https (X-Forwarded-Proto), every cookie the sign-in sets is
// Secure, so a browser never sends it over plain http; without that
// header (the server's own http, on loopback) they are not, or the
// browser would drop them.
func TestCookiesSecureBehindAnHTTPSProxy(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	noRedirect := func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	c := &http.Client{CheckRedirect: noRedirect}
	for _, proto := range []string{"https", ""} {
		do := func(req *http.Request) *http.Response {
			t.Helper()
			if proto != "" {
				req.Header.Set("X-Forwarded-Proto", proto)
			}
			res, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { res.Body.Close() })
			return res
		}
		req, _ := http.NewRequest("GET", e.url+"/dashboard/signin", nil)
		res := do(req)
		body, err := io.ReadAll(res.Body)
		if err != nil {
			t.Fatal(err)
		}
		m := preRE.FindStringSubmatch(string(body))
		if m == nil {
			t.Fatalf("%q: no sign-in token on the page", proto)
		}
		var pre *http.Cookie
		for _, ck := range res.Cookies() {
			if ck.Name == dashPreCookie {
				pre = ck
			}
		}
		if pre == nil || pre.Secure != (proto == "https") {
			t.Fatalf("X-Forwarded-Proto %q: the sign-in page's cookie %+v, want Secure %v", proto, pre, proto == "https")
		}
		form := url.Values{"_pre": {m[1]}, "username": {"sue"}, "password": {pw}, "next": {"/dashboard/"}}
		req, _ = http.NewRequest("POST", e.url+"/dashboard/signin", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.AddCookie(&http.Cookie{Name: pre.Name, Value: pre.Value})
		res = do(req)
		if res.StatusCode != http.StatusSeeOther {
			t.Fatalf("X-Forwarded-Proto %q: sign-in answered %d", proto, res.StatusCode)
		}
		var session *http.Cookie
		for _, ck := range res.Cookies() {
			if ck.Name == dashCookie {
				session = ck
			}
		}
		if session == nil || session.Secure != (proto == "https") || !session.HttpOnly {
			t.Fatalf("X-Forwarded-Proto %q: the session cookie %+v, want Secure %v and HttpOnly", proto, session, proto == "https")
		}
	}
}
