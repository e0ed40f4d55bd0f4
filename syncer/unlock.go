package syncer

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"doorstep/schema"
	"doorstep/syncer/devicedb"
)

// Wrong passwords at the offline unlock are limited, as wrong PINs are:
// someone holding a locked tablet must not be able to guess for ever. The
// first FreeUnlockFailures wrong passwords in a row cost nothing; after
// each further one the next try waits, FirstUnlockWait doubling up to
// MaxUnlockWait; the MaxUnlockFailures-th locks the tablet out: its offline
// verifiers (password and PIN) and its tokens are deleted, so only an
// online sign-in opens it again. Unsent changes are never lost by this:
// the caseload is erased too only when the outbox is empty (decision 0010).
const (
	FreeUnlockFailures = 5
	MaxUnlockFailures  = 10
	FirstUnlockWait    = 30 * time.Second
	MaxUnlockWait      = 15 * time.Minute
)

// UnlockState says how the offline unlock with the password stands.
type UnlockState struct {
	// Failures counts the wrong passwords since the last right one.
	Failures int `json:"failures"`
	// Left is how many wrong passwords remain before the tablet needs an
	// online sign-in.
	Left int `json:"left"`
	// RetryAt: no password is checked before this time (zero: now).
	RetryAt time.Time `json:"retry_at,omitzero"`
	// Wait is how long from now until RetryAt, rounded up to the second.
	Wait time.Duration `json:"-"`
	// WaitSeconds is Wait in seconds, for the JSON API.
	WaitSeconds int `json:"wait_seconds"`
	// LockedOut: too many wrong passwords; only an online sign-in unlocks.
	LockedOut bool `json:"locked_out"`
	// Erased: the lockout also erased the caseload, as nothing on the
	// tablet was waiting to be sent.
	Erased bool `json:"erased,omitempty"`
}

// unlockWait is the wait before the next try after failures wrong
// passwords in a row.
func unlockWait(failures int) time.Duration {
	if failures < FreeUnlockFailures {
		return 0
	}
	d := FirstUnlockWait
	for range failures - FreeUnlockFailures {
		if d *= 2; d >= MaxUnlockWait {
			return MaxUnlockWait
		}
	}
	return d
}

// UnlockState reports the count of wrong passwords and any wait.
func (a *Agent) UnlockState(ctx context.Context) (UnlockState, error) {
	var st UnlockState
	err := a.db.View(ctx, func(tx *devicedb.Tx) error {
		var err error
		st, _, err = unlockState(ctx, tx, tx.Now())
		return err
	})
	return st, err
}

// Unlock checks a password against the verifier stored at the last online
// login, with no network, and returns the user it belongs to. Each wrong
// password (or username) is counted in the store, so a restart does not
// reset the count; the check and the count run in one write transaction,
// so guesses sent side by side are counted one after the other. During a
// wait the password is not even checked (rate_limited); at the limit the
// tablet is locked out (forbidden). A right password clears the count, and
// the count of wrong PINs.
func (a *Agent) Unlock(ctx context.Context, username, password string) (schema.User, UnlockState, error) {
	if _, err := a.CheckLease(ctx); err != nil {
		return schema.User{}, UnlockState{}, err // only an online sign-in opens it (lease.go)
	}
	return a.unlock(ctx, username, password)
}

// UnlockForSync is Unlock for a one-off sync from a shell (doorstep device
// sync): the same password check, counted the same way, and the data key
// taken so the sealed tokens can be read, but past the offline lease's end
// too. The lease stops the officer's app from opening, not the delivery of
// what waits: a sync sends it and does not open the app (only an online
// sign-in does). Past the grace the key's wraps are gone and nothing opens
// it.
func (a *Agent) UnlockForSync(ctx context.Context, username, password string) (schema.User, UnlockState, error) {
	return a.unlock(ctx, username, password)
}

func (a *Agent) unlock(ctx context.Context, username, password string) (schema.User, UnlockState, error) {
	var user schema.User
	var st UnlockState
	var refused error
	err := a.db.Update(ctx, func(tx *devicedb.Tx) error {
		now := tx.Now()
		var failedAt time.Time
		var err error
		if st, failedAt, err = unlockState(ctx, tx, now); err != nil {
			return err
		}
		if st.LockedOut {
			refused = lockedOutError()
			return nil
		}
		u, verifier, err := signedInUser(ctx, tx)
		if err != nil {
			return err
		}
		if now.Before(failedAt) {
			// The clock was set back: the wait runs from now, not from a
			// time that may never come again.
			if err := tx.SetState(ctx, devicedb.KeyUnlockFailedAt, formatTime(now)); err != nil {
				return err
			}
			st = unlockStateOf(st.Failures, now, now)
		}
		if st.Wait > 0 {
			refused = schema.Errorf(schema.ECodeRateLimited, "password",
				"too many wrong passwords: wait %s before the next try (%d left before this tablet needs an online sign-in)",
				WaitText(st.Wait), st.Left)
			return nil
		}
		if u.Username == username && checkPassword(verifier, password) {
			user = u
			st = UnlockState{Left: MaxUnlockFailures}
			if err := clearUnlockFailures(ctx, tx); err != nil {
				return err
			}
			return clearPINFailures(ctx, tx)
		}
		failures := st.Failures + 1
		if failures >= MaxUnlockFailures {
			erased, err := lockOut(ctx, tx, now)
			if err != nil {
				return err
			}
			st = UnlockState{Failures: failures, LockedOut: true, Erased: erased}
			refused = lockedOutError()
			return nil
		}
		if err := tx.SetState(ctx, devicedb.KeyUnlockFailures, strconv.Itoa(failures)); err != nil {
			return err
		}
		if err := tx.SetState(ctx, devicedb.KeyUnlockFailedAt, formatTime(now)); err != nil {
			return err
		}
		st = unlockStateOf(failures, now, now)
		msg := fmt.Sprintf("wrong username or password; %d tries left before this tablet needs an online sign-in", st.Left)
		if st.Wait > 0 {
			msg += fmt.Sprintf("; wait %s before the next try", WaitText(st.Wait))
		}
		refused = schema.Errorf(schema.ECodeUnauthorized, "", "%s", msg)
		return nil
	})
	if err != nil {
		return schema.User{}, st, fmt.Errorf("unlock: %w", err)
	}
	if st.LockedOut && st.Failures > 0 {
		// This call locked the tablet out: drop the data key, and rebuild
		// the file so the deleted verifiers, tokens (and the caseload,
		// when erased) do not linger.
		a.db.DropKey()
		a.log.Warn("offline unlock: too many wrong passwords; an online sign-in is needed", "caseload_erased", st.Erased)
		if err := a.db.Compact(ctx); err != nil {
			a.log.Warn("unlock lockout: compact", "err", err)
		}
	}
	if refused != nil {
		return schema.User{}, st, refused
	}
	if err := a.takeKey(ctx, password, false); err != nil {
		return schema.User{}, st, err
	}
	return user, st, nil
}

func lockedOutError() error {
	return schema.Errorf(schema.ECodeForbidden, "password",
		"too many wrong passwords: this tablet can no longer be unlocked offline; sign in online (unsent changes are kept)")
}

// lockOut ends every way in but an online sign-in. It reports whether the
// caseload was erased too: only when no change waits in the outbox
// (pending or set aside), since the server then has everything.
func lockOut(ctx context.Context, tx *devicedb.Tx, now time.Time) (erased bool, err error) {
	pending, rejected, err := tx.CountOutbox(ctx)
	if err != nil {
		return false, err
	}
	if pending+rejected == 0 {
		if err := tx.Wipe(ctx); err != nil {
			return false, err
		}
		erased = true
	} else {
		// The user stays, so only they can sign in and send their changes
		// (Login refuses another user while the outbox holds changes).
		for _, k := range []string{devicedb.KeyAccessToken, devicedb.KeyRefreshToken, devicedb.KeyVerifier} {
			if err := tx.SetState(ctx, k, ""); err != nil {
				return false, err
			}
		}
		if err := setPINState(ctx, tx, "", 0, false); err != nil {
			return false, err
		}
		if err := clearUnlockFailures(ctx, tx); err != nil {
			return false, err
		}
	}
	return erased, tx.SetState(ctx, devicedb.KeyUnlockLockedOut, formatTime(now))
}

func unlockState(ctx context.Context, tx *devicedb.Tx, now time.Time) (UnlockState, time.Time, error) {
	var vals [3]string
	for i, k := range []string{devicedb.KeyUnlockFailures, devicedb.KeyUnlockFailedAt, devicedb.KeyUnlockLockedOut} {
		v, err := tx.State(ctx, k)
		if err != nil {
			return UnlockState{}, time.Time{}, err
		}
		vals[i] = v
	}
	if vals[2] != "" {
		return UnlockState{LockedOut: true}, time.Time{}, nil
	}
	failures, _ := strconv.Atoi(vals[0])
	failedAt, _ := time.Parse(time.RFC3339Nano, vals[1])
	return unlockStateOf(failures, failedAt, now), failedAt, nil
}

func unlockStateOf(failures int, failedAt, now time.Time) UnlockState {
	st := UnlockState{Failures: failures, Left: max(MaxUnlockFailures-failures, 0)}
	if w := unlockWait(failures); w > 0 && !failedAt.IsZero() {
		st.RetryAt = failedAt.Add(w)
		if rem := st.RetryAt.Sub(now); rem > 0 {
			st.WaitSeconds = int((rem + time.Second - 1) / time.Second)
			st.Wait = time.Duration(st.WaitSeconds) * time.Second
		}
	}
	return st
}

func clearUnlockFailures(ctx context.Context, tx *devicedb.Tx) error {
	for _, k := range []string{devicedb.KeyUnlockFailures, devicedb.KeyUnlockFailedAt} {
		if err := tx.SetState(ctx, k, ""); err != nil {
			return err
		}
	}
	return nil
}

// WaitText says a wait in words: "30 seconds", "1 minute", "4 minutes",
// "1 minute 30 seconds".
func WaitText(d time.Duration) string {
	s := int((d + time.Second - 1) / time.Second)
	unit := func(n int, one string) string {
		if n == 1 {
			return "1 " + one
		}
		return strconv.Itoa(n) + " " + one + "s"
	}
	switch m, sec := s/60, s%60; {
	case m == 0:
		return unit(sec, "second")
	case sec == 0:
		return unit(m, "minute")
	default:
		return unit(m, "minute") + " " + unit(sec, "second")
	}
}
