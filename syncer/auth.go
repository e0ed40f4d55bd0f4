package syncer

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"

	"golang.org/x/crypto/argon2"

	"doorstep/schema"
	"doorstep/syncer/devicedb"
)

// Login signs the officer in on this tablet: it registers the device to the
// user on the server, stores the token pair, and stores an offline verifier
// (a slow hash of the password) so the tablet can later be unlocked with no
// signal.
//
// A tablet whose outbox still holds changes of another user refuses a new
// user: they would be sent under the wrong name.
func (a *Agent) Login(ctx context.Context, username, password string) (schema.User, error) {
	host, _ := os.Hostname()
	req := schema.LoginRequest{Username: username, Password: password, DeviceID: a.deviceID,
		DeviceName: host, AppVersion: a.cfg.AppVersion, DevicePublicKey: a.devicePublicKey()}
	body, ex, err := a.call(ctx, loginPath, req, false, "")
	if err != nil {
		return schema.User{}, fmt.Errorf("login: %w", a.checkRevoked(ctx, err))
	}
	var tr schema.TokenResponse
	if err := json.Unmarshal(body, &tr); err != nil {
		return schema.User{}, fmt.Errorf("login: the server's answer does not decode: %w", err)
	}
	if tr.AccessToken == "" || tr.RefreshToken == "" || tr.User.ID == "" {
		return schema.User{}, errors.New("login: the server's answer holds no tokens")
	}
	a.observeServer(ex.sent, ex.received, tr.ServerTime)
	// Another user's unsent changes refuse the hand-over before the data
	// key is touched; then the key, since the tokens are sealed under it.
	if err := a.db.View(ctx, func(tx *devicedb.Tx) error { _, err := handOver(ctx, tx, tr.User); return err }); err != nil {
		return schema.User{}, fmt.Errorf("login: %w", err)
	}
	if err := a.takeKey(ctx, password, true); err != nil {
		return schema.User{}, fmt.Errorf("login: %w", err)
	}
	verifier := hashPassword(password)
	userJSON, _ := json.Marshal(tr.User)
	var pinned ed25519.PublicKey
	handedOver := false
	err = a.db.Update(ctx, func(tx *devicedb.Tx) error {
		if changes, err := handOver(ctx, tx, tr.User); err != nil {
			return err
		} else if changes {
			// The tablet changes hands: the previous user's caseload goes,
			// and their lease (this sign-in brings the new user's).
			if err := tx.Wipe(ctx); err != nil {
				return err
			}
			if err := tx.SetState(ctx, devicedb.KeyLease, ""); err != nil {
				return err
			}
			handedOver = true
		}
		if pinned, err = a.pinServerKey(ctx, tx, tr.ServerPublicKey); err != nil {
			return err
		}
		for k, v := range map[string]string{
			devicedb.KeyAccessToken:  tr.AccessToken,
			devicedb.KeyRefreshToken: tr.RefreshToken,
			devicedb.KeyUser:         string(userJSON),
			devicedb.KeyVerifier:     verifier,
			devicedb.KeyRevoked:      "",
			devicedb.KeyLastError:    "",
			devicedb.KeyOutboxKey:    tr.OutboxKey,
			// An online sign-in ends a lockout and clears the wrong
			// passwords (unlock.go).
			devicedb.KeyUnlockFailures:  "",
			devicedb.KeyUnlockFailedAt:  "",
			devicedb.KeyUnlockLockedOut: "",
		} {
			if err := tx.SetState(ctx, k, v); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return schema.User{}, fmt.Errorf("login: %w", err)
	}
	a.holdServerKey(pinned)
	if handedOver {
		a.leaseMu.Lock()
		a.leaseSt.lease = nil
		a.leaseMu.Unlock()
	}
	a.SyncNow()
	if err := a.loginLease(ctx, ex.lease, tr.User.ID); err != nil {
		return schema.User{}, fmt.Errorf("login: %w", err)
	}
	return tr.User, nil
}

// loginPath is the online sign-in's path on the server.
const loginPath = "/v1/auth/login"

// handOver reports whether signing in as u takes the tablet from another
// user; it refuses when that user's changes are still unsent.
func handOver(ctx context.Context, tx *devicedb.Tx, u schema.User) (bool, error) {
	prev, err := tx.State(ctx, devicedb.KeyUser)
	if err != nil {
		return false, err
	}
	pu, _ := userOf(prev)
	if pu == nil || pu.ID == u.ID {
		return false, nil
	}
	pending, _, err := tx.CountOutbox(ctx)
	if err != nil {
		return false, err
	}
	if pending > 0 {
		return false, schema.Errorf(schema.ECodeConflict, "username",
			"this tablet holds %d unsent changes of %s; sign in as %s to send them first", pending, pu.Username, pu.Username)
	}
	return true, nil
}

// Logout forgets the tokens and the PIN. The local records, the outbox and
// the password's offline verifier stay; a PIN is set again after the next
// online sign-in.
func (a *Agent) Logout(ctx context.Context) error {
	return a.db.Update(ctx, func(tx *devicedb.Tx) error {
		if err := tx.SetState(ctx, devicedb.KeyAccessToken, ""); err != nil {
			return err
		}
		if err := setPINState(ctx, tx, "", 0, false); err != nil {
			return err
		}
		return tx.SetState(ctx, devicedb.KeyRefreshToken, "")
	})
}

// refresh spends the refresh token for a new pair, stored together. A
// refused refresh signs the tablet out.
func (a *Agent) refresh(ctx context.Context, refreshToken string) (string, error) {
	body, ex, err := a.call(ctx, "/v1/auth/refresh", schema.RefreshRequest{RefreshToken: refreshToken, DeviceID: a.deviceID}, false, "")
	if err != nil {
		err = a.checkRevoked(ctx, err)
		if he := asHTTPError(err); he != nil && he.Status == 401 {
			return "", a.signOut(ctx, err)
		}
		return "", fmt.Errorf("refresh tokens: %w", err)
	}
	var tr schema.TokenResponse
	if err := json.Unmarshal(body, &tr); err != nil || tr.AccessToken == "" || tr.RefreshToken == "" {
		return "", fmt.Errorf("refresh tokens: the server's answer holds no tokens")
	}
	a.observeServer(ex.sent, ex.received, tr.ServerTime)
	var pinned ed25519.PublicKey
	err = a.db.Update(ctx, func(tx *devicedb.Tx) error {
		var err error
		if pinned, err = a.pinServerKey(ctx, tx, tr.ServerPublicKey); err != nil {
			return err
		}
		if err := tx.SetState(ctx, devicedb.KeyAccessToken, tr.AccessToken); err != nil {
			return err
		}
		if err := tx.SetState(ctx, devicedb.KeyRefreshToken, tr.RefreshToken); err != nil {
			return err
		}
		if err := tx.SetState(ctx, devicedb.KeyOutboxKey, tr.OutboxKey); err != nil {
			return err
		}
		if tr.User.ID != "" {
			b, _ := json.Marshal(tr.User)
			return tx.SetState(ctx, devicedb.KeyUser, string(b))
		}
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("refresh tokens: store: %w", err)
	}
	a.holdServerKey(pinned)
	if ex.lease != "" {
		// Taken again now that a key may be pinned (call saw it first).
		if lerr := a.takeLease(ctx, ex.lease, tr.User.ID, false); lerr != nil {
			a.log.Debug("the refresh's lease was not taken", "err", lerr)
		}
	}
	a.log.Info("tokens refreshed")
	return tr.AccessToken, nil
}

// signOut forgets the tokens after the server refused them, and returns
// ErrSignedOut with the server's reason.
func (a *Agent) signOut(ctx context.Context, cause error) error {
	a.log.Warn("signed out by the server", "reason", cause)
	if err := a.Logout(ctx); err != nil {
		return errors.Join(ErrSignedOut, cause, err)
	}
	return fmt.Errorf("%w: %w", ErrSignedOut, cause)
}

// wipe erases what a revoked tablet must not keep: records, outbox, tokens,
// the user and the offline verifier; then destroys the data key's wraps and
// rebuilds the file so the deleted pages do not linger.
func (a *Agent) wipe(ctx context.Context) error {
	a.log.Warn("device revoked: erasing local data")
	return a.erase(ctx, devicedb.KeyRevoked)
}

// erase is wipe, and EraseLocalData: it also drops the lease (it names the
// user), and stamps mark ("" for none) with the time.
func (a *Agent) erase(ctx context.Context, mark string) error {
	err := a.db.Update(ctx, func(tx *devicedb.Tx) error {
		if err := tx.Wipe(ctx); err != nil {
			return err
		}
		if err := tx.SetState(ctx, devicedb.KeyLease, ""); err != nil {
			return err
		}
		if mark == "" {
			return nil
		}
		return tx.SetState(ctx, mark, formatTime(tx.Now()))
	})
	if err != nil {
		return fmt.Errorf("wipe: %w", err)
	}
	a.leaseMu.Lock()
	a.leaseSt.lease = nil
	a.leaseSt.problem = ""
	a.leaseMu.Unlock()
	// What the wipe leaves sealed (the device key) is made unreadable
	// too; this also rebuilds the file so deleted pages do not linger.
	if err := a.db.DestroyKeyWraps(ctx); err != nil {
		a.log.Warn("wipe: destroy key wraps", "err", err)
	}
	return nil
}

// Offline verifier: argon2id with the parameters OWASP recommends for
// interactive logins (19 MiB, 2 passes, 1 lane), encoded with its parameters
// so they can be raised later.
const (
	argonTime    = 2
	argonMemory  = 19 * 1024
	argonThreads = 1
	argonKeyLen  = 32
)

// argonCost is the cost of the verifiers made from now on: argonTime and
// argonMemory, unless a test lowered it (SetPasswordCost). A verifier
// carries its own parameters, so checking one is the same at any cost.
var argonCost = struct{ time, memory uint32 }{argonTime, argonMemory}

// SetPasswordCost changes the argon2id cost of the password and PIN
// verifiers made from now on: passes, and memory in KiB. Only tests should
// lower it, from TestMain, before any agent runs.
func SetPasswordCost(passes, memoryKiB uint32) {
	argonCost.time, argonCost.memory = passes, memoryKiB
}

func hashPassword(password string) string {
	return hashPasswordAt(password, argonCost.time, argonCost.memory)
}

func hashPasswordAt(password string, passes, memory uint32) string {
	salt := make([]byte, 16)
	rand.Read(salt)
	key := argon2.IDKey([]byte(password), salt, passes, memory, argonThreads, argonKeyLen)
	return fmt.Sprintf("argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, memory, passes, argonThreads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key))
}

func checkPassword(encoded, password string) bool {
	parts := strings.Split(encoded, "$")
	if len(parts) != 5 || parts[0] != "argon2id" {
		return false
	}
	var m, t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[2], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil {
		return false
	}
	salt, err1 := base64.RawStdEncoding.DecodeString(parts[3])
	want, err2 := base64.RawStdEncoding.DecodeString(parts[4])
	if err1 != nil || err2 != nil {
		return false
	}
	got := argon2.IDKey([]byte(password), salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}
