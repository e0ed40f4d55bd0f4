package syncer

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"doorstep/internal/testkit"
	"doorstep/schema"
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
