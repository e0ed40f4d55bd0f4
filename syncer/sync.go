package syncer

import (
	"context"
	"errors"
	"math/rand/v2"
	"strconv"
	"sync"
	"time"

	"doorstep/schema"
	"doorstep/syncer/devicedb"
)

// SyncReport says what one sync did.
type SyncReport struct {
	Pushed     int           `json:"pushed"`     // mutations with an outcome
	Applied    int           `json:"applied"`    // of which applied
	Duplicates int           `json:"duplicates"` // already applied before (a retry)
	Conflicts  int           `json:"conflicts"`  // applied with some fields lost (kept as conflicts)
	Rejected   int           `json:"rejected"`   // set aside with a reason
	Pulled     int           `json:"pulled"`     // records received
	Removed    int           `json:"removed"`    // local records deleted by removals
	Requests   int           `json:"requests"`   // HTTP requests made (refreshes excluded)
	Duration   time.Duration `json:"duration"`
}

// SyncOnce pushes the outbox, then pulls changes. A push that fails as a
// whole keeps the outbox as it was; the pull still runs when the server
// answered (only a network failure skips it). The sync state (last sync,
// last error, clock skew) is stored either way.
//
// A background pull waiting for a change (Run) is ended first, so the sync
// starts at once.
func (a *Agent) SyncOnce(ctx context.Context) (SyncReport, error) {
	a.waitMu.Lock()
	a.foreground++
	if a.stopWait != nil {
		a.stopWait()
	}
	a.waitMu.Unlock()
	defer func() {
		a.waitMu.Lock()
		a.foreground--
		a.waitMu.Unlock()
	}()
	rep, _, err := a.syncOnce(ctx, 0)
	return rep, err
}

// syncOnce is SyncOnce whose pull asks the server to wait up to wait for a
// change (0: answer at once) when the push succeeded; it says how the wait
// ended.
func (a *Agent) syncOnce(ctx context.Context, wait time.Duration) (SyncReport, waited, error) {
	a.syncMu.Lock()
	defer a.syncMu.Unlock()
	start := time.Now()
	var rep SyncReport
	if !a.HoldsKey() {
		// The tokens are sealed: a locked tablet cannot sync. Its unsent
		// changes wait, sealed, for the next unlock (decision 0033).
		return rep, notWaited, ErrLocked
	}
	writes := a.db.WriteTransactions()
	w := notWaited
	settled := false // the pull's last page stored the sync's outcome
	// A pull that does not wait is sent while the push's last answers
	// are stored (push's handOff; pull waits for the store).
	pushed, err := a.push(ctx, &rep, wait == 0)
	if err == nil {
		w, settled, err = a.pull(ctx, &rep, wait, true, pushed)
	} else if asHTTPError(err) != nil && !errors.Is(err, ErrSignedOut) && !errors.Is(err, ErrDeviceRevoked) {
		_, _, perr := a.pull(ctx, &rep, 0, false, nil)
		err = errors.Join(err, perr)
	}
	rep.Duration = time.Since(start)
	if settled && err == nil {
		// Stored already, in the transaction of the page that ended it.
	} else if serr := a.finishSync(ctx, err, a.db.WriteTransactions() > writes); serr != nil {
		err = errors.Join(err, serr)
	}
	if err != nil {
		a.log.Warn("sync failed", "err", err, "requests", rep.Requests)
	} else {
		a.log.Debug("synced", "pushed", rep.Pushed, "pulled", rep.Pulled, "removed", rep.Removed, "took", rep.Duration)
	}
	return rep, w, err
}

// lastSyncEvery is how often, at most, a sync that wrote nothing else
// writes the time of the last good sync: a no-op sync (nothing to send,
// nothing new) is otherwise no write transaction on the tablet.
const lastSyncEvery = time.Minute

// skewSlack is how far the clock skew measured may move from the stored
// one before a sync that wrote nothing else writes it: it moves by a few
// milliseconds at every request.
const skewSlack = 1000 // ms

// lastSync is the outcome of the syncs as Status shows it, kept in
// memory, and what of it the store holds (sync_state's last_sync_at,
// last_error, clock_skew_ms), so that a sync whose outcome the store
// holds already writes nothing.
type lastSync struct {
	mu sync.Mutex
	at time.Time // the end of the last good sync of this process; zero before one
	// known: the stored* fields are what the store holds (this process
	// wrote them); until then the next sync writes.
	known      bool
	storedAt   time.Time
	storedErr  string
	storedSkew int64
	skewStored bool
}

// finishSync stores the outcome of a sync for Status: when it differs
// from the stored one (an error, another error, the first good sync after
// one, a clock skew moved by skewSlack), when the sync wrote anything
// else, or when the stored time of the last good sync is lastSyncEvery
// old. Otherwise the time is only kept in memory (Status reads it there;
// Close writes it).
func (a *Agent) finishSync(ctx context.Context, syncErr error, wrote bool) error {
	now := a.cfg.Now().UTC()
	errText := ""
	if syncErr != nil {
		errText = syncErr.Error()
	}
	ls := &a.last
	ls.mu.Lock()
	defer ls.mu.Unlock()
	if syncErr == nil {
		ls.at = now
	}
	skew, hasSkew := a.skewMs.Load(), a.hasSkew.Load()
	due := !ls.known || wrote || errText != ls.storedErr ||
		hasSkew && (!ls.skewStored || skew-ls.storedSkew >= skewSlack || ls.storedSkew-skew >= skewSlack) ||
		ls.at.Sub(ls.storedAt) >= lastSyncEvery
	if !due {
		return nil
	}
	return a.storeLastSync(ctx, errText, skew, hasSkew)
}

// storeLastSync writes the outcome of the syncs held in memory (a.last,
// locked by the caller): the last error, the skew, and the time of the
// last good sync when the store's is older.
func (a *Agent) storeLastSync(ctx context.Context, errText string, skew int64, hasSkew bool) error {
	if ctx.Err() != nil {
		ctx = context.WithoutCancel(ctx)
	}
	ls := &a.last
	at := ls.at.After(ls.storedAt) && !ls.at.IsZero()
	err := a.db.Update(ctx, func(tx *devicedb.Tx) error {
		return writeLastSync(ctx, tx, errText, skew, hasSkew, ls.at, at)
	})
	ls.stored(err, errText, skew, hasSkew, ls.at, at)
	return err
}

// writeLastSync writes a sync's outcome in tx: the error (none: ""), the
// skew when measured, and the time of the last good sync when at.
func writeLastSync(ctx context.Context, tx *devicedb.Tx, errText string, skew int64, hasSkew bool, t time.Time, at bool) error {
	if hasSkew {
		if err := tx.SetState(ctx, devicedb.KeyClockSkewMs, strconv.FormatInt(skew, 10)); err != nil {
			return err
		}
	}
	if err := tx.SetState(ctx, devicedb.KeyLastError, errText); err != nil {
		return err
	}
	if !at {
		return nil
	}
	return tx.SetState(ctx, devicedb.KeyLastSyncAt, formatTime(t))
}

// stored notes what writeLastSync's transaction left in the store (err:
// it failed, and what the store holds is not known); ls is locked.
func (ls *lastSync) stored(err error, errText string, skew int64, hasSkew bool, t time.Time, at bool) {
	if err != nil {
		ls.known = false
		return
	}
	ls.known, ls.storedErr = true, errText
	if hasSkew {
		ls.storedSkew, ls.skewStored = skew, true
	}
	if at {
		ls.storedAt = t
	}
}

// flushLastSync writes the time of the last good sync when only memory
// holds it (Close).
func (a *Agent) flushLastSync(ctx context.Context) error {
	ls := &a.last
	ls.mu.Lock()
	defer ls.mu.Unlock()
	if !ls.known || !ls.at.After(ls.storedAt) {
		return nil
	}
	return a.storeLastSync(ctx, ls.storedErr, a.skewMs.Load(), a.hasSkew.Load())
}

// lastSyncAt is the time of the last good sync: the store's, or this
// process's when later (not yet written).
func (a *Agent) lastSyncAt(stored time.Time) time.Time {
	a.last.mu.Lock()
	defer a.last.mu.Unlock()
	if a.last.at.After(stored) {
		return a.last.at
	}
	return stored
}

// Run syncs until ctx is done. After a good sync the next one follows at
// once with a pull that asks the server to wait for a change (PullWait,
// protocol §7.3), so a change made elsewhere reaches the tablet as soon as
// the server numbers it; a server that answers such a pull at once, with
// nothing, is polled every Interval instead. SyncNow (and SyncOnce) end a
// wait under way. After a failure Run waits with exponential backoff and
// full jitter (base 1 s, cap 5 min); when signed out, revoked, locked or
// too old to pull, it waits the plain interval, since retrying sooner
// cannot help. It returns nil when ctx is done.
func (a *Agent) Run(ctx context.Context) error {
	failures := 0
	var wait time.Duration // the next pull's wait: set after a good sync
	for {
		_, w, err := a.syncOnce(ctx, wait)
		if ctx.Err() != nil {
			return nil
		}
		// A tablet nobody opens still destroys its keys on time (lease.go).
		if _, lerr := a.CheckLease(ctx); lerr != nil && schema.ErrorCode(lerr) != schema.ECodeLeaseExpired {
			a.log.Error("offline lease", "err", lerr)
		}
		next := a.cfg.Interval
		wait = 0
		switch {
		case err == nil:
			failures = 0
			wait = a.pullWait()
			next = pauseAfterGoodSync(w, wait, a.cfg.Interval)
		case errors.Is(err, ErrSignedOut), errors.Is(err, ErrDeviceRevoked), errors.Is(err, ErrUpdateRequired), errors.Is(err, ErrNoServer),
			errors.Is(err, ErrLocked):
			failures = 0
		default:
			failures++
			next = backoff(failures, rand.Int64N)
			if he := asHTTPError(err); he != nil && he.RetryAfter > next {
				next = he.RetryAfter
			}
		}
		if kw := a.keyWait(); kw > 0 && kw < next {
			// Wake when the key's hold runs out, so it is dropped on time.
			next = kw
		}
		if next == 0 {
			select {
			case <-a.wake: // the sync it asked for is the next one
			default:
			}
			continue
		}
		t := time.NewTimer(next)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-a.wake:
			t.Stop()
		case <-t.C:
		}
	}
}

// pauseAfterGoodSync is the pause before the sync after a good one whose
// pull's wait ended w, when the next pull is to wait up to wait: none while
// the server holds the pulls (the wait is the pause), the interval when
// pulls do not wait, or when the server was seen answering a wait at once
// (it ignores the member).
func pauseAfterGoodSync(w waited, wait, interval time.Duration) time.Duration {
	if wait > 0 && w != waitIgnored {
		return 0
	}
	return interval
}

// pullWait is the wait the background pull asks for: PullWait, 5 s under
// the request timeout and within the data key's hold (so the key is still
// dropped on time), in whole seconds; 0 when that leaves under a second.
func (a *Agent) pullWait() time.Duration {
	w := min(a.cfg.PullWait, a.cfg.Timeout-5*time.Second)
	if kw := a.keyWait(); kw > 0 {
		w = min(w, kw)
	}
	if w = w.Truncate(time.Second); w < time.Second {
		return 0
	}
	return w
}

// SyncNow wakes Run for a sync at once, ending a pull's wait for a change
// (it never blocks).
func (a *Agent) SyncNow() {
	a.waitMu.Lock()
	if a.stopWait != nil {
		a.stopWait()
	}
	a.waitMu.Unlock()
	select {
	case a.wake <- struct{}{}:
	default:
	}
}

// Backoff bounds (protocol §4).
const (
	backoffBase = time.Second
	backoffCap  = 5 * time.Minute
)

// backoff returns the wait before retry number attempt (1 for the first
// retry): a uniformly random duration in [0, min(cap, base*2^(attempt-1))]
// ("full jitter"), so that many tablets failing together do not retry
// together. randN returns a random number in [0, n).
func backoff(attempt int, randN func(n int64) int64) time.Duration {
	ceiling := backoffCap
	if attempt < 1 {
		attempt = 1
	}
	if attempt <= 20 {
		if d := backoffBase << (attempt - 1); d < ceiling {
			ceiling = d
		}
	}
	return time.Duration(randN(int64(ceiling) + 1))
}
