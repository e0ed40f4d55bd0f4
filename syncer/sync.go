package syncer

import (
	"context"
	"errors"
	"math/rand/v2"
	"strconv"
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
func (a *Agent) SyncOnce(ctx context.Context) (SyncReport, error) {
	a.syncMu.Lock()
	defer a.syncMu.Unlock()
	start := time.Now()
	var rep SyncReport
	if !a.HoldsKey() {
		// The tokens are sealed: a locked tablet cannot sync. Its unsent
		// changes wait, sealed, for the next unlock (decision 0033).
		return rep, ErrLocked
	}
	err := a.push(ctx, &rep)
	if err == nil || (asHTTPError(err) != nil && !errors.Is(err, ErrSignedOut) && !errors.Is(err, ErrDeviceRevoked)) {
		err = errors.Join(err, a.pull(ctx, &rep))
	}
	rep.Duration = time.Since(start)
	if serr := a.finishSync(ctx, err); serr != nil {
		err = errors.Join(err, serr)
	}
	if err != nil {
		a.log.Warn("sync failed", "err", err, "requests", rep.Requests)
	} else {
		a.log.Debug("synced", "pushed", rep.Pushed, "pulled", rep.Pulled, "removed", rep.Removed, "took", rep.Duration)
	}
	return rep, err
}

// finishSync stores the outcome of a sync for Status.
func (a *Agent) finishSync(ctx context.Context, syncErr error) error {
	if ctx.Err() != nil {
		ctx = context.WithoutCancel(ctx)
	}
	return a.db.Update(ctx, func(tx *devicedb.Tx) error {
		if a.hasSkew.Load() {
			if err := tx.SetState(ctx, devicedb.KeyClockSkewMs, strconv.FormatInt(a.skewMs.Load(), 10)); err != nil {
				return err
			}
		}
		if syncErr != nil {
			return tx.SetState(ctx, devicedb.KeyLastError, syncErr.Error())
		}
		if err := tx.SetState(ctx, devicedb.KeyLastError, ""); err != nil {
			return err
		}
		return tx.SetState(ctx, devicedb.KeyLastSyncAt, formatTime(tx.Now()))
	})
}

// Run syncs every Interval until ctx is done, and at once after SyncNow.
// After a failure it waits with exponential backoff and full jitter (base
// 1 s, cap 5 min) instead; when signed out, revoked or too old to pull, it
// waits the plain interval, since retrying sooner cannot help. It returns
// nil when ctx is done.
func (a *Agent) Run(ctx context.Context) error {
	failures := 0
	for {
		_, err := a.SyncOnce(ctx)
		if ctx.Err() != nil {
			return nil
		}
		// A tablet nobody opens still destroys its keys on time (lease.go).
		if _, lerr := a.CheckLease(ctx); lerr != nil && schema.ErrorCode(lerr) != schema.ECodeLeaseExpired {
			a.log.Error("offline lease", "err", lerr)
		}
		wait := a.cfg.Interval
		switch {
		case err == nil:
			failures = 0
		case errors.Is(err, ErrSignedOut), errors.Is(err, ErrDeviceRevoked), errors.Is(err, ErrUpdateRequired), errors.Is(err, ErrNoServer),
			errors.Is(err, ErrLocked):
			failures = 0
		default:
			failures++
			wait = backoff(failures, rand.Int64N)
			if he := asHTTPError(err); he != nil && he.RetryAfter > wait {
				wait = he.RetryAfter
			}
		}
		if kw := a.keyWait(); kw > 0 && kw < wait {
			// Wake when the key's hold runs out, so it is dropped on time.
			wait = kw
		}
		t := time.NewTimer(wait)
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

// SyncNow wakes Run for a sync at once (it never blocks).
func (a *Agent) SyncNow() {
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
