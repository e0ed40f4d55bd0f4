package serverdb

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"time"

	"doorstep/schema"
)

// Sentinel errors a caller branches on. They are *schema.Error values, so
// the HTTP edge maps them by code like any other.
var (
	// ErrDeviceRevoked: the device was revoked; it must wipe its data.
	ErrDeviceRevoked = schema.Errorf(schema.ECodeDeviceRevoked, "device_id", "this device was revoked by an admin; its local data must be erased")
	// ErrRefreshReused: a spent refresh token came back; every token of the
	// device has been revoked.
	ErrRefreshReused = schema.Errorf(schema.ECodeRefreshReused, "refresh_token", "this refresh token was already used; every session of this device has been signed out, sign in again")
)

var deviceIDRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// ValidDeviceID reports whether s can be a device id: 1-64 letters, digits,
// '.', '_' or '-' (a UUID fits).
func ValidDeviceID(s string) bool { return deviceIDRE.MatchString(s) }

// DeviceInfo is what a device says about itself on login or sync.
type DeviceInfo struct {
	Name        string
	AppVersion  string
	Protocol    int
	Schema      int
	ClockSkewMs int64
	HasSkew     bool
	// OutboxPending is how many changes wait in the tablet's outbox
	// (header Doorstep-Outbox-Pending); HasOutbox is false when the device
	// did not say (an older app), and the stored figure is left alone.
	OutboxPending int
	HasOutbox     bool
	// PublicKey is the device's Ed25519 public key, base64 (login only;
	// docs/sync-protocol.md §6.1); "" when the app sends none.
	PublicKey string
}

// Login registers (or recognises) the device for user u and issues a new
// refresh token for it, valid for ttl, revoking every earlier token of the
// device. The password must have been checked
// already (Authenticate), outside the write lock, because bcrypt is slow.
func (db *DB) Login(ctx context.Context, u schema.User, deviceID string, info DeviceInfo, ttl time.Duration) (refresh string, err error) {
	if !ValidDeviceID(deviceID) {
		return "", schema.Errorf(schema.ECodeInvalid, "device_id", "device_id must be 1-64 letters, digits, '.', '_' or '-'")
	}
	if info.PublicKey != "" {
		if _, err := schema.ParsePublicKey(info.PublicKey); err != nil {
			return "", err
		}
	}
	err = db.update(ctx, func(tx *wtx) error {
		var owner, revoked, key string
		err := tx.QueryRowContext(ctx, `SELECT user_id, revoked_at, public_key FROM devices WHERE id = ?`, deviceID).Scan(&owner, &revoked, &key)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			if _, err := tx.ExecContext(ctx, `INSERT INTO devices (id, user_id, name, app_version, registered_at, last_seen_at, public_key) VALUES (?, ?, ?, ?, ?, ?, ?)`,
				deviceID, u.ID, info.Name, info.AppVersion, tx.nowText, tx.nowText, info.PublicKey); err != nil {
				return fmt.Errorf("register device: %w", err)
			}
			if err := tx.audit(ActorOf(u, deviceID), "register_device", "device", deviceID, "", map[string]any{"name": info.Name}); err != nil {
				return err
			}
		case err != nil:
			return fmt.Errorf("read device: %w", err)
		case owner != u.ID:
			return schema.Errorf(schema.ECodeForbidden, "device_id", "this device is registered to another user; an admin must revoke it first")
		case revoked != "":
			return ErrDeviceRevoked
		case key != "" && info.PublicKey != "" && key != info.PublicKey:
			// A device's key never changes: a different one is another
			// tablet claiming its id.
			return schema.Errorf(schema.ECodeForbidden, "device_public_key", "this device registered another public key; an admin must revoke the device before it enrols again")
		default:
			if key == "" && info.PublicKey != "" {
				// A tablet that enrolled before device keys registers its key now.
				if _, err := tx.ExecContext(ctx, `UPDATE devices SET public_key = ? WHERE id = ?`, info.PublicKey, deviceID); err != nil {
					return fmt.Errorf("register device key: %w", err)
				}
				if err := tx.audit(ActorOf(u, deviceID), "register_device_key", "device", deviceID, "", nil); err != nil {
					return err
				}
			}
			if _, err := tx.ExecContext(ctx, `UPDATE devices SET last_seen_at = ?, app_version = CASE WHEN ? = '' THEN app_version ELSE ? END,
				name = CASE WHEN ? = '' THEN name ELSE ? END WHERE id = ?`,
				tx.nowText, info.AppVersion, info.AppVersion, info.Name, info.Name, deviceID); err != nil {
				return fmt.Errorf("update device: %w", err)
			}
		}
		// A sign-in starts the device's only live token chain: every token
		// issued before it goes, a thief's copy included (refreshGrace).
		if _, err := tx.ExecContext(ctx, `UPDATE refresh_tokens SET revoked_at = ? WHERE device_id = ? AND revoked_at = ''`, tx.nowText, deviceID); err != nil {
			return fmt.Errorf("revoke earlier tokens: %w", err)
		}
		refresh, err = tx.issueRefresh(u.ID, deviceID, ttl)
		if err != nil {
			return err
		}
		return tx.audit(ActorOf(u, deviceID), "login", "", "", "", nil)
	})
	return refresh, err
}

func hashToken(tok string) string {
	sum := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(sum[:])
}

func (t *wtx) issueRefresh(userID, deviceID string, ttl time.Duration) (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("make refresh token: %w", err)
	}
	tok := base64.RawURLEncoding.EncodeToString(b)
	_, err := t.ExecContext(t.ctx, `INSERT INTO refresh_tokens (hash, device_id, user_id, issued_at, expires_at) VALUES (?, ?, ?, ?, ?)`,
		hashToken(tok), deviceID, userID, t.nowText, fmtTime(t.now.Add(ttl)))
	if err != nil {
		return "", fmt.Errorf("store refresh token: %w", err)
	}
	return tok, nil
}

// Refresh spends a refresh token presented by deviceID and issues a new one
// (valid for ttl), returning the user it belongs to. A spent token
// presented again revokes every token of the device (ErrRefreshReused): it
// means someone kept a copy.
func (db *DB) Refresh(ctx context.Context, token, deviceID string, ttl time.Duration) (u schema.User, refresh string, err error) {
	bad := schema.Errorf(schema.ECodeUnauthorized, "refresh_token", "the refresh token is not valid; sign in again")
	reused := false
	err = db.update(ctx, func(tx *wtx) error {
		var dev, userID, expires, spent, successor, revoked, devRevoked string
		err := tx.QueryRowContext(ctx, `SELECT t.device_id, t.user_id, t.expires_at, t.spent_at, t.successor, t.revoked_at, d.revoked_at
			FROM refresh_tokens t JOIN devices d ON d.id = t.device_id WHERE t.hash = ?`, hashToken(token)).
			Scan(&dev, &userID, &expires, &spent, &successor, &revoked, &devRevoked)
		if errors.Is(err, sql.ErrNoRows) {
			return bad
		}
		if err != nil {
			return fmt.Errorf("read refresh token: %w", err)
		}
		if dev != deviceID {
			return bad
		}
		if devRevoked != "" {
			return ErrDeviceRevoked
		}
		if spent != "" && revoked == "" {
			retried, err := tx.lostRefreshAnswer(ctx, spent, successor)
			if err != nil {
				return err
			}
			if retried {
				// The device never got the pair we gave for this token:
				// the unused successor goes, a new pair comes.
				if u, err = scanUser(tx.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE id = ?`, userID)); err != nil {
					return fmt.Errorf("read user: %w", err)
				}
				if refresh, err = tx.issueRefresh(userID, dev, ttl); err != nil {
					return err
				}
				if _, err := tx.ExecContext(ctx, `UPDATE refresh_tokens SET successor = ? WHERE hash = ?`, hashToken(refresh), hashToken(token)); err != nil {
					return fmt.Errorf("record successor: %w", err)
				}
				return tx.audit(Actor{UserID: userID, DeviceID: dev}, "refresh_retried", "device", dev, "", nil)
			}
		}
		if spent != "" {
			// Theft: revoke every live token of the device, and commit that.
			if err := tx.revokeDeviceTokens(ctx, dev); err != nil {
				return err
			}
			reused = true
			return tx.audit(Actor{UserID: userID, DeviceID: dev}, "refresh_reused", "device", dev, "", nil)
		}
		if revoked != "" || expires <= tx.nowText {
			return bad
		}
		if u, err = scanUser(tx.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE id = ?`, userID)); err != nil {
			return fmt.Errorf("read user: %w", err)
		}
		if u.Disabled {
			return schema.Errorf(schema.ECodeUnauthorized, "username", "this account is disabled; ask an admin")
		}
		if _, err := tx.ExecContext(ctx, `UPDATE devices SET last_seen_at = ? WHERE id = ?`, tx.nowText, dev); err != nil {
			return fmt.Errorf("update device: %w", err)
		}
		if refresh, err = tx.issueRefresh(userID, dev, ttl); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE refresh_tokens SET spent_at = ?, successor = ? WHERE hash = ?`, tx.nowText, hashToken(refresh), hashToken(token)); err != nil {
			return fmt.Errorf("spend refresh token: %w", err)
		}
		return nil
	})
	if err == nil && reused {
		return schema.User{}, "", ErrRefreshReused
	}
	return u, refresh, err
}

// refreshGrace is how long after a refresh token was spent it may come back
// without being taken for theft, provided the token given for it was never
// used: on a flaky network the answer to a refresh is lost as often as any
// other, and treating that retry as theft would sign officers out in the
// field. A thief replaying a token inside the window gets a pair, but the
// device's own next refresh then fails and the officer signs in again, which
// revokes the thief's pair with every other token of the device.
const refreshGrace = 2 * time.Minute

// lostRefreshAnswer reports whether a spent token presented again is the
// retry of a refresh whose answer was lost: spent within refreshGrace, and
// its successor neither spent nor revoked. It then revokes the successor.
func (t *wtx) lostRefreshAnswer(ctx context.Context, spent, successor string) (bool, error) {
	spentAt, err := time.Parse(time.RFC3339Nano, spent)
	if err != nil || successor == "" || t.now.Sub(spentAt) > refreshGrace {
		return false, nil
	}
	res, err := t.ExecContext(ctx, `UPDATE refresh_tokens SET revoked_at = ? WHERE hash = ? AND spent_at = '' AND revoked_at = ''`, t.nowText, successor)
	if err != nil {
		return false, fmt.Errorf("revoke unused successor: %w", err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// Logout revokes every live refresh token of the device.
func (db *DB) Logout(ctx context.Context, actor Actor) error {
	return db.update(ctx, func(tx *wtx) error {
		if err := tx.revokeDeviceTokens(ctx, actor.DeviceID); err != nil {
			return fmt.Errorf("logout: %w", err)
		}
		return tx.audit(actor, "logout", "", "", "", nil)
	})
}

// RevokeDevice marks a device revoked and revokes its tokens: it gets no
// new tokens and is told to wipe at its next request.
func (db *DB) RevokeDevice(ctx context.Context, actor Actor, deviceID string) error {
	if err := requireAdmin(actor); err != nil {
		return err
	}
	return db.update(ctx, func(tx *wtx) error {
		res, err := tx.ExecContext(ctx, `UPDATE devices SET revoked_at = ? WHERE id = ? AND revoked_at = ''`, tx.nowText, deviceID)
		if err != nil {
			return fmt.Errorf("revoke device: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			var exists int
			_ = tx.QueryRowContext(ctx, `SELECT count(*) FROM devices WHERE id = ?`, deviceID).Scan(&exists)
			if exists == 0 {
				return schema.Errorf(schema.ECodeNotFound, "device_id", "no device %q", deviceID)
			}
			return nil // already revoked
		}
		if err := tx.revokeDeviceTokens(ctx, deviceID); err != nil {
			return err
		}
		return tx.audit(actor, "revoke_device", "device", deviceID, "", nil)
	})
}

// revokeDeviceTokens revokes every live refresh token of the device and
// raises its token generation, so that its access tokens stop at once.
func (t *wtx) revokeDeviceTokens(ctx context.Context, deviceID string) error {
	if _, err := t.ExecContext(ctx, `UPDATE refresh_tokens SET revoked_at = ? WHERE device_id = ? AND revoked_at = ''`, t.nowText, deviceID); err != nil {
		return fmt.Errorf("revoke device tokens: %w", err)
	}
	if _, err := t.ExecContext(ctx, `UPDATE devices SET token_generation = token_generation + 1 WHERE id = ?`, deviceID); err != nil {
		return fmt.Errorf("revoke device tokens: %w", err)
	}
	return nil
}

// revokeUserTokens does revokeDeviceTokens for every device of the user.
func (t *wtx) revokeUserTokens(ctx context.Context, userID string) error {
	if _, err := t.ExecContext(ctx, `UPDATE refresh_tokens SET revoked_at = ? WHERE user_id = ? AND revoked_at = ''`, t.nowText, userID); err != nil {
		return fmt.Errorf("revoke the user's tokens: %w", err)
	}
	if _, err := t.ExecContext(ctx, `UPDATE devices SET token_generation = token_generation + 1 WHERE user_id = ?`, userID); err != nil {
		return fmt.Errorf("revoke the user's tokens: %w", err)
	}
	return nil
}

// TokenGeneration returns the device's token generation, which every
// access token made for it carries (claim "gen"): an access token of an
// older generation is refused by TokenUser.
func (db *DB) TokenGeneration(ctx context.Context, deviceID string) (int64, error) {
	var gen int64
	if err := db.r.QueryRowContext(ctx, `SELECT token_generation FROM devices WHERE id = ?`, deviceID).Scan(&gen); err != nil {
		return 0, fmt.Errorf("read token generation: %w", err)
	}
	return gen, nil
}

// TokenUser returns the user an access token names, as the user's row says
// now (role and team included: a token's claims of them are not trusted),
// for a request from deviceID with an access token of the given generation.
// A device that is unknown or registered to another user, a token of an
// earlier generation (logged out, reuse detected, password reset), and a disabled or unknown user, are unauthorized; a revoked
// device is ErrDeviceRevoked.
func (db *DB) TokenUser(ctx context.Context, userID, deviceID string, generation int64) (schema.User, error) {
	var revoked string
	var gen int64
	st, err := db.readStmt(ctx, `SELECT u.id, u.username, u.name, u.role, coalesce(u.team_id, ''), u.disabled, d.revoked_at, d.token_generation
		FROM devices d JOIN users u ON u.id = d.user_id WHERE d.id = ?`)
	if err != nil {
		return schema.User{}, fmt.Errorf("read token user: %w", err)
	}
	u, err := scanUser(st.QueryRowContext(ctx, deviceID), &revoked, &gen)
	switch {
	case errors.Is(err, sql.ErrNoRows) || err == nil && u.ID != userID:
		return schema.User{}, schema.Errorf(schema.ECodeUnauthorized, "Authorization", "the access token is not valid")
	case err != nil:
		return schema.User{}, fmt.Errorf("read token user: %w", err)
	case revoked != "":
		return schema.User{}, ErrDeviceRevoked
	case u.Disabled:
		return schema.User{}, schema.Errorf(schema.ECodeUnauthorized, "Authorization", "this account is disabled; ask an admin")
	case gen != generation:
		return schema.User{}, schema.Errorf(schema.ECodeUnauthorized, "Authorization", "the access token is not valid")
	}
	return u, nil
}

// ListDevices returns every device, most recently seen first.
func (db *DB) ListDevices(ctx context.Context) ([]schema.Device, error) {
	if err := db.FlushDevices(ctx); err != nil {
		return nil, err
	}
	rows, err := db.r.QueryContext(ctx, `SELECT id, user_id, name, app_version, protocol, schema, last_seen_at, last_sync_at, clock_skew_ms, revoked_at
		FROM devices ORDER BY last_seen_at DESC, id`)
	if err != nil {
		return nil, fmt.Errorf("list devices: %w", err)
	}
	defer rows.Close()
	var out []schema.Device
	for rows.Next() {
		var d schema.Device
		var seen, synced, revoked string
		if err := rows.Scan(&d.ID, &d.UserID, &d.Name, &d.AppVersion, &d.Protocol, &d.Schema, &seen, &synced, &d.ClockSkewMs, &revoked); err != nil {
			return nil, fmt.Errorf("list devices: %w", err)
		}
		d.LastSeenAt, d.LastSyncAt, d.Revoked = schema.Timestamp(seen), schema.Timestamp(synced), revoked != ""
		out = append(out, d)
	}
	return out, rows.Err()
}

// DeviceRevoked reports whether the device is revoked; an unknown device
// is not found.
func (db *DB) DeviceRevoked(ctx context.Context, deviceID string) (bool, error) {
	var revoked string
	err := db.r.QueryRowContext(ctx, `SELECT revoked_at FROM devices WHERE id = ?`, deviceID).Scan(&revoked)
	if errors.Is(err, sql.ErrNoRows) {
		return false, schema.Errorf(schema.ECodeNotFound, "device_id", "no device %q", deviceID)
	}
	if err != nil {
		return false, fmt.Errorf("read device: %w", err)
	}
	return revoked != "", nil
}
