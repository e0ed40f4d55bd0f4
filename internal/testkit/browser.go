package testkit

// The browser start-up: Debian's headless Chromium for the end-to-end tests
// (the officer app, the supervisors' dashboard) and the few steps they all
// need: run actions with a timeout and a useful failure, read text, and keep
// screenshots at both tablet sizes as test artifacts.
//
// Without chromium the tests skip, except under CI=true, where they fail:
// CI must run them (.ci/run installs the package).

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

// Sizes are the tablet viewports every screenshot is taken at: landscape
// and portrait.
var Sizes = [][2]int64{{1280, 800}, {800, 1280}}

// ChromiumPath finds Debian's chromium (or a chromium-browser); "" when
// there is none.
func ChromiumPath() string {
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

// RequireBrowser skips the test when chromium is missing or -short is set,
// and fails it instead when CI=true and chromium is missing; it skips it in
// a suite's PostgreSQL re-run (DOORSTEP_TEST_ENGINE=postgres). It returns
// the browser's path.
func RequireBrowser(t testing.TB) string {
	t.Helper()
	if os.Getenv("DOORSTEP_TEST_ENGINE") == "postgres" {
		// serverdbtest.RerunOnPostgres runs a package's suite a second
		// time on PostgreSQL (the variable is serverdbtest.EnvEngine): the
		// pages were driven in the first run, and their answers on
		// PostgreSQL are the HTTP tests' to check. Driving Chromium twice
		// only loaded CI's two cores until a page outlasted its budget.
		t.Skip("the browser tests run in the suite's SQLite run; its PostgreSQL run checks the same pages' answers over HTTP")
	}
	exe := ChromiumPath()
	if exe == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("CI=true but chromium is not installed: the browser tests must run in CI (install Debian's chromium package; .ci/run does)")
		}
		t.Skip("chromium is not installed (apt-get install chromium); skipping the browser test")
	}
	if testing.Short() {
		t.Skip("the browser test is not short; run without -short")
	}
	return exe
}

// ArtifactsDir is $DOORSTEP_ARTIFACTS/sub, or artifacts/sub at the
// repository root (git-ignored), created.
func ArtifactsDir(t testing.TB, sub string) string {
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
	dir = filepath.Join(dir, sub)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// Browser is one headless Chromium tab for one test.
type Browser struct {
	t     testing.TB
	Ctx   context.Context // the tab's context: pass it to chromedp.Run
	Base  string          // the URL Location trims
	Shots string          // where Shoot writes
	Tmp   string          // the browser's TMPDIR, a t.TempDir()
}

// StartBrowser runs Chromium (RequireBrowser first) with a fresh profile at 1280×800.
// base is the app's URL; screenshots go to ArtifactsDir(t, shots). The
// browser stops when the test ends, and a test that hangs is cut off after
// budget.
func StartBrowser(t testing.TB, base, shots string, budget time.Duration) *Browser {
	t.Helper()
	exe := RequireBrowser(t)
	// Chromium makes its own temporary folders (org.chromium.Chromium.*,
	// its profile's lock socket) in TMPDIR and, stopped by a signal as
	// chromedp stops it, leaves them: in the test's, they go with it.
	tmp := t.TempDir()
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.Env("TMPDIR="+tmp),
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
	ctx, cancel := chromedp.NewContext(actx)
	// budget is what the test takes on a quiet machine; CI's machine runs
	// the other packages' suites beside it (two cores shared by four test
	// binaries, PostgreSQL and Chromium), where a test took 95 s of 90.
	watchdog := time.AfterFunc(budget*loadFactor, cancel) // a hung browser fails the test, not the run
	t.Cleanup(func() { watchdog.Stop(); cancel(); cancelAlloc() })
	// The first run starts the browser, on the context that lives as long
	// as the test (a step's timeout must not stop the browser).
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	b := &Browser{t: t, Ctx: ctx, Base: base, Shots: ArtifactsDir(t, shots), Tmp: tmp}
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 800)); err != nil {
		t.Fatalf("viewport: %v", err)
	}
	return b
}

// loadFactor widens the browser's limits (the test's budget, a step's
// limit): they are there to fail a hung test, not a slow machine.
const loadFactor = 3

// Do runs steps with a 60-second limit; on failure it fails the test with
// the page's address and HTML.
func (b *Browser) Do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	sctx, cancel := context.WithTimeout(b.Ctx, loadFactor*20*time.Second)
	defer cancel()
	if err := chromedp.Do(sctx, steps...); err != nil {
		loc, _ := chromedp.Run(b.Ctx, chromedp.Location())
		html, _ := chromedp.Run(b.Ctx, chromedp.Evaluate[string]("document.documentElement.outerHTML"))
		b.t.Fatalf("%s: %v\nat %s:\n%s", what, err, loc, html)
	}
}

// NextPage runs steps that leave the page (a click on a link or a submit
// button) and waits until the page they lead to has loaded: the old
// document is marked before the steps, and the wait is over when the
// document has no mark and is complete. A click returns before the
// navigation it starts: a query right after it may find the old page, and
// a read of a node that the navigation then replaces fails at random ("No
// node with given id found"). A page that does not come within 60 seconds
// fails the test.
func (b *Browser) NextPage(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	b.Do(what+": mark the page", chromedp.Evaluate[chromedp.Void](`window.testkitOldPage = true`))
	b.Do(what, steps...)
	WaitFor(b.t, loadFactor*20*time.Second, what+": the next page to load", func() bool {
		// An evaluation cut off by the navigation fails: it is tried again.
		ctx, cancel := context.WithTimeout(b.Ctx, 2*time.Second)
		defer cancel()
		loaded, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`!window.testkitOldPage && document.readyState === "complete"`))
		return err == nil && loaded
	})
}

// Text is the visible text of the first element sel matches.
func (b *Browser) Text(sel string) string {
	b.t.Helper()
	s, err := chromedp.Run(b.Ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		b.t.Fatalf("text of %s: %v", sel, err)
	}
	return s
}

// Location is the page's address without Base.
func (b *Browser) Location() string {
	b.t.Helper()
	s, err := chromedp.Run(b.Ctx, chromedp.Location())
	if err != nil {
		b.t.Fatal(err)
	}
	return strings.TrimPrefix(s, b.Base)
}

// settle waits until the page has been laid out and painted at its new
// size: two animation frames (the first runs before the new size's paint,
// the second after it). The app has no CSS transitions to wait out.
var settle = chromedp.Evaluate[chromedp.Void](
	`new Promise(done => requestAnimationFrame(() => requestAnimationFrame(() => done())))`, chromedp.EvalAwaitPromise)

// Shoot saves the page at both tablet sizes as <name>-1280x800.png and
// <name>-800x1280.png, and goes back to landscape.
func (b *Browser) Shoot(name string) {
	b.t.Helper()
	for _, size := range Sizes {
		b.Do("viewport", chromedp.EmulateViewport(size[0], size[1]), settle)
		png, err := chromedp.Run(b.Ctx, chromedp.CaptureScreenshot())
		if err != nil {
			b.t.Fatalf("screenshot %s: %v", name, err)
		}
		file := filepath.Join(b.Shots, name+"-"+map[int64]string{1280: "1280x800", 800: "800x1280"}[size[0]]+".png")
		if err := os.WriteFile(file, png, 0o644); err != nil {
			b.t.Fatal(err)
		}
	}
	b.Do("viewport", chromedp.EmulateViewport(1280, 800))
}
