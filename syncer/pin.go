package syncer

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"doorstep/schema"
	"doorstep/syncer/devicedb"
)

// A PIN is a shorter secret than the password, so it gets two guards the
// password does not need: weak PINs are refused when set, and after
// MaxPINFailures wrong PINs in a row the PIN is turned off, so only the
// password unlocks. Like the password, only a slow salted verifier
// (argon2id) is stored, never the PIN.
const (
	MinPINLength   = 6
	MaxPINLength   = 12
	MaxPINFailures = 5
)

// PINState says whether the tablet can be unlocked with a PIN.
type PINState struct {
	// Set: a PIN is set and can unlock.
	Set bool `json:"set"`
	// Disabled: the PIN was turned off after MaxPINFailures wrong tries;
	// only the password unlocks until a new PIN is set.
	Disabled bool `json:"disabled"`
	// Failures counts the wrong PINs since the last right one.
	Failures int `json:"failures"`
	// Left is how many wrong PINs remain before it is turned off.
	Left int `json:"left"`
}

// CheckPIN says why a PIN is too weak to use, as a *schema.Error on field
// "pin", or nil. It refuses what a PIN-guessing thief tries first.
func CheckPIN(pin string) error {
	bad := func(msg string) error { return schema.Errorf(schema.ECodeInvalid, "pin", "%s", msg) }
	if pin == "" {
		return schema.Errorf(schema.ECodeRequired, "pin", "enter a PIN of %d to %d digits", MinPINLength, MaxPINLength)
	}
	for _, r := range pin {
		if r < '0' || r > '9' {
			return bad("a PIN is digits only (0 to 9)")
		}
	}
	if len(pin) < MinPINLength {
		return bad(fmt.Sprintf("a PIN needs at least %d digits", MinPINLength))
	}
	if len(pin) > MaxPINLength {
		return bad(fmt.Sprintf("a PIN has at most %d digits; for more, use your password", MaxPINLength))
	}
	if strings.Count(pin, pin[:1]) == len(pin) {
		return bad("a PIN of one digit repeated is too easy to guess")
	}
	// Straight runs up or down (123456, 987654, 890123).
	for _, step := range []int{1, 9} {
		run := true
		for i := 1; i < len(pin); i++ {
			if (int(pin[i-1]-'0')+step)%10 != int(pin[i]-'0') {
				run = false
				break
			}
		}
		if run {
			return bad("a PIN of digits in a row (like 123456) is too easy to guess")
		}
	}
	// A short pattern repeated (121212, 123123, 100100).
	for n := 1; n <= len(pin)/2; n++ {
		if len(pin)%n == 0 && strings.Repeat(pin[:n], len(pin)/n) == pin {
			return bad("a PIN that repeats a short pattern (like 121212) is too easy to guess")
		}
	}
	return nil
}

// SetPIN sets (or changes) the PIN that unlocks the tablet offline, after
// checking the officer's password (provePassword): whoever finds the app
// unlocked must not be able to give themselves a way back in. A weak PIN
// is refused (CheckPIN) before the password is tried. Setting a PIN clears
// the count of wrong tries and turns a disabled PIN back on.
func (a *Agent) SetPIN(ctx context.Context, password, pin string) error {
	if err := CheckPIN(pin); err != nil {
		return err
	}
	if err := a.provePassword(ctx, password); err != nil {
		return err
	}
	return a.db.Update(ctx, func(tx *devicedb.Tx) error {
		if err := setPINState(ctx, tx, hashPassword(pin), 0, false); err != nil {
			return err
		}
		return tx.PutKeyWrap(ctx, devicedb.WrapPIN, pin, wrapKDF())
	})
}

// ClearPIN removes the PIN, after checking the officer's password as
// SetPIN does (whoever finds the app unlocked must not be able to take the
// officer's PIN away): only the password unlocks from then on.
func (a *Agent) ClearPIN(ctx context.Context, password string) error {
	if err := a.provePassword(ctx, password); err != nil {
		return err
	}
	return a.db.Update(ctx, func(tx *devicedb.Tx) error { return setPINState(ctx, tx, "", 0, false) })
}

// provePassword checks the password of whoever signed in last the way the
// unlock does (Unlock): a wrong one counts toward the wait and the
// lockout, so the PIN's forms cannot serve to guess the password on an
// unlocked tablet; a right one clears the counts. Every refusal names the
// field "password".
func (a *Agent) provePassword(ctx context.Context, password string) error {
	if password == "" {
		return schema.Errorf(schema.ECodeRequired, "password", "password is required to set or remove a PIN")
	}
	var user schema.User
	if err := a.db.View(ctx, func(tx *devicedb.Tx) error {
		var err error
		user, _, err = signedInUser(ctx, tx)
		return err
	}); err != nil {
		return err
	}
	_, _, err := a.Unlock(ctx, user.Username, password)
	if e := schema.AsError(err); e != nil && e.Code == schema.ECodeUnauthorized {
		return schema.Errorf(schema.ECodeUnauthorized, "password", "the password is not right; %s", strings.TrimPrefix(e.Message, "wrong username or password; "))
	}
	return err
}

// PIN reports whether a PIN is set, and how many wrong tries are left.
func (a *Agent) PIN(ctx context.Context) (PINState, error) {
	var st PINState
	err := a.db.View(ctx, func(tx *devicedb.Tx) error {
		var err error
		st, err = pinState(ctx, tx)
		return err
	})
	return st, err
}

// UnlockPIN checks a PIN against its verifier, with no network, and returns
// the user who set it. Each wrong PIN is counted in the store (so a restart
// does not reset the count); the MaxPINFailures-th turns the PIN off. The
// check and the count run in one write transaction, so guesses sent side
// by side are counted one after the other.
func (a *Agent) UnlockPIN(ctx context.Context, pin string) (schema.User, PINState, error) {
	if _, err := a.CheckLease(ctx); err != nil {
		return schema.User{}, PINState{}, err // only an online sign-in opens it (lease.go)
	}
	var user schema.User
	var st PINState
	var refused error
	err := a.db.Update(ctx, func(tx *devicedb.Tx) error {
		if ust, _, err := unlockState(ctx, tx, tx.Now()); err != nil {
			return err
		} else if ust.LockedOut {
			refused = lockedOutError()
			return nil
		}
		u, _, err := signedInUser(ctx, tx)
		if err != nil {
			return err
		}
		if st, err = pinState(ctx, tx); err != nil {
			return err
		}
		if st.Disabled {
			refused = schema.Errorf(schema.ECodeForbidden, "pin",
				"the PIN was turned off after %d wrong tries: unlock with your password", MaxPINFailures)
			return nil
		}
		verifier, err := tx.State(ctx, devicedb.KeyPINVerifier)
		if err != nil {
			return err
		}
		if verifier == "" {
			refused = schema.Errorf(schema.ECodeForbidden, "pin", "no PIN is set on this tablet: unlock with your password")
			return nil
		}
		if checkPassword(verifier, pin) {
			user = u
			// The PIN proved who is there, as the password would have.
			if err := clearUnlockFailures(ctx, tx); err != nil {
				return err
			}
			if st.Failures > 0 {
				st.Failures, st.Left = 0, MaxPINFailures
				return setPINState(ctx, tx, verifier, 0, false)
			}
			return nil
		}
		st.Failures++
		st.Left = max(MaxPINFailures-st.Failures, 0)
		if st.Failures >= MaxPINFailures {
			// Turned off: the verifier goes, so nothing is left to guess at.
			st.Set, st.Disabled = false, true
			refused = schema.Errorf(schema.ECodeForbidden, "pin",
				"wrong PIN %d times: the PIN is now turned off; unlock with your password", MaxPINFailures)
			return setPINState(ctx, tx, "", st.Failures, true)
		}
		refused = schema.Errorf(schema.ECodeUnauthorized, "pin", "wrong PIN; %d tries left before the PIN is turned off", st.Left)
		return setPINState(ctx, tx, verifier, st.Failures, false)
	})
	if err != nil {
		return schema.User{}, st, fmt.Errorf("unlock with PIN: %w", err)
	}
	if refused != nil {
		return schema.User{}, st, refused
	}
	if err := a.takePINKey(ctx, pin); err != nil {
		return schema.User{}, st, err
	}
	return user, st, nil
}

// clearPINFailures forgets the wrong PINs after the password proved who is
// there; a PIN already turned off stays off until a new one is set.
func clearPINFailures(ctx context.Context, tx *devicedb.Tx) error {
	st, err := pinState(ctx, tx)
	if err != nil || st.Failures == 0 || st.Disabled {
		return err
	}
	return tx.SetState(ctx, devicedb.KeyPINFailures, "")
}

// signedInUser returns the user who last signed in and the password
// verifier, or unauthorized when nobody has.
func signedInUser(ctx context.Context, tx *devicedb.Tx) (schema.User, string, error) {
	userJSON, err := tx.State(ctx, devicedb.KeyUser)
	if err != nil {
		return schema.User{}, "", err
	}
	verifier, err := tx.State(ctx, devicedb.KeyVerifier)
	if err != nil {
		return schema.User{}, "", err
	}
	u, err := userOf(userJSON)
	if err != nil {
		return schema.User{}, "", err
	}
	if u == nil || verifier == "" {
		return schema.User{}, "", schema.Errorf(schema.ECodeUnauthorized, "", "nobody has signed in on this tablet yet: sign in while online")
	}
	return *u, verifier, nil
}

func pinState(ctx context.Context, tx *devicedb.Tx) (PINState, error) {
	var st PINState
	v, err := tx.State(ctx, devicedb.KeyPINVerifier)
	if err != nil {
		return st, err
	}
	f, err := tx.State(ctx, devicedb.KeyPINFailures)
	if err != nil {
		return st, err
	}
	d, err := tx.State(ctx, devicedb.KeyPINDisabled)
	if err != nil {
		return st, err
	}
	st.Set, st.Disabled = v != "", d != ""
	st.Failures, _ = strconv.Atoi(f)
	st.Left = max(MaxPINFailures-st.Failures, 0)
	return st, nil
}

func setPINState(ctx context.Context, tx *devicedb.Tx, verifier string, failures int, disabled bool) error {
	f, d := "", ""
	if failures > 0 {
		f = strconv.Itoa(failures)
	}
	if disabled {
		d = "1"
	}
	for k, v := range map[string]string{devicedb.KeyPINVerifier: verifier, devicedb.KeyPINFailures: f, devicedb.KeyPINDisabled: d} {
		if err := tx.SetState(ctx, k, v); err != nil {
			return err
		}
	}
	if verifier == "" {
		// No PIN, no way in by PIN: its wrap of the data key goes too.
		return tx.DeleteKeyWrap(ctx, devicedb.WrapPIN)
	}
	return nil
}
