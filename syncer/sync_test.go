package syncer

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"doorstep/internal/testkit"
	"doorstep/schema"
	"doorstep/syncer/devicedb"
)

func TestBackoffHasFullJitterAndCaps(t *testing.T) {
	t.Parallel()
	highest := func(n int64) int64 { return n - 1 }
	want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second}
	for i, w := range want {
		if got := backoff(i+1, highest); got != w {
			t.Errorf("attempt %d: ceiling want %v, got %v", i+1, w, got)
		}
	}
	for _, attempt := range []int{10, 11, 30, 1000} {
		if got := backoff(attempt, highest); got != 5*time.Minute {
			t.Errorf("attempt %d: want the 5 min cap, got %v", attempt, got)
		}
	}
	if got := backoff(5, func(int64) int64 { return 0 }); got != 0 {
		t.Errorf("full jitter reaches 0, got %v", got)
	}
	seen := map[time.Duration]bool{}
	for i := 0; i < 200; i++ {
		d := backoff(6, rand.Int64N)
		if d < 0 || d > 32*time.Second {
			t.Fatalf("attempt 6: %v outside [0, 32s]", d)
		}
		seen[d] = true
	}
	if len(seen) < 150 {
		t.Fatalf("backoff is not jittered: %d distinct waits in 200", len(seen))
	}
}

func TestRunSyncsInBackgroundAndOnSyncNow(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	p := newPeer(t)
	a := newAgent(t, p, func(c *Config) { c.Interval = time.Hour })
	caseID := schema.NewID()
	seed(t, a, p, caseRecord(caseID))
	done := make(chan error)
	go func() { done <- a.Run(ctx) }()
	writeVisits(t, a, caseID, 1)
	a.SyncNow()
	testkit.WaitFor(t, 5*time.Second, "Run to push after SyncNow", func() bool {
		st, _ := a.Status(context.Background())
		return st.Pending == 0 && !st.LastSyncAt.IsZero()
	})
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run returned %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
}

// TestRunFallsBackToTheIntervalWhenTheServerIgnoresWait: after a good sync
// the background pull asks the server to wait (PullWait, within the
// request timeout); the peer, like a server older than §7.3, answers at
// once with nothing, and Run then waits its interval rather than asking
// again and again. SyncNow still syncs at once.
func TestRunFallsBackToTheIntervalWhenTheServerIgnoresWait(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	p := newPeer(t)
	a := newAgent(t, p, func(c *Config) { c.Interval = time.Hour; c.Timeout = 20 * time.Second })
	pulls := func() []schema.PullRequest {
		p.mu.Lock()
		defer p.mu.Unlock()
		return append([]schema.PullRequest(nil), p.pulls...)
	}
	before := len(pulls()) // the sign-in's own
	done := make(chan error)
	go func() { done <- a.Run(ctx) }()
	testkit.WaitFor(t, 5*time.Second, "Run's first sync and its first waiting pull", func() bool { return len(pulls()) >= before+2 })
	a.SyncNow()
	testkit.WaitFor(t, 5*time.Second, "the sync SyncNow asked for", func() bool { return len(pulls()) >= before+3 })
	got := pulls()[before:]
	if len(got) != 3 {
		t.Fatalf("%d pulls against a server that ignores wait, want 3 (first sync, then one per wake-up): Run does not fall back to its interval", len(got))
	}
	for i, want := range []int{0, 15, 15} { // 5 s under the 20 s timeout
		if got[i].Wait != want {
			t.Errorf("pull %d asked wait %d, want %d", i+1, got[i].Wait, want)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run returned %v", err)
	}
}

func TestPullWaitStaysUnderTheTimeout(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		wait, timeout, want time.Duration
	}{
		{0, 0, 25 * time.Second},                          // the defaults: 25 s under 30 s
		{40 * time.Second, time.Minute, 25 * time.Second}, // at most schema.MaxPullWait
		{10 * time.Second, 0, 10 * time.Second},           // as asked
		{0, 12500 * time.Millisecond, 7 * time.Second},    // 5 s under the timeout, whole seconds
		{0, 5 * time.Second, 0},                           // no room: poll
		{-time.Second, 0, 0},                              // turned off
	} {
		cfg := Config{PullWait: c.wait, Timeout: c.timeout}
		cfg.defaults()
		a := &Agent{cfg: cfg, db: &devicedb.DB{}}
		if got := a.pullWait(); got != c.want {
			t.Errorf("PullWait %v, Timeout %v: pullWait() = %v, want %v", c.wait, c.timeout, got, c.want)
		}
	}
}

// TestNoOpSyncMakesNoWrite: a sync with nothing to send and an empty
// page back, its cursor unmoved, makes no write transaction on the
// tablet: not the page, not the lease the server sent again, and not the
// sync's time, which Status shows at once from memory. The time is
// written when lastSyncEvery has passed since the stored one, and at
// Close.
func TestNoOpSyncMakesNoWrite(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clock := testkit.NewClock(time.Now().UTC().Truncate(time.Millisecond))
	p := newPeer(t)
	p.now = clock.Now // no skew, so none to write
	dir := t.TempDir()
	a := newAgent(t, p, func(c *Config) { c.Now, c.DataDir = clock.Now, dir })
	caseID := schema.NewID()
	seed(t, a, p, caseRecord(caseID))
	if _, err := a.SyncOnce(ctx); err != nil {
		t.Fatal(err)
	}
	noop := func(what string, wantWrites int64) {
		t.Helper()
		p.mu.Lock()
		pulls := len(p.pulls)
		p.mu.Unlock()
		before := a.DB().WriteTransactions()
		rep, err := a.SyncOnce(ctx)
		if err != nil {
			t.Fatal(err)
		}
		p.mu.Lock()
		pulled := len(p.pulls) - pulls
		p.mu.Unlock()
		if got := a.DB().WriteTransactions() - before; got != wantWrites || rep.Requests != 1 || pulled != 1 {
			t.Fatalf("%s: %d write transactions, %d requests (%d pulls); want %d and one pull", what, got, rep.Requests, pulled, wantWrites)
		}
		st, err := a.Status(ctx)
		if err != nil || !st.LastSyncAt.Equal(clock.Now()) || st.LastError != "" {
			t.Fatalf("status after %s: last sync %v (%v), error %q; want %v and none", what, st.LastSyncAt, err, st.LastError, clock.Now())
		}
	}
	clock.Advance(10 * time.Second)
	noop("a no-op sync", 0)
	clock.Advance(lastSyncEvery)
	noop("a no-op sync a minute after the stored time", 1)
	clock.Advance(5 * time.Second)
	noop("the next no-op sync", 0)
	want := clock.Now()
	if err := a.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	b, err := Open(ctx, Config{DataDir: dir, ServerURL: p.URL(), AppVersion: "test", Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if st, err := b.Status(ctx); err != nil || !st.LastSyncAt.Equal(want) {
		t.Fatalf("after close and open: last sync %v (%v), want %v (written at close)", st.LastSyncAt, err, want)
	}
}

func TestPauseAfterGoodSync(t *testing.T) {
	t.Parallel()
	const interval = 30 * time.Second
	for _, c := range []struct {
		w    waited
		wait time.Duration
		want time.Duration
	}{
		{notWaited, 25 * time.Second, 0},          // the first sync, or one a SyncOnce came before: wait next
		{waitAnswered, 25 * time.Second, 0},       // the server held it or brought something
		{waitInterrupted, 25 * time.Second, 0},    // Sync now: the sync it asked for at once
		{waitIgnored, 25 * time.Second, interval}, // a server that ignores wait: poll
		{waitAnswered, 0, interval},               // pulls do not wait (PullWait off, or no room)
		{notWaited, 0, interval},
	} {
		if got := pauseAfterGoodSync(c.w, c.wait, interval); got != c.want {
			t.Errorf("pauseAfterGoodSync(%d, %v) = %v, want %v", c.w, c.wait, got, c.want)
		}
	}
}

// TestSyncStoresItsOutcomeWithItsLastPage: a sync that pushed, and whose
// pull then wrote a page, stores its outcome (the time of the last good
// sync, no error, the clock skew) in the transaction of its last page,
// not in one of its own after it: the answers' transaction and one per
// page, nothing more. A failed pull leaves the error stored as before.
func TestSyncStoresItsOutcomeWithItsLastPage(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clock := testkit.NewClock(time.Now().UTC().Truncate(time.Millisecond))
	p := newPeer(t)
	p.now = clock.Now
	a := newAgent(t, p, func(c *Config) { c.Now = clock.Now })
	caseID := schema.NewID()
	seed(t, a, p, caseRecord(caseID))
	stored := func() (at, lastErr string) {
		t.Helper()
		err := a.DB().View(ctx, func(tx *devicedb.Tx) error {
			var err error
			if at, err = tx.State(ctx, devicedb.KeyLastSyncAt); err != nil {
				return err
			}
			lastErr, err = tx.State(ctx, devicedb.KeyLastError)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return at, lastErr
	}
	for _, pages := range []int{1, 3} {
		clock.Advance(10 * time.Second)
		writeVisits(t, a, caseID, 5)
		p.mu.Lock()
		first := len(p.pulls)
		p.onPull = func(n int, req schema.PullRequest) (int, any) {
			k := n - first
			return 200, schema.PullResponse{Records: []schema.Record{}, Removed: []schema.Removal{},
				Cursor: fmt.Sprintf("after-%d-%d", pages, k), HasMore: k < pages, ServerTime: p.now()}
		}
		p.mu.Unlock()
		before, unsynced := a.DB().WriteTransactions(), a.DB().UnsyncedTransactions()
		rep, err := a.SyncOnce(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := a.DB().WriteTransactions()-before, int64(1+pages); got != want || rep.Pushed != 5 {
			t.Fatalf("a sync pushing 5 and pulling %d pages: %d write transactions (pushed %d), want %d: the answers' and one a page", pages, got, rep.Pushed, want)
		}
		// The pages, which the server can send again, are stored unsynced;
		// the answers, after which the outbox forgets what it sent, synced
		// (decision 0117).
		if got := a.DB().UnsyncedTransactions() - unsynced; got != int64(pages) {
			t.Fatalf("a sync pulling %d pages: %d unsynced write transactions, want one a page and not the answers'", pages, got)
		}
		if at, lastErr := stored(); at != formatTime(clock.Now()) || lastErr != "" {
			t.Fatalf("after %d pages: stored last sync %q, error %q; want %q and none", pages, at, lastErr, formatTime(clock.Now()))
		}
	}
	// A pull that fails stores the error (and keeps the last good time).
	good := formatTime(clock.Now())
	clock.Advance(10 * time.Second)
	writeVisits(t, a, caseID, 1)
	p.mu.Lock()
	p.onPull = func(int, schema.PullRequest) (int, any) {
		return 503, errBody(schema.ECodeUnavailable, "", "down for a moment")
	}
	p.mu.Unlock()
	if _, err := a.SyncOnce(ctx); err == nil {
		t.Fatal("a sync whose pull failed reported no error")
	}
	if at, lastErr := stored(); at != good || lastErr == "" {
		t.Fatalf("after a failed pull: stored last sync %q, error %q; want %q and the error", at, lastErr, good)
	}
}
