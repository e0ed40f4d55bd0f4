package officerapp

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image/png"
	"regexp"
	"strings"
	"testing"

	"doorstep/internal/webui"
)

// TestManifestAndIcons: the manifest answers without a session, as JSON of
// its own type, names the app, its start page and scope, standalone
// display and the header's colour (the theme colour in app.css), and every
// icon it lists is a PNG of the size it claims, 192 and 512 among them.
func TestManifestAndIcons(t *testing.T) {
	t.Parallel()
	e := startApp(t)
	b := e.browser() // no session
	p := b.get("/app/static/manifest.webmanifest")
	if p.status != 200 || p.header.Get("Content-Type") != "application/manifest+json" {
		t.Fatalf("manifest: %d %q", p.status, p.header.Get("Content-Type"))
	}
	var m struct {
		Name, ShortName, StartURL, Scope, Display, ThemeColor string
		Icons                                                 []struct{ Src, Sizes, Type, Purpose string }
	}
	dec := json.NewDecoder(strings.NewReader(strings.NewReplacer("short_name", "shortname", "start_url", "starturl", "theme_color", "themecolor").Replace(p.body)))
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("manifest is not JSON: %v\n%s", err, p.body)
	}
	css := b.get("/app/static/app.css").body
	header := regexp.MustCompile(`\.top \{ background: (#[0-9a-f]{6});`).FindStringSubmatch(css)
	if header == nil {
		t.Fatal("app.css: no .top background to compare the theme colour with")
	}
	if m.Name != "Doorstep" || m.StartURL != "/app/today" || m.Scope != "/app/" || m.Display != "standalone" || m.ThemeColor != header[1] {
		t.Errorf("manifest: %+v (the header's colour is %s)", m, header[1])
	}
	sizes := map[string]bool{}
	for _, ic := range m.Icons {
		r := b.get(ic.Src)
		if r.status != 200 || r.header.Get("Content-Type") != "image/png" || ic.Type != "image/png" {
			t.Fatalf("icon %s: %d %q", ic.Src, r.status, r.header.Get("Content-Type"))
		}
		cfg, err := png.DecodeConfig(bytes.NewReader([]byte(r.body)))
		if err != nil {
			t.Fatalf("icon %s is not a PNG: %v", ic.Src, err)
		}
		var w, h int
		if _, err := fmt.Sscanf(ic.Sizes, "%dx%d", &w, &h); err != nil || cfg.Width != w || cfg.Height != h {
			t.Errorf("icon %s claims %s, is %dx%d", ic.Src, ic.Sizes, cfg.Width, cfg.Height)
		}
		sizes[ic.Sizes] = true
	}
	if !sizes["192x192"] || !sizes["512x512"] {
		t.Errorf("icons: want 192x192 and 512x512, got %v", sizes)
	}
	// Every page links the manifest.
	mustContain(t, b.get("/app/signin"), `<link rel="manifest" href="/app/static/manifest.webmanifest">`)
}

// TestServiceWorkerKeepsTheShellOnly: the worker answers without a session
// as JavaScript under /app/ (its scope, with no Service-Worker-Allowed
// header needed), and what it keeps is the shell: files under
// /app/static/ that answer without a session, the offline page among
// them; no page, nothing of the local API. Its cache name changes with the
// shell.
func TestServiceWorkerKeepsTheShellOnly(t *testing.T) {
	t.Parallel()
	e := startApp(t)
	b := e.browser()
	p := b.get(pathWorker)
	if p.status != 200 || !strings.HasPrefix(p.header.Get("Content-Type"), "text/javascript") {
		t.Fatalf("sw.js: %d %q", p.status, p.header.Get("Content-Type"))
	}
	if p.header.Get("Content-Security-Policy") == "" || p.header.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("sw.js lacks the app's security headers: %v", p.header)
	}
	m := regexp.MustCompile(`var SHELL = \[([^\]]*)\];`).FindStringSubmatch(p.body)
	if m == nil {
		t.Fatalf("no SHELL list in the worker:\n%s", p.body)
	}
	var kept []string
	if err := json.Unmarshal([]byte("["+m[1]+"]"), &kept); err != nil {
		t.Fatalf("SHELL: %v", err)
	}
	if len(kept) < 5 {
		t.Fatalf("the worker keeps too little: %v", kept)
	}
	for _, k := range kept {
		if !strings.HasPrefix(k, "/app/static/") {
			t.Errorf("the worker keeps %s, which is not a static file of the shell", k)
		}
		if r := b.get(k); r.status != 200 || r.path != k {
			t.Errorf("shell file %s: %d at %s without a session", k, r.status, r.path)
		}
	}
	for _, bad := range []string{"caches.put", "cache.put", "/v1"} {
		if strings.Contains(p.body, bad) {
			t.Errorf("the worker mentions %q: it must keep the shell only, added at install", bad)
		}
	}
	if !strings.Contains(p.body, `var OFFLINE = '`+pathOffline+`'`) || !strings.Contains(strings.Join(kept, " "), pathOffline) {
		t.Errorf("the worker does not keep and serve the offline page")
	}
	off := b.get(pathOffline)
	mustContain(t, off, "Doorstep is not running on this tablet", "Restart the tablet", "doorstep device", "call IT", `href="/app/static/app.css"`)

	// Another shell, another cache: a new build replaces the old copy.
	static := webui.MustReadStatic(webFS, "web/static")
	tmpl, _ := webFS.ReadFile("web/sw.js")
	a := addInstallable(static, tmpl)
	static.Add("app.css", []byte("body{}"))
	if c := addInstallable(static, tmpl); bytes.Equal(a, c) {
		t.Error("the worker's script did not change with the stylesheet: browsers would keep the old shell")
	}
	if !bytes.Contains(a, []byte("var CACHE = 'doorstep-shell-")) {
		t.Errorf("the worker's cache is not named after the shell:\n%s", a)
	}
}
