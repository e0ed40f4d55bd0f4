package testkit

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

func TestClock(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	c := NewClock(start)
	if got := c.Now(); !got.Equal(start) {
		t.Fatalf("Now = %v, want %v", got, start)
	}
	if got := c.Now(); !got.Equal(start) {
		t.Fatalf("a clock nobody moved moved: Now = %v, want %v", got, start)
	}
	if got := c.Advance(90 * time.Second); !got.Equal(start.Add(90 * time.Second)) {
		t.Fatalf("Advance(90s) = %v, want %v", got, start.Add(90*time.Second))
	}
	back := start.Add(-time.Hour)
	c.Set(back)
	if got := c.Now(); !got.Equal(back) {
		t.Fatalf("after Set, Now = %v, want %v", got, back)
	}
	var now func() time.Time = c.Now // the shape the code injects
	if !now().Equal(back) {
		t.Fatalf("Now as a func reads %v, want %v", now(), back)
	}
}

// TestClockConcurrent advances one clock from many goroutines; run with
// -race it also shows the clock is safe to share.
func TestClockConcurrent(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	c := NewClock(start)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 100 {
				c.Advance(time.Millisecond)
				_ = c.Now()
			}
		}()
	}
	wg.Wait()
	if got, want := c.Now(), start.Add(800*time.Millisecond); !got.Equal(want) {
		t.Fatalf("after 800 advances of 1 ms: %v, want %v", got, want)
	}
}

func TestWaitForReturnsOnceTheConditionHolds(t *testing.T) {
	t.Parallel()
	var n atomic.Int32
	go func() {
		time.Sleep(20 * time.Millisecond)
		n.Store(1)
	}()
	began := time.Now()
	WaitFor(t, 5*time.Second, "n to become 1", func() bool { return n.Load() == 1 })
	if d := time.Since(began); d > 2*time.Second {
		t.Errorf("WaitFor returned %s after the condition held", d)
	}
	calls := 0
	WaitFor(t, time.Second, "a condition that already holds", func() bool { calls++; return true })
	if calls != 1 {
		t.Errorf("a condition that holds at once was checked %d times, want 1", calls)
	}
}

// recorder is a testing.TB that records a failure or a skip and ends its
// goroutine, as the testing package would, without failing the test that
// runs it: so a helper's failure can be checked. Run the helper in a
// goroutine of its own.
type recorder struct {
	testing.TB
	msg     string
	skipped bool
}

func (r *recorder) Helper()                      {}
func (r *recorder) Fatal(args ...any)            { r.msg = fmt.Sprint(args...); runtime.Goexit() }
func (r *recorder) Fatalf(f string, args ...any) { r.msg = fmt.Sprintf(f, args...); runtime.Goexit() }
func (r *recorder) Skip(args ...any)             { r.skipped = true; runtime.Goexit() }
func (r *recorder) Skipf(f string, args ...any)  { r.skipped = true; runtime.Goexit() }

// run calls f with r in a goroutine and waits for it.
func (r *recorder) run(f func(testing.TB)) {
	done := make(chan struct{})
	go func() { defer close(done); f(r) }()
	<-done
}

func TestWaitForFailsSayingWhatWasAwaited(t *testing.T) {
	t.Parallel()
	r := &recorder{TB: t}
	began := time.Now()
	r.run(func(tb testing.TB) {
		WaitFor(tb, 60*time.Millisecond, "the badge to say synced", func() bool { return false })
	})
	if d := time.Since(began); d < 60*time.Millisecond || d > 2*time.Second {
		t.Errorf("WaitFor gave up after %s, want about 60 ms", d)
	}
	if want := "waited 60ms for the badge to say synced; it did not happen"; r.msg != want {
		t.Errorf("failure message %q, want %q", r.msg, want)
	}
}

// TestRequireBrowserWithoutChromium hides chromium (an empty PATH) and
// checks both answers: a skip, and a failure under CI=true.
func TestRequireBrowserWithoutChromium(t *testing.T) {
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		t.Skip("/usr/bin/chromium exists; chromium cannot be hidden from RequireBrowser")
	}
	t.Setenv("PATH", t.TempDir())
	t.Setenv("CI", "")
	r := &recorder{TB: t}
	r.run(func(tb testing.TB) { RequireBrowser(tb) })
	if !r.skipped || r.msg != "" {
		t.Errorf("without chromium: skipped %v, failure %q; want a skip", r.skipped, r.msg)
	}
	t.Setenv("CI", "true")
	r = &recorder{TB: t}
	r.run(func(tb testing.TB) { RequireBrowser(tb) })
	if r.skipped || !strings.Contains(r.msg, "CI=true but chromium is not installed") {
		t.Errorf("without chromium under CI=true: skipped %v, failure %q; want the failure", r.skipped, r.msg)
	}
}

// TestBrowser starts Chromium on a small page and runs each step the
// browser tests use.
func TestBrowser(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		if r.URL.Path == "/next" {
			// A slow next page with the same heading: the old page stays
			// on screen a while, and a read that does not wait reads it.
			time.Sleep(300 * time.Millisecond)
			fmt.Fprint(w, `<!doctype html><title>t</title><h1 id="h">The next page</h1>`)
			return
		}
		fmt.Fprint(w, `<!doctype html><title>t</title><h1 id="h">Hello, tablet</h1><a id="next" href="/next">next</a>`)
	}))
	defer srv.Close()
	br := StartBrowser(t, srv.URL, "testkit", 30*time.Second)
	br.Do("open the page", chromedp.Navigate(srv.URL+"/start"), chromedp.WaitVisible(chromedp.CSS("#h")))
	if got := br.Text("#h"); got != "Hello, tablet" {
		t.Errorf("Text(#h) = %q, want %q", got, "Hello, tablet")
	}
	if got := br.Location(); got != "/start" {
		t.Errorf("Location() = %q, want /start", got)
	}
	br.Shoot("page")
	// Chromium's own temporary folders are in the test's temp dir, which
	// goes when the test ends, not in /tmp, where they were left behind.
	if own, _ := filepath.Glob(filepath.Join(br.Tmp, "org.chromium.Chromium.*")); len(own) == 0 {
		entries, _ := os.ReadDir(br.Tmp)
		t.Errorf("the browser's TMPDIR %s holds %v; want Chromium's org.chromium.Chromium.* folder there", br.Tmp, entries)
	}
	for _, name := range []string{"page-1280x800.png", "page-800x1280.png"} {
		if st, err := os.Stat(filepath.Join(br.Shots, name)); err != nil || st.Size() == 0 {
			t.Errorf("screenshot %s: %v", name, err)
		}
	}
	br.NextPage("follow the link", chromedp.Click(chromedp.CSS("#next")))
	if got := br.Text("#h"); got != "The next page" {
		t.Errorf("after NextPage, Text(#h) = %q, want the next page's heading", got)
	}
	if got := br.Location(); got != "/next" {
		t.Errorf("after NextPage, Location() = %q, want /next", got)
	}
}
