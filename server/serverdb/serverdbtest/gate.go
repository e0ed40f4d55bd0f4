package serverdbtest

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// EnvSuites is how many PostgreSQL runs of a suite (RerunOnPostgres) may
// run at once on this machine, over every test process: 2 unless set.
const EnvSuites = "DOORSTEP_TEST_PG_SUITES"

// DefaultSuites is EnvSuites unless set: as many as CI's plain pass runs
// at once on two cores (go test runs two packages at a time there), so
// that several go test ./... at once (sessions sharing a machine and its
// PostgreSQL) open no more connections than one (decision 0140).
const DefaultSuites = 2

// suites returns EnvSuites, or DefaultSuites when unset; a bad value
// fails t, naming the variable.
func suites(t testing.TB) int {
	t.Helper()
	v := os.Getenv(EnvSuites)
	if v == "" {
		return DefaultSuites
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		t.Fatalf("%s=%q: want a whole number of suites, at least 1", EnvSuites, v)
	}
	return n
}

// suiteSlot waits until fewer than EnvSuites PostgreSQL runs of a suite
// run on this machine and takes a place among them for t's life
// (takeSuiteSlot in os.TempDir()), logging how long it waited.
func suiteSlot(t testing.TB) {
	t.Helper()
	n := suites(t)
	start := time.Now()
	held, err := takeSuiteSlot(os.TempDir(), n)
	if err != nil {
		t.Fatalf("wait for a place among the PostgreSQL suites: %v", err)
	}
	if held == nil {
		return
	}
	t.Cleanup(func() { held.Close() })
	if wait := time.Since(start); wait > time.Second {
		t.Logf("waited %s for a place among the PostgreSQL suites (%s=%d at once on this machine)", wait.Round(time.Millisecond), EnvSuites, n)
	}
}

// takeSuiteSlot waits for one of n places and takes it: a lock on one of
// the files dir/doorstep-test-pg-suite-<i>.lock, i < n, which closing the
// file gives back, and the system when the process ends, however it
// ends. Where file locks are not had (lockFile), it answers nil at once.
func takeSuiteSlot(dir string, n int) (*os.File, error) {
	// Waiters queue on one lock; the waiter at its head takes a free
	// place, or waits for the first. It holds the queue while it waits,
	// so that the places go in turn; a place that frees while it waits
	// for another is taken by the next waiter.
	queue, err := lockFile(filepath.Join(dir, "doorstep-test-pg-suite-queue.lock"), true)
	if err != nil || queue == nil {
		return nil, err
	}
	defer queue.Close()
	for i := range n {
		held, err := lockFile(suiteLock(dir, i), false)
		if held != nil || err != nil {
			return held, err
		}
	}
	return lockFile(suiteLock(dir, 0), true)
}

func suiteLock(dir string, i int) string {
	return filepath.Join(dir, fmt.Sprintf("doorstep-test-pg-suite-%d.lock", i))
}
