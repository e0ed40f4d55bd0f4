package webui

import (
	"html/template"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/gofiber/fiber/v2"

	"doorstep/schema"
)

// do sends req to app and returns the status, headers and body.
func do(t *testing.T, app *fiber.App, req *http.Request) (int, http.Header, string) {
	t.Helper()
	resp, err := app.Test(req, -1)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read the body: %v", err)
	}
	return resp.StatusCode, resp.Header, string(b)
}

var site = fstest.MapFS{
	"web/templates/layout.html": {Data: []byte(`{{define "layout"}}<title>{{.Title}}</title><main>{{template "body" .}}</main>{{end}}`)},
	"web/templates/hello.html":  {Data: []byte(`{{define "body"}}Hello, {{shout .Name}}{{end}}`)},
	"web/templates/broken.html": {Data: []byte(`{{define "body"}}half{{.Missing.Field}}{{end}}`)},
	"web/static/site.css":       {Data: []byte("main{}")},
	"web/static/js/app.js":      {Data: []byte("1;")},
}

func TestPagesRenderOverTheLayout(t *testing.T) {
	t.Parallel()
	pages := MustParsePages(site, "web/templates", template.FuncMap{"shout": strings.ToUpper}, "hello", "broken")
	type data struct{ Title, Name string }
	app := fiber.New()
	app.Get("/hello", func(c *fiber.Ctx) error {
		return pages.Render(c, fiber.StatusCreated, "hello", data{Title: "Hi", Name: "<ann>"})
	})
	var renderErr error
	app.Get("/broken", func(c *fiber.Ctx) error {
		renderErr = pages.Render(c, fiber.StatusOK, "broken", data{})
		return c.Status(fiber.StatusTeapot).SendString("error page")
	})
	app.Get("/missing", func(c *fiber.Ctx) error {
		renderErr = pages.Render(c, fiber.StatusOK, "missing", data{})
		return c.SendStatus(fiber.StatusTeapot)
	})

	status, hdr, body := do(t, app, httptest.NewRequest("GET", "/hello", nil))
	if status != fiber.StatusCreated || hdr.Get("Content-Type") != "text/html; charset=utf-8" {
		t.Errorf("expected 201 text/html; charset=utf-8, got %d %q", status, hdr.Get("Content-Type"))
	}
	if want := "<title>Hi</title><main>Hello, &lt;ANN&gt;</main>"; body != want {
		t.Errorf("expected the page over the layout, escaped:\n%s\ngot:\n%s", want, body)
	}

	// A template that fails halfway sends nothing of itself: the caller
	// answers instead.
	status, _, body = do(t, app, httptest.NewRequest("GET", "/broken", nil))
	if renderErr == nil || status != fiber.StatusTeapot || body != "error page" {
		t.Errorf("expected an error and only the caller's answer, got %v, %d %q", renderErr, status, body)
	}
	renderErr = nil
	do(t, app, httptest.NewRequest("GET", "/missing", nil))
	if renderErr == nil || !strings.Contains(renderErr.Error(), `"missing"`) {
		t.Errorf("expected an error naming the unknown page, got %v", renderErr)
	}
}

func TestStaticServesByNameWithContentType(t *testing.T) {
	t.Parallel()
	app := fiber.New()
	app.Get("/static/:name", MustReadStatic(site, "web/static").Serve)
	tests := []struct {
		name, wantType, wantBody string
		wantStatus               int
	}{
		{"site.css", "text/css; charset=utf-8", "main{}", 200},
		{"app.js", "text/javascript; charset=utf-8", "1;", 200}, // from a folder below, by its base name
		{"nope.css", "text/plain; charset=utf-8", "not found", 404},
	}
	for _, tt := range tests {
		status, hdr, body := do(t, app, httptest.NewRequest("GET", "/static/"+tt.name, nil))
		if status != tt.wantStatus || hdr.Get("Content-Type") != tt.wantType || body != tt.wantBody {
			t.Errorf("%s: expected %d %q %q, got %d %q %q", tt.name, tt.wantStatus, tt.wantType, tt.wantBody, status, hdr.Get("Content-Type"), body)
		}
		if status == 200 && hdr.Get("Cache-Control") != "no-cache" {
			t.Errorf("%s: expected Cache-Control no-cache, got %q", tt.name, hdr.Get("Cache-Control"))
		}
	}
}

func TestHeadersAreSet(t *testing.T) {
	t.Parallel()
	app := fiber.New()
	app.Use(Headers("default-src 'none'"))
	app.Get("/", func(c *fiber.Ctx) error { return c.SendString("ok") })
	_, hdr, _ := do(t, app, httptest.NewRequest("GET", "/", nil))
	want := map[string]string{
		"Content-Security-Policy": "default-src 'none'",
		"X-Content-Type-Options":  "nosniff",
		"Referrer-Policy":         "same-origin",
		"Cache-Control":           "no-store",
	}
	for k, v := range want {
		if got := hdr.Get(k); got != v {
			t.Errorf("%s: expected %q, got %q", k, v, got)
		}
	}
}

func TestCheckCSRFRefusesMissingAndForgedTokens(t *testing.T) {
	t.Parallel()
	const session = "right-token"
	app := fiber.New()
	app.All("/form", func(c *fiber.Ctx) error {
		if err := CheckCSRF(c, session, c.Query("header"), 64); err != nil {
			if IsCSRF(err) {
				return c.Status(fiber.StatusForbidden).SendString("csrf")
			}
			return c.Status(schema.HTTPStatus(schema.ErrorCode(err))).SendString(string(schema.ErrorCode(err)))
		}
		return c.SendString("done")
	})
	post := func(target, body string, hdr map[string]string) *http.Request {
		r := httptest.NewRequest("POST", target, strings.NewReader(body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		for k, v := range hdr {
			r.Header.Set(k, v)
		}
		return r
	}
	tests := []struct {
		name       string
		req        *http.Request
		wantStatus int
	}{
		{"a GET needs no token", httptest.NewRequest("GET", "/form", nil), 200},
		{"the session's token", post("/form", "_csrf="+session, nil), 200},
		{"no token", post("/form", "x=1", nil), 403},
		{"a forged token", post("/form", "_csrf=forged", nil), 403},
		{"an empty token", post("/form", "_csrf=", nil), 403},
		{"a token in a header the app does not read", post("/form", "x=1", map[string]string{"X-CSRF-Token": session}), 403},
		{"a token in the app's header", post("/form?header=X-CSRF-Token", "x=1", map[string]string{"X-CSRF-Token": session}), 200},
		{"a forged token in the app's header", post("/form?header=X-CSRF-Token", "x=1", map[string]string{"X-CSRF-Token": "forged"}), 403},
		{"a form over the bound", post("/form", "_csrf="+session+"&x="+strings.Repeat("a", 64), nil), 413},
	}
	for _, tt := range tests {
		if status, _, body := do(t, app, tt.req); status != tt.wantStatus {
			t.Errorf("%s: expected %d, got %d %q", tt.name, tt.wantStatus, status, body)
		}
	}
}

func TestCheckSignIn(t *testing.T) {
	t.Parallel()
	if err := CheckSignIn(url.Values{PreField: {"pre"}}, "pre"); err != nil {
		t.Errorf("matching tokens: expected no error, got %v", err)
	}
	for _, tt := range []struct{ form, cookie string }{{"", ""}, {"pre", ""}, {"", "pre"}, {"pre", "other"}} {
		if err := CheckSignIn(url.Values{PreField: {tt.form}}, tt.cookie); !IsCSRF(err) {
			t.Errorf("form %q, cookie %q: expected the CSRF refusal, got %v", tt.form, tt.cookie, err)
		}
	}
}

func TestTokensAreRandomAndLong(t *testing.T) {
	t.Parallel()
	a, b := Token(), Token()
	if len(a) != 64 || a == b {
		t.Errorf("expected two different 64-character tokens, got %q and %q", a, b)
	}
}

func TestSessionsLockWhenIdle(t *testing.T) {
	t.Parallel()
	const idle = 5 * time.Minute
	t0 := time.Date(2026, 3, 31, 9, 0, 0, 0, time.UTC)
	s := NewSessions[string]()
	a := s.Create("ann", t0, idle)
	if a.ID == "" || a.CSRF == "" || a.ID == a.CSRF || a.User != "ann" {
		t.Fatalf("expected a session for ann with its own id and CSRF token, got %+v", a)
	}
	if got, locked := s.Use(a.ID, t0.Add(idle), idle); got != a || locked {
		t.Fatalf("used after exactly the idle time: expected the session, got %v (locked %v)", got, locked)
	}
	// Each use starts the idle time again.
	if got, _ := s.Use(a.ID, t0.Add(2*idle), idle); got != a {
		t.Fatalf("used within the idle time of the last use: expected the session, got %v", got)
	}
	if got, locked := s.Use(a.ID, t0.Add(3*idle+time.Second), idle); got != nil || !locked {
		t.Fatalf("idle too long: expected no session and locked, got %v (locked %v)", got, locked)
	}
	if got, locked := s.Use(a.ID, t0.Add(3*idle+time.Second), idle); got != nil || locked {
		t.Errorf("after the lock: expected the session forgotten, got %v (locked %v)", got, locked)
	}
	if got, locked := s.Use("", t0, idle); got != nil || locked {
		t.Errorf("no cookie: expected nothing, got %v (locked %v)", got, locked)
	}

	// Create forgets idle sessions; Drop and DropAll end them.
	b := s.Create("bob", t0, idle)
	c := s.Create("cat", t0.Add(idle+time.Second), idle)
	if got, locked := s.Use(b.ID, t0.Add(idle+time.Second), time.Hour); got != nil || locked {
		t.Errorf("a session idle when another was created: expected it forgotten, got %v (locked %v)", got, locked)
	}
	s.Drop(c.ID)
	if got, _ := s.Use(c.ID, t0.Add(idle+time.Second), idle); got != nil {
		t.Errorf("after Drop: expected no session, got %v", got)
	}
	d := s.Create("dan", t0, idle)
	s.DropAll()
	if got, _ := s.Use(d.ID, t0, idle); got != nil {
		t.Errorf("after DropAll: expected no session, got %v", got)
	}
}

func TestFlashIsShownOnce(t *testing.T) {
	t.Parallel()
	s := NewSessions[string]()
	sess := s.Create("ann", time.Now(), time.Hour)
	s.SetFlash(nil, "ignored")
	s.SetFlash(sess, "Saved.")
	if got := s.TakeFlash(sess); got != "Saved." {
		t.Errorf("expected the flash, got %q", got)
	}
	if got := s.TakeFlash(sess); got != "" {
		t.Errorf("expected the flash gone after it was shown, got %q", got)
	}
}

func TestWithErrorPageAnswersErrorsAsPages(t *testing.T) {
	t.Parallel()
	errorPage := func(c *fiber.Ctx, err error) error {
		return c.Status(fiber.StatusNotFound).SendString("<p>" + schema.AsError(err).Message + "</p>")
	}
	app := fiber.New()
	app.Get("/fails", WithErrorPage(func(*fiber.Ctx) error { return schema.Errorf(schema.ECodeNotFound, "", "no such case") }, errorPage))
	app.Get("/works", WithErrorPage(func(c *fiber.Ctx) error { return c.SendString("case") }, errorPage))
	if status, _, body := do(t, app, httptest.NewRequest("GET", "/fails", nil)); status != 404 || body != "<p>no such case</p>" {
		t.Errorf("a failing page: expected the error page, got %d %q", status, body)
	}
	if status, _, body := do(t, app, httptest.NewRequest("GET", "/works", nil)); status != 200 || body != "case" {
		t.Errorf("a working page: expected it untouched, got %d %q", status, body)
	}
}
