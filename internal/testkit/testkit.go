// Package testkit is the helpers the tests share: a settable clock to inject
// where the code takes a Now func, WaitFor to await a condition with a
// deadline and a clear failure, and the headless Chromium that the browser
// tests drive. Only tests import it (deps_test.go holds that).
package testkit

import (
	"sync"
	"testing"
	"time"
)

// Clock is a settable clock, safe for concurrent use: it stands still until
// a test sets or advances it, so times and HLC stamps are ordered by the
// test, not by sleeping. Pass its Now method where a func() time.Time is
// asked for.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock is a clock that reads t.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// Now is the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Set moves the clock to t (backwards too: a tablet's clock may be wrong).
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// Advance moves the clock d forward and returns the new time.
func (c *Clock) Advance(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
	return c.t
}

// WaitFor polls cond until it holds, and fails the test when it still does
// not after timeout, saying what was awaited. The first check is at once;
// the polls start at 5 ms apart and slow to 100 ms.
func WaitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	if !poll(timeout, cond) {
		t.Fatalf("waited %s for %s; it did not happen", timeout, what)
	}
}

// poll is WaitFor's loop: whether cond held within timeout.
func poll(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	pause := 5 * time.Millisecond
	for {
		if cond() {
			return true
		}
		if !time.Now().Before(deadline) {
			return false
		}
		time.Sleep(min(pause, time.Until(deadline)))
		pause = min(2*pause, 100*time.Millisecond)
	}
}
