package serverdb

import (
	"context"
	"fmt"
	"testing"
	"time"

	"doorstep/internal/testkit"
	"doorstep/schema"
)

// A wait for a change after a cursor ends when a change is numbered: at
// once for a write of this instance, and for a write of another instance
// on the same store (on PostgreSQL by its NOTIFY, not by polling); it
// ends unchanged with its context, or when the store closes.
func TestWaitForChange(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	other := f.secondInstance(t)
	head := func() string {
		seq, err := f.db.MaxSeq(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return f.db.formatCursor(seq)
	}

	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if ok, err := f.db.WaitForChange(short, head()); ok || err != nil {
		t.Fatalf("nothing written: %v, %v; want false when the context ends", ok, err)
	}
	behind := f.db.formatCursor(0)
	if ok, err := f.db.WaitForChange(ctx, behind); !ok || err != nil {
		t.Fatalf("a cursor behind the sequence: %v, %v; want true at once", ok, err)
	}
	if _, err := f.db.WaitForChange(ctx, "c:0000000000000000:1"); schema.AsError(err) == nil || schema.AsError(err).Field != "cursor" {
		t.Fatalf("a cursor of another epoch: %v; want invalid", err)
	}

	if IsPostgresURL(f.db.Path()) {
		testkit.WaitFor(t, 10*time.Second, "the LISTEN connection", f.db.changes.listening.Load)
	}
	for i, tc := range []struct {
		name   string
		writer *DB
		within time.Duration
	}{
		{"this instance", f.db, 2 * time.Second},
		{"another instance", other, 5 * time.Second},
	} {
		cursor := head()
		polls := f.db.changes.polls.Load()
		type result struct {
			ok  bool
			err error
		}
		done := make(chan result, 1)
		wctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		go func() {
			ok, err := f.db.WaitForChange(wctx, cursor)
			done <- result{ok, err}
		}()
		testkit.WaitFor(t, 5*time.Second, "the waiter to wait", func() bool { return f.db.changes.waiters.Load() == 1 })
		start := time.Now()
		id := schema.NewID()
		if err := tc.writer.Seed(ctx, f.admin, []schema.Record{caseRecord(id, fmt.Sprintf("W%06d", i+1), f.asha)}); err != nil {
			t.Fatal(err)
		}
		r := <-done
		cancel()
		took := time.Since(start)
		if !r.ok || r.err != nil || took > tc.within {
			t.Errorf("a change by %s: %v, %v after %v; want true within %v", tc.name, r.ok, r.err, took, tc.within)
		}
		if IsPostgresURL(f.db.Path()) && f.db.changes.polls.Load() != polls {
			t.Errorf("a change by %s on PostgreSQL: the poller read the sequence; want the wake-up from LISTEN/NOTIFY", tc.name)
		}
	}

	// Closing the store ends its waits.
	done := make(chan bool, 1)
	go func() {
		ok, _ := other.WaitForChange(ctx, other.formatCursor(mustSeq(t, other)))
		done <- ok
	}()
	testkit.WaitFor(t, 5*time.Second, "the waiter to wait", func() bool { return other.changes.waiters.Load() == 1 })
	other.Close()
	if ok := <-done; ok {
		t.Error("a wait ended by Close says true; want false")
	}
}

// secondInstance opens another store on the fixture's database, as a
// second server instance would; it is closed when the test ends.
func (f *fixture) secondInstance(t *testing.T) *DB {
	t.Helper()
	db, err := Open(context.Background(), f.db.Path(), Options{Now: f.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func mustSeq(t *testing.T, db *DB) int64 {
	t.Helper()
	seq, err := db.MaxSeq(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return seq
}

// TestListenerReconnects: on PostgreSQL, a LISTEN connection that drops
// (here ended by the server) is made again, and a change by another
// instance still wakes a waiter through it. SQLite has no listener.
func TestListenerReconnects(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	if !IsPostgresURL(f.db.Path()) {
		t.Skip("SQLite has no LISTEN connection; the PostgreSQL run of the suite tests it")
	}
	ctx := context.Background()
	other := f.secondInstance(t)
	testkit.WaitFor(t, 10*time.Second, "the LISTEN connection", func() bool { return f.db.changes.connects.Load() == 1 })
	var ended int
	if err := other.r.QueryRowContext(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = ?`,
		"doorstep listen "+f.db.changes.channel).Scan(&ended); err != nil || ended < 1 {
		t.Fatalf("end the listener's connection: %d ended, %v", ended, err)
	}
	testkit.WaitFor(t, 20*time.Second, "the listener to connect again", func() bool {
		return f.db.changes.connects.Load() == 2 && f.db.changes.listening.Load()
	})
	cursor := f.db.formatCursor(mustSeq(t, f.db))
	polls := f.db.changes.polls.Load()
	done := make(chan bool, 1)
	wctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	go func() {
		ok, _ := f.db.WaitForChange(wctx, cursor)
		done <- ok
	}()
	testkit.WaitFor(t, 5*time.Second, "the waiter to wait", func() bool { return f.db.Waiting() == 1 })
	id := schema.NewID()
	if err := other.Seed(ctx, f.admin, []schema.Record{caseRecord(id, "R000001", f.asha)}); err != nil {
		t.Fatal(err)
	}
	if ok := <-done; !ok || f.db.changes.polls.Load() != polls {
		t.Errorf("a change by another instance after the listener reconnected: woke %v, polls %d → %d; want woken by NOTIFY", ok, polls, f.db.changes.polls.Load())
	}
}

// TestNotifyIsCommitted: on PostgreSQL the NOTIFY that wakes the other
// instances is sent by the write transaction itself, delivered with its
// commit: an instance that writes and closes at once (a server stopped
// right after a push) still wakes another instance's waiter through
// LISTEN, with no poll. Sent after the commit, from a goroutine, the
// NOTIFY was lost when the store closed first.
func TestNotifyIsCommitted(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	if f.db.Engine() != "postgres" {
		t.Skip("SQLite has no NOTIFY; the PostgreSQL run of the suite tests it")
	}
	ctx := context.Background()
	testkit.WaitFor(t, 10*time.Second, "the LISTEN connection", f.db.changes.listening.Load)
	for i := range 5 {
		writer := f.secondInstance(t)
		cursor := f.db.formatCursor(mustSeq(t, f.db))
		polls := f.db.changes.polls.Load()
		done := make(chan bool, 1)
		wctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		go func() {
			ok, _ := f.db.WaitForChange(wctx, cursor)
			done <- ok
		}()
		testkit.WaitFor(t, 5*time.Second, "the waiter to wait", func() bool { return f.db.Waiting() == 1 })
		if err := writer.Seed(ctx, f.admin, []schema.Record{caseRecord(schema.NewID(), fmt.Sprintf("N%06d", i+1), f.asha)}); err != nil {
			t.Fatal(err)
		}
		writer.Close()
		ok := <-done
		cancel()
		if !ok || f.db.changes.polls.Load() != polls {
			t.Fatalf("round %d: a change by an instance that closed at once: woke %v, polls %d → %d; want woken by its NOTIFY",
				i+1, ok, polls, f.db.changes.polls.Load())
		}
	}
}
