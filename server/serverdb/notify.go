package serverdb

import (
	"context"
	"fmt"
	"hash/fnv"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
)

// "Changes waiting" wake-ups (docs/sync-protocol.md §7.3). A caller waits
// for the store to number a change after a cursor (WaitForChange: a pull
// that asked to wait); every write transaction that took change numbers
// wakes the waiters of its own process at once, and those of the other
// instances:
//
//   - on PostgreSQL, through LISTEN/NOTIFY: the write transaction itself
//     sends NOTIFY on the store's channel with its highest number, as its
//     last statement before the commit (writeSequence); PostgreSQL delivers
//     it at the commit, and not at all when the transaction rolls back, so
//     a listener never hears of a change it cannot read yet, nor misses
//     one whose writer stopped right after committing. Each instance
//     LISTENs on a connection of its own and wakes its waiters. The
//     channel is named after the schema, so stores in other schemas of the
//     database (the tests) do not wake each other. The writer lock already
//     orders the write transactions, so the lock PostgreSQL takes at the
//     commit of a notifying transaction adds no wait;
//   - on SQLite, whose instances share one machine, and on PostgreSQL
//     while the listening connection is down, by reading the sequence every
//     changesPoll while anyone waits.
//
// A NOTIFY missed (a listener that was reconnecting) is not looked for:
// the waits it would have ended end with their time (at most
// schema.MaxPullWait), or at the poll, and the next pull reads the change.
//
// Nothing is cached from a notification but the highest number: a waiter
// that wakes reads the store as any request does.
const (
	changesPoll = time.Second
	// changesRetry is the longest wait before connecting the listener
	// again after it failed.
	changesRetry = 10 * time.Second
)

// changeFeed is the highest change number this process knows of, and a
// channel closed (and replaced) each time it rises.
type changeFeed struct {
	mu   sync.Mutex
	seq  int64
	rise chan struct{}

	// on is set once startChanges has made the rest: the feed is used
	// only then (a write during Open comes before it).
	on        atomic.Bool
	waiters   atomic.Int64
	listening atomic.Bool // PostgreSQL: the LISTEN connection is up
	// channel is the NOTIFY channel (PostgreSQL), "" on SQLite.
	channel  string
	polls    atomic.Int64 // the sequence reads of the poller (tests)
	connects atomic.Int64 // the listener's connections made (tests)

	// ctx ends when the store closes: it stops the goroutines and
	// every wait.
	ctx  context.Context
	stop context.CancelFunc
	done sync.WaitGroup
}

// advance records seq as known and wakes the waiters if it is new.
func (f *changeFeed) advance(seq int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if seq > f.seq {
		f.seq = seq
		close(f.rise)
		f.rise = make(chan struct{})
	}
}

func (f *changeFeed) current() (int64, <-chan struct{}) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.seq, f.rise
}

// startChanges starts the feed's goroutines: the poller, and on
// PostgreSQL the listener. Open calls it once the pools are open. What
// fails here leaves the waits to the poller.
func (db *DB) startChanges(ctx context.Context) {
	f := &db.changes
	f.rise = make(chan struct{})
	f.ctx, f.stop = context.WithCancel(context.Background())
	if seq, err := db.MaxSeq(ctx); err == nil {
		f.seq = seq
	}
	if db.eng.name() == "postgres" {
		var schemaName string
		if err := db.r.QueryRowContext(ctx, `SELECT coalesce(current_schema(), '')`).Scan(&schemaName); err != nil {
			db.log.Warn("changes: no schema to name the NOTIFY channel after; other instances see changes at their next poll", "err", err)
		} else {
			f.channel = changesChannel(schemaName)
			f.done.Add(1)
			go db.listen()
		}
	}
	f.done.Add(1)
	go db.pollChanges()
	f.on.Store(true)
}

// stopChanges ends the feed's goroutines and every wait. Close calls it
// before it closes the pools.
func (db *DB) stopChanges() {
	if !db.changes.on.Load() {
		return
	}
	db.changes.stop()
	db.changes.done.Wait()
}

// changesChannel is the NOTIFY channel of the store in schema: an
// identifier of PostgreSQL's (at most 63 bytes, plain letters and digits).
func changesChannel(schema string) string {
	h := fnv.New32a()
	h.Write([]byte(schema))
	return fmt.Sprintf("doorstep_changes_%08x", h.Sum32())
}

// writeSequence writes t's highest change number to the sequence row and
// sends, in the same transaction, the NOTIFY that tells the other
// instances of it: update calls it last before the commit, which delivers
// the NOTIFY. On PostgreSQL with a channel the two are one statement (the
// UPDATE in a WITH, which PostgreSQL runs to completion whether or not
// the query reads it): one round trip, where they were two. It fails the
// transaction when either fails: a change the other instances would not
// hear of until their next poll is not committed.
func (db *DB) writeSequence(t *wtx) error {
	channel := db.changes.channel
	if channel == "" {
		if _, err := t.ExecContext(t.ctx, `UPDATE sequence SET value = ? WHERE id = 1`, t.seq); err != nil {
			return fmt.Errorf("write sequence: %w", err)
		}
		return nil
	}
	if _, err := t.ExecContext(t.ctx, `WITH s AS (UPDATE sequence SET value = ? WHERE id = 1) SELECT pg_notify(?, ?)`,
		t.seq, channel, strconv.FormatInt(t.seq, 10)); err != nil {
		return fmt.Errorf("write sequence and notify the other instances: %w", err)
	}
	return nil
}

// committed is told of each write transaction that committed: the
// waiters of this process wake at once (the other instances' wake with
// the NOTIFY the transaction sent).
func (db *DB) committed(t *wtx) {
	if t.seqUsed && db.changes.on.Load() {
		db.changes.advance(t.seq)
	}
}

// listen keeps a connection of its own LISTENing on the store's channel,
// connecting again when it drops, and moves the feed to each number
// notified. After each connect it reads the sequence, for the changes
// made while it was not listening.
func (db *DB) listen() {
	f := &db.changes
	defer f.done.Done()
	ctx := f.ctx
	retry := 100 * time.Millisecond
	for ctx.Err() == nil {
		err := db.listenOnce(ctx)
		f.listening.Store(false)
		if ctx.Err() != nil {
			return
		}
		db.log.Warn("changes: the LISTEN connection failed; polling the sequence until it is back", "err", err, "retry_in", retry)
		select {
		case <-ctx.Done():
			return
		case <-time.After(retry):
		}
		retry = min(2*retry, changesRetry)
	}
}

func (db *DB) listenOnce(ctx context.Context) error {
	f := &db.changes
	cfg, _, err := pgConfig(db.path)
	if err != nil {
		return err
	}
	// Named, so an operator can tell it in pg_stat_activity.
	cfg.RuntimeParams["application_name"] = "doorstep listen " + f.channel
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{f.channel}.Sanitize()); err != nil {
		return err
	}
	var seq int64
	if err := conn.QueryRow(ctx, `SELECT value FROM sequence WHERE id = 1`).Scan(&seq); err != nil {
		return err
	}
	f.advance(seq)
	f.connects.Add(1)
	f.listening.Store(true)
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		if seq, err := strconv.ParseInt(n.Payload, 10, 64); err == nil {
			f.advance(seq)
		}
	}
}

// pollChanges reads the sequence every changesPoll while anyone waits and
// no PostgreSQL listener is up.
func (db *DB) pollChanges() {
	f := &db.changes
	defer f.done.Done()
	t := time.NewTicker(changesPoll)
	defer t.Stop()
	for {
		select {
		case <-f.ctx.Done():
			return
		case <-t.C:
		}
		if f.waiters.Load() == 0 || f.listening.Load() {
			continue
		}
		f.polls.Add(1)
		ctx, cancel := context.WithTimeout(f.ctx, changesPoll)
		seq, err := db.MaxSeq(ctx)
		cancel()
		if err == nil {
			f.advance(seq)
		}
	}
}

// Waiting says how many calls of WaitForChange are waiting now.
func (db *DB) Waiting() int { return int(db.changes.waiters.Load()) }

// WaitForChange waits until the store has numbered a change after cursor
// (a cursor it issued), and says whether it has: false when ctx ended
// first or the store is closing. A change anywhere ends the wait, in the
// caller's scope or not: the caller reads what it may see, and waits again
// if it is nothing. A cursor this store did not issue is the pull's 400.
func (db *DB) WaitForChange(ctx context.Context, cursor string) (bool, error) {
	n, err := db.parseCursor(cursor)
	if err != nil {
		return false, err
	}
	f := &db.changes
	if !f.on.Load() {
		return false, nil
	}
	f.waiters.Add(1)
	defer f.waiters.Add(-1)
	for {
		seq, rise := f.current()
		if seq > n {
			return true, nil
		}
		select {
		case <-rise:
		case <-ctx.Done():
			return false, nil
		case <-f.ctx.Done():
			return false, nil
		}
	}
}
