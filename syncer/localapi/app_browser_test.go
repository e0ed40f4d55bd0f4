package localapi

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// chromiumPath finds Debian's chromium (or a chromium-browser).
func chromiumPath() string {
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium"
	}
	return ""
}

// artifactsDir is $DOORSTEP_ARTIFACTS, or artifacts/ at the repository root
// (git-ignored).
func artifactsDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("DOORSTEP_ARTIFACTS")
	if dir == "" {
		wd, err := os.Getwd()
		if err != nil {
			t.Fatal(err)
		}
		for d := wd; ; d = filepath.Dir(d) {
			if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
				dir = filepath.Join(d, "artifacts")
				break
			}
			if filepath.Dir(d) == d {
				dir = filepath.Join(wd, "artifacts")
				break
			}
		}
	}
	dir = filepath.Join(dir, "officer-app")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestBrowserOfficerFlow drives the app in a real headless Chromium: sign
// in, Today, a case, a household member added (after a field error), the
// sync badge counting it, a visit started and autosaved, the badge offline
// and then synced. It saves screenshots at both tablet sizes.
func TestBrowserOfficerFlow(t *testing.T) {
	exe := chromiumPath()
	if exe == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("CI=true but chromium is not installed: the browser test must run in CI (install Debian's chromium package; .ci/run does)")
		}
		t.Skip("chromium is not installed (apt-get install chromium); skipping the browser test")
	}
	if testing.Short() {
		t.Skip("the browser test is not short; run without -short")
	}
	e := startApp(t)
	shots := artifactsDir(t)

	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(exe),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.Flag("lang", "en-GB"),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 800),
	)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	watchdog := time.AfterFunc(40*time.Second, cancel) // a hung browser fails the test, not the run
	defer watchdog.Stop()

	// The first run starts the browser, on the context that lives as long
	// as the test (a step's timeout must not stop the browser).
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	base := e.api.URL()
	do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		if err := chromedp.Do(sctx, steps...); err != nil {
			loc, _ := chromedp.Run(ctx, chromedp.Location())
			html, _ := chromedp.Run(ctx, chromedp.Evaluate[string]("document.documentElement.outerHTML"))
			t.Fatalf("%s: %v\nat %s:\n%s", what, err, loc, html)
		}
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return s
	}
	location := func() string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Location())
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimPrefix(s, base)
	}
	shoot := func(name string) {
		t.Helper()
		for _, size := range [][2]int64{{1280, 800}, {800, 1280}} {
			do("viewport", chromedp.EmulateViewport(size[0], size[1]), chromedp.Sleep(150*time.Millisecond))
			png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
			if err != nil {
				t.Fatalf("screenshot %s: %v", name, err)
			}
			file := filepath.Join(shots, name+"-"+map[int64]string{1280: "1280x800", 800: "800x1280"}[size[0]]+".png")
			if err := os.WriteFile(file, png, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		do("viewport", chromedp.EmulateViewport(1280, 800))
	}

	// Sign in.
	do("open the app", chromedp.EmulateViewport(1280, 800), chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.CSS("#f-username")))
	if h := text("h1"); h != "Sign in to Doorstep" {
		t.Fatalf("first page: %q", h)
	}
	shoot("01-sign-in")
	do("sign in",
		chromedp.SendKeys(chromedp.CSS("#f-username"), officer.Username),
		chromedp.SendKeys(chromedp.CSS("#f-password"), testPassword),
		chromedp.Click(chromedp.CSS("#signin-submit")),
		chromedp.WaitVisible(chromedp.CSS("ul.cases")))

	// Today.
	if got := location(); got != "/app/today" {
		t.Fatalf("after sign-in: %s", got)
	}
	cases := text("ul.cases")
	for _, want := range []string{"Sam Doe", "Alex Able", "RoSH: High", "Domestic abuse (perpetrator)", "1 visit planned today", "days overdue"} {
		if !strings.Contains(cases, want) {
			t.Fatalf("Today lacks %q: %s", want, cases)
		}
	}
	if strings.Index(cases, "Sam Doe") > strings.Index(cases, "Alex Able") {
		t.Fatal("Today does not put the most overdue case (the high-risk one) first")
	}
	if b := text("#sync-badge"); !strings.Contains(b, "Online") || !strings.Contains(b, "0 changes waiting") {
		t.Fatalf("badge: %s", b)
	}
	shoot("02-today")

	// A case.
	do("open the case", chromedp.Click(chromedp.CSS(`a[href="/app/cases/`+e.caseID+`"]`)), chromedp.WaitVisible(chromedp.CSS("#add-member")))
	if h := text("h1"); !strings.Contains(h, "Sam Doe") {
		t.Fatalf("case page: %q", h)
	}
	shoot("03-case")

	// Add a household member: first with no name, which is refused next to the field.
	do("open the member form", chromedp.Click(chromedp.CSS("#add-member")), chromedp.WaitVisible(chromedp.CSS("#save-member")))
	do("fill the form",
		chromedp.SetValue(chromedp.CSS("#f-relation"), "own_child"),
		chromedp.Click(chromedp.CSS("#f-residence-0")),
		chromedp.SetValue(chromedp.CSS("#f-date_of_birth"), "2025-09-14"),
		chromedp.Click(chromedp.CSS("#save-member")),
		chromedp.WaitVisible(chromedp.CSS("#f-name-error")))
	if msg := text("#f-name-error"); !strings.Contains(msg, "Give a name, or a description") {
		t.Fatalf("name error: %q", msg)
	}
	shoot("04-member-error")
	do("name the baby",
		chromedp.SendKeys(chromedp.CSS("#f-name"), "Leo Doe"),
		chromedp.Click(chromedp.CSS("#save-member")),
		chromedp.WaitVisible(chromedp.CSS(".flash")))
	if h := text("#household"); !strings.Contains(h, "Leo Doe") || !strings.Contains(h, "Waiting to be sent") {
		t.Fatalf("household after the add: %s", h)
	}
	if p := text("#badge-pending"); p != "1 change waiting to be sent" {
		t.Fatalf("badge pending: %q", p)
	}
	shoot("05-case-pending")

	// Record a visit: the draft saves itself while the officer types.
	do("start a visit", chromedp.Click(chromedp.CSS("#record-visit")), chromedp.WaitVisible(chromedp.CSS("#sign-visit")))
	do("answer", chromedp.SetValue(chromedp.CSS("#f-type"), "home_unannounced"),
		chromedp.Click(chromedp.CSS("#f-location-0")),
		chromedp.Sleep(100*time.Millisecond))
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(text("#autosave-status"), "Draft saved") {
		if time.Now().After(deadline) {
			t.Fatalf("no autosave: %q", text("#autosave-status"))
		}
		time.Sleep(200 * time.Millisecond)
	}
	shoot("06-visit-form")
	do("reload", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("#sign-visit")))
	if v, err := chromedp.Run(ctx, chromedp.Value(chromedp.CSS("#f-type"))); err != nil || v != "home_unannounced" {
		t.Fatalf("the draft did not survive a reload: %q %v", v, err)
	}

	// No signal: sync now says so and the changes stay; then it comes back.
	e.peer.down.Store(true)
	do("sync offline", chromedp.Click(chromedp.CSS("#sync-now")), chromedp.WaitVisible(chromedp.CSS(".flash")))
	if b := text("#sync-badge"); !strings.Contains(b, "Offline") || !strings.Contains(b, "changes waiting") {
		t.Fatalf("badge offline: %s", b)
	}
	shoot("07-offline")
	e.peer.down.Store(false)
	do("sync online", chromedp.Click(chromedp.CSS("#sync-now")), chromedp.Sleep(300*time.Millisecond))
	// The page comes back within 3 s; a sync still running by then shows
	// at the next page load.
	for deadline := time.Now().Add(15 * time.Second); ; {
		b := text("#sync-badge")
		if strings.Contains(b, "Online") && strings.Contains(b, "0 changes waiting") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("badge after sync: %s", b)
		}
		do("reload", chromedp.Sleep(300*time.Millisecond), chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("#sync-badge")))
	}
	shoot("08-synced")
	t.Logf("screenshots in %s", shots)
}
