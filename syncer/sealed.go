package syncer

import (
	"context"
	"errors"
	"time"

	"doorstep/schema"
	"doorstep/syncer/devicedb"
)

// Sealed at rest (docs/decisions/0033-sealed-at-rest.md). The store seals
// the officer's data and the tokens under a data key (devicedb, seal.go);
// the agent gets the key from the password at a sign-in or an unlock, or
// from the PIN, holds it while the officer uses the app, and drops it
// KeyHold after the last use, or at Close. While the key is not held the
// tablet is locked: nothing sealed can be read or written, and no sync
// runs (the tokens are sealed too); unsent changes wait, sealed, for the
// next unlock.

// DefaultKeyHold is how long the data key is held after the officer's last
// use of the app: three times the app's default lock (5 minutes), so that
// a sync can still run for a while after the app locked by itself.
const DefaultKeyHold = 15 * time.Minute

// ErrLocked: the tablet is locked, its data key not held; unlock with the
// password or the PIN. Unsent changes are kept and sent after the unlock.
var ErrLocked = devicedb.ErrLocked

// wrapKDF is the argon2id cost of the key wraps: the verifiers' (auth.go).
func wrapKDF() devicedb.KDF {
	return devicedb.KDF{Passes: argonCost.time, MemoryKiB: argonCost.memory, Lanes: argonThreads}
}

// HoldsKey reports whether the tablet can read its data now: its store is
// not sealed yet, or the data key is held and was used within KeyHold (a
// key held longer is dropped here).
func (a *Agent) HoldsKey() bool {
	if !a.db.Sealed() {
		return true
	}
	if !a.db.HoldsKey() {
		return false
	}
	if a.cfg.Now().Sub(time.Unix(0, a.keyUsed.Load())) > a.cfg.KeyHold {
		a.db.DropKey()
		a.log.Info("data key dropped: unused for the key-hold time", "key_hold", a.cfg.KeyHold)
		return false
	}
	return true
}

// KeepKey is called at each use of the app by the officer: it reports
// whether the data key is still held (HoldsKey) and, if it is, starts its
// hold time again. The app ends the officer's session when it is not.
func (a *Agent) KeepKey() bool {
	if !a.HoldsKey() {
		return false
	}
	a.keyUsed.Store(a.cfg.Now().UnixNano())
	return true
}

// DropKey drops the data key at once: the tablet is locked until the next
// unlock.
func (a *Agent) DropKey() { a.db.DropKey() }

// keyWait is how long until the held key's hold runs out, or 0 when no key
// is held or the store is not sealed.
func (a *Agent) keyWait() time.Duration {
	if !a.db.Sealed() || !a.db.HoldsKey() {
		return 0
	}
	return max(a.cfg.KeyHold-a.cfg.Now().Sub(time.Unix(0, a.keyUsed.Load())), time.Millisecond)
}

// takeKey gets the data key with the password, which has just been proved
// (online by the server, or offline against the verifier), and holds it.
//
//   - A store not sealed yet (a new tablet, or one from before sealing) is
//     sealed now, everything in it in one transaction; a PIN set before
//     is cleared, since its wrap cannot be made without it.
//   - A sealed store opens with the password's wrap. At an online sign-in
//     a password that does not open it is a new password (changed on the
//     server): with the key held it is wrapped again; else the tablet
//     starts afresh (what the old key sealed is lost), keeping the changes
//     waiting that are also sealed to the server's key, which it then
//     delivers; when some change would be lost (set aside by the server,
//     or made before the tablet had the server's key), the sign-in is
//     refused until the officer unlocks with the old password.
//   - When the wraps were destroyed (DestroyKeyWraps) the offline unlock
//     is refused; the online sign-in starts the tablet afresh.
func (a *Agent) takeKey(ctx context.Context, password string, online bool) (err error) {
	// The use is noted before the key is taken: a HoldsKey between the two
	// (the background sync's, the lease check's) would otherwise find the
	// key just taken idle since its last use and drop it. Put back when the
	// key was not taken.
	restore := a.noteKeyUse()
	defer func() {
		if err != nil {
			restore()
		}
	}()
	if !a.db.Sealed() {
		if a.cfg.Unsealed {
			return nil
		}
		if err := a.db.Seal(ctx, password, wrapKDF()); errors.Is(err, devicedb.ErrNotCompacted) {
			a.log.Warn("store sealed, but the WAL could not be truncated yet: the plain text it held is overwritten by later checkpoints", "err", err)
		} else if err != nil {
			return err
		}
		a.log.Info("store sealed: the officer's data and the tokens are now encrypted at rest")
		return a.db.Update(ctx, func(tx *devicedb.Tx) error { return setPINState(ctx, tx, "", 0, false) })
	}
	err = a.db.OpenKey(ctx, devicedb.WrapPassword, password)
	switch {
	case err == nil:
	case errors.Is(err, devicedb.ErrWrongSecret) && online && a.HoldsKey():
		err = a.db.Update(ctx, func(tx *devicedb.Tx) error {
			return tx.PutKeyWrap(ctx, devicedb.WrapPassword, password, wrapKDF())
		})
	case errors.Is(err, devicedb.ErrWrongSecret) && online:
		var lost int
		if err := a.db.View(ctx, func(tx *devicedb.Tx) error {
			var err error
			lost, err = tx.CountUndeliverable(ctx)
			return err
		}); err != nil {
			return err
		}
		if lost > 0 {
			return schema.Errorf(schema.ECodeConflict, "password",
				"The data on this tablet is sealed with the password it was last unlocked with, and %d changes on it could not be sent without it: unlock with that password (or the PIN) first, then sign in with the new one.", lost)
		}
		a.log.Warn("the password changed and the data key was not held: the tablet starts afresh, sends the changes waiting (sealed to the server's key) and pulls the caseload again")
		err = a.db.Reseal(ctx, password, wrapKDF())
	case errors.Is(err, devicedb.ErrNoKeyWrap) && online:
		a.log.Warn("the data key's wraps were destroyed: the tablet starts afresh and pulls the caseload again")
		err = a.db.Reseal(ctx, password, wrapKDF())
	case errors.Is(err, devicedb.ErrNoKeyWrap):
		return schema.Errorf(schema.ECodeForbidden, "password",
			"The data on this tablet was sealed for good (its keys were destroyed): sign in online to start it afresh.")
	case errors.Is(err, devicedb.ErrWrongSecret):
		return schema.Errorf(schema.ECodeUnauthorized, "password", "the password does not open this tablet's data")
	}
	if errors.Is(err, devicedb.ErrNotCompacted) {
		a.log.Warn("the store started afresh, but the WAL could not be truncated yet", "err", err)
		err = nil
	}
	return err
}

// noteKeyUse notes a use of the key now, before the key is taken, and
// returns what puts back the use noted before (unless another came since).
// A key held past its hold is dropped first, as it was before the use
// was noted first: taking the key then goes as for a key not held.
func (a *Agent) noteKeyUse() (restore func()) {
	a.HoldsKey()
	noted := a.cfg.Now().UnixNano()
	prev := a.keyUsed.Swap(noted)
	return func() { a.keyUsed.CompareAndSwap(noted, prev) }
}

// takePINKey gets the data key with the PIN, which has just been checked.
func (a *Agent) takePINKey(ctx context.Context, pin string) (err error) {
	restore := a.noteKeyUse() // as takeKey
	defer func() {
		if err != nil {
			restore()
		}
	}()
	if !a.db.Sealed() {
		if a.cfg.Unsealed {
			return nil
		}
		return schema.Errorf(schema.ECodeForbidden, "pin",
			"This update seals the data on this tablet: unlock with your password this once, then set your PIN again.")
	}
	err = a.db.OpenKey(ctx, devicedb.WrapPIN, pin)
	if errors.Is(err, devicedb.ErrNoKeyWrap) || errors.Is(err, devicedb.ErrWrongSecret) {
		return schema.Errorf(schema.ECodeForbidden, "pin", "The PIN no longer opens the data on this tablet: unlock with your password.")
	}
	return err
}
