package devicedb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// Keys of sync_state. One place names them so a typo cannot invent a key.
const (
	KeyServerURL = "server_url"
	KeyDeviceID  = "device_id"
	KeyDeviceKey = "device_key" // the tablet's Ed25519 seed, base64 (protocol §6.1); sealed
	// KeyDevicePublicKey is the device key's public half, base64, in
	// clear: sent at every sign-in, also while the seed is sealed.
	KeyDevicePublicKey = "device_public_key"
	// KeyOutboxKey is the server's X25519 public key, base64
	// (TokenResponse.outbox_key), each outbox entry is also sealed to.
	KeyOutboxKey      = "outbox_key"
	KeyUser           = "user"          // schema.User as JSON
	KeyAccessToken    = "access_token"  // sealed
	KeyRefreshToken   = "refresh_token" // sealed
	KeyCursor         = "cursor"
	KeyPeopleTag      = "people_tag" // the tag of the people list held (people.go)
	KeyLastSyncAt     = "last_sync_at"
	KeyLastError      = "last_error"
	KeyClockSkewMs    = "clock_skew_ms"
	KeyHLC            = "hlc"
	KeyVerifier       = "verifier" // offline unlock: a slow hash of the password
	KeyUpdateRequired = "update_required"
	KeyRevoked        = "revoked"
	// Offline unlock by PIN: a slow hash of the PIN, the wrong tries since
	// the last right one, and "1" once too many turned the PIN off.
	KeyPINVerifier = "pin_verifier"
	KeyPINFailures = "pin_failures"
	KeyPINDisabled = "pin_disabled"
	// Offline unlock by password: the wrong passwords since the last right
	// one, when the last was typed (the wait runs from then), and the time
	// too many locked the tablet out until an online sign-in.
	KeyUnlockFailures  = "unlock_failures"
	KeyUnlockFailedAt  = "unlock_failed_at"
	KeyUnlockLockedOut = "unlock_locked_out"
	// The offline lease (syncer/lease.go): the server's Ed25519 public key,
	// base64, pinned at the first sign-in that brought one (kept by a
	// wipe); the lease last taken, as the server sent it (signature
	// included, checked again when read); the latest time the tablet has
	// seen, so a clock set back cannot lengthen the lease (kept by a
	// wipe); and when the tablet's keys were destroyed after the grace.
	KeyServerKey   = "server_key"
	KeyLease       = "lease"
	KeyLeaseSeenAt = "lease_seen_at"
	KeyShreddedAt  = "shredded_at"
)

// State returns the value of key, or "" when it is not set.
// The statements of State and SetState, which every sync runs (db.go,
// everySync).
const (
	qState       = "SELECT value FROM sync_state WHERE key = ?"
	qDeleteState = "DELETE FROM sync_state WHERE key = ?"
	qSetState    = "INSERT INTO sync_state (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value"
)

func (tx *Tx) State(ctx context.Context, key string) (string, error) {
	var v string
	err := tx.queryRow(ctx, qState, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read state %s: %w", key, err)
	}
	if secretStates[key] {
		b, err := tx.openText(stateAAD(key), v)
		if err != nil {
			return "", fmt.Errorf("read state %s: %w", key, err)
		}
		return string(b), nil
	}
	return v, nil
}

// States returns every key and value; the secret ones (the tokens and the
// device key) as stored, sealed: read those with State.
func (tx *Tx) States(ctx context.Context) (map[string]string, error) {
	rows, err := tx.tx.QueryContext(ctx, "SELECT key, value FROM sync_state")
	if err != nil {
		return nil, fmt.Errorf("read state: %w", err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			return nil, fmt.Errorf("read state: %w", err)
		}
		out[k] = v
	}
	return out, rows.Err()
}

// SetState stores value under key; the empty value deletes the key.
func (tx *Tx) SetState(ctx context.Context, key, value string) error {
	var err error
	if secretStates[key] {
		if value, err = tx.sealText(stateAAD(key), []byte(value)); err != nil {
			return fmt.Errorf("write state %s: %w", key, err)
		}
	}
	if value == "" {
		_, err = tx.exec(ctx, qDeleteState, key)
	} else {
		_, err = tx.exec(ctx, qSetState, key, value)
	}
	if err != nil {
		return fmt.Errorf("write state %s: %w", key, err)
	}
	return nil
}

// Wipe erases every record, every outbox row and decision, the people list, the tokens, the user, the
// offline verifiers (password and PIN) with the PIN's key wrap, the counts of wrong tries and the
// cursor: what a revoked device must forget. The device id and the server address stay, so the
// tablet can be handed back; so do the password's key wrap and the sealed device key, which the
// caller destroys (DestroyKeyWraps) or keeps for the next officer (a sign-in rewraps the key).
func (tx *Tx) Wipe(ctx context.Context) error {
	for _, q := range []string{
		"DELETE FROM records",
		"DELETE FROM receipts", // the trigger of migration 0008 took them with the records; none may stay
		"DELETE FROM outbox",
		"UPDATE outbox_count SET pending = 0, rejected = 0 WHERE id = 1", // no trigger counts a delete (migration 0009)
		"DELETE FROM outbox_log",
		"DELETE FROM people",
		"DELETE FROM key_wraps WHERE kind = 'pin'",
		"DELETE FROM sync_state WHERE key IN ('user', 'access_token', 'refresh_token', 'cursor', 'people_tag', 'verifier', " +
			"'pin_verifier', 'pin_failures', 'pin_disabled', 'unlock_failures', 'unlock_failed_at', 'unlock_locked_out')",
	} {
		if _, err := tx.tx.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("wipe: %w", err)
		}
	}
	return nil
}
