package devicedb

// Sealed at rest (docs/decisions/0033-sealed-at-rest.md). The sensitive
// columns are sealed with AES-256-GCM under one random data key; the data
// key is stored only wrapped (table key_wraps) by keys derived with
// argon2id from the officer's password and from the PIN. The store holds
// the data key in memory only between an unlock (OpenKey) and DropKey.
//
// A store is in one of two modes, read from sync_state 'sealed': plain (a
// store from before sealing, or one nobody has signed in on yet), whose
// sensitive columns are read and written as they are; and sealed, from the
// transaction that sealed it (Seal) on for ever, whose sensitive columns
// are read and written only with the data key held.

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/subtle"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/nacl/box"

	"doorstep/schema"
)

// Kinds of key wrap: the secrets that open the data key.
const (
	WrapPassword = "password"
	WrapPIN      = "pin"
)

// KeySealed is the sync_state key set when the store was sealed; never
// removed.
const KeySealed = "sealed"

// secretStates are the sync_state keys whose values are sealed: the tokens
// and the device's private key. State and SetState seal and open them.
var secretStates = map[string]bool{KeyAccessToken: true, KeyRefreshToken: true, KeyDeviceKey: true}

// Errors a caller branches on.
var (
	// ErrLocked: the store is sealed and the data key is not held. A
	// schema error (locked), so an HTTP edge answers it as 401 locked.
	ErrLocked error = schema.Errorf(schema.ECodeLocked, "", "the tablet is locked: its data key is not held; unlock with the password or the PIN (unsent changes are kept)")
	// ErrNoKeyWrap: no wrap of that kind is stored (never made, or
	// destroyed by DestroyKeyWraps).
	ErrNoKeyWrap = errors.New("no key wrap for this secret on the tablet")
	// ErrWrongSecret: the secret did not open its wrap.
	ErrWrongSecret = errors.New("the secret does not open the tablet's data key")
)

// KDF is the argon2id cost a wrap key is derived at: passes, memory in KiB
// and lanes. A wrap stores its own, so checking one costs what making it
// did.
type KDF struct {
	Passes, MemoryKiB uint32
	Lanes             uint8
}

// sealPrefix starts every sealed value: a version, then base64 of the
// nonce and the AES-GCM ciphertext. Nothing stored in clear starts so (a
// record's fields start with "{", tokens and keys are base64 or JWT).
const sealPrefix = "sealed1:"

// dataKey is the data key held in memory, with its cipher.
type dataKey struct {
	raw  []byte
	aead cipher.AEAD
}

func newDataKey(raw []byte) (*dataKey, error) {
	block, err := aes.NewCipher(raw)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &dataKey{raw: raw, aead: aead}, nil
}

func (k *dataKey) seal(aad string, plain []byte) string {
	nonce := make([]byte, k.aead.NonceSize(), k.aead.NonceSize()+len(plain)+k.aead.Overhead())
	rand.Read(nonce)
	out := k.aead.Seal(nonce, nonce, plain, []byte(aad))
	return sealPrefix + base64.RawStdEncoding.EncodeToString(out)
}

func (k *dataKey) open(aad, stored string) ([]byte, error) {
	b, err := base64.RawStdEncoding.DecodeString(stored[len(sealPrefix):])
	if err != nil || len(b) < k.aead.NonceSize() {
		return nil, fmt.Errorf("sealed value of %s is damaged", aad)
	}
	n := k.aead.NonceSize()
	plain, err := k.aead.Open(nil, b[:n], b[n:], []byte(aad))
	if err != nil {
		return nil, fmt.Errorf("sealed value of %s does not open with the data key (damaged, or moved from another row)", aad)
	}
	return plain, nil
}

// Sealed reports whether the store is sealed (Seal has run on it).
func (db *DB) Sealed() bool { return db.sealed.Load() }

// HoldsKey reports whether the data key is in memory.
func (db *DB) HoldsKey() bool { return db.key.Load() != nil }

// DropKey forgets the data key: the sealed columns cannot be read or
// written until the next OpenKey. Its bytes are overwritten (a best
// effort: the Go runtime may have copied them).
func (db *DB) DropKey() {
	if k := db.key.Swap(nil); k != nil {
		clear(k.raw)
	}
}

// sealText seals plain for the column named by aad, or keeps it as it is
// in a plain store. The empty value stays empty.
func (tx *Tx) sealText(aad string, plain []byte) (string, error) {
	if len(plain) == 0 || !tx.sealed {
		return string(plain), nil
	}
	if tx.key == nil {
		return "", ErrLocked
	}
	return tx.key.seal(aad, plain), nil
}

// openText opens a value sealText stored.
func (tx *Tx) openText(aad, stored string) ([]byte, error) {
	if stored == "" {
		return nil, nil
	}
	if !strings.HasPrefix(stored, sealPrefix) {
		if tx.sealed {
			return nil, fmt.Errorf("%s is stored in clear in a sealed store", aad)
		}
		return []byte(stored), nil
	}
	if tx.key == nil {
		return nil, ErrLocked
	}
	return tx.key.open(aad, stored)
}

// Additional data of each sealed column: a sealed value opens only in the
// row and column it was sealed for.
func recordAAD(entity, id string) string { return "records.fields:" + entity + ":" + id }
func outboxAAD(column, mutationID string) string {
	return "outbox." + column + ":" + mutationID
}
func logAAD(entity, recordID string) string { return "outbox_log.fields:" + entity + ":" + recordID }
func personAAD(id string) string            { return "people.name:" + id }
func stateAAD(key string) string            { return "sync_state:" + key }

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// deriveWrapKey derives the key that wraps the data key from a secret.
func deriveWrapKey(secret string, salt []byte, k KDF) (*dataKey, error) {
	return newDataKey(argon2.IDKey([]byte(secret), salt, k.Passes, k.MemoryKiB, k.Lanes, 32))
}

// putWrap stores the data key k wrapped by secret, in place of any wrap of
// that kind.
func (tx *Tx) putWrap(ctx context.Context, kind, secret string, k *dataKey, kdf KDF) error {
	if allZero(k.raw) {
		return ErrLocked // dropped (its bytes cleared) after this transaction began
	}
	salt := make([]byte, 16)
	rand.Read(salt)
	wk, err := deriveWrapKey(secret, salt, kdf)
	if err != nil {
		return fmt.Errorf("wrap the data key: %w", err)
	}
	nonce := make([]byte, wk.aead.NonceSize())
	rand.Read(nonce)
	wrapped := wk.aead.Seal(nonce, nonce, k.raw, []byte("key_wraps:"+kind))
	if _, err := tx.exec(ctx, `INSERT INTO key_wraps (kind, salt, memory_kib, passes, lanes, wrapped, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (kind) DO UPDATE SET salt = excluded.salt, memory_kib = excluded.memory_kib,
		passes = excluded.passes, lanes = excluded.lanes, wrapped = excluded.wrapped, created_at = excluded.created_at`,
		kind, salt, kdf.MemoryKiB, kdf.Passes, kdf.Lanes, wrapped, formatTime(tx.now)); err != nil {
		return fmt.Errorf("store the %s key wrap: %w", kind, err)
	}
	return nil
}

// PutKeyWrap wraps the held data key with secret (the password, or a new
// PIN) in place of any wrap of that kind. It needs the key held.
func (tx *Tx) PutKeyWrap(ctx context.Context, kind, secret string, kdf KDF) error {
	if !tx.sealed {
		return nil // a plain store has no data key yet: Seal makes it
	}
	if tx.key == nil {
		return ErrLocked
	}
	return tx.putWrap(ctx, kind, secret, tx.key, kdf)
}

// DeleteKeyWrap deletes the wrap of one kind (the PIN was removed or
// turned off): that secret no longer opens the data.
func (tx *Tx) DeleteKeyWrap(ctx context.Context, kind string) error {
	if _, err := tx.exec(ctx, "DELETE FROM key_wraps WHERE kind = ?", kind); err != nil {
		return fmt.Errorf("delete the %s key wrap: %w", kind, err)
	}
	return nil
}

// HasKeyWrap reports whether a wrap of kind is stored.
func (tx *Tx) HasKeyWrap(ctx context.Context, kind string) (bool, error) {
	var n int
	if err := tx.queryRow(ctx, "SELECT count(*) FROM key_wraps WHERE kind = ?", kind).Scan(&n); err != nil {
		return false, fmt.Errorf("read key wraps: %w", err)
	}
	return n > 0, nil
}

// OpenKey derives the wrap key of kind from secret, unwraps the data key
// and holds it. ErrNoKeyWrap when no such wrap is stored, ErrWrongSecret
// when the secret does not open it.
func (db *DB) OpenKey(ctx context.Context, kind, secret string) error {
	var salt, wrapped []byte
	var kdf KDF
	err := db.read.QueryRowContext(ctx, "SELECT salt, memory_kib, passes, lanes, wrapped FROM key_wraps WHERE kind = ?", kind).
		Scan(&salt, &kdf.MemoryKiB, &kdf.Passes, &kdf.Lanes, &wrapped)
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNoKeyWrap
	}
	if err != nil {
		return fmt.Errorf("read the %s key wrap: %w", kind, err)
	}
	wk, err := deriveWrapKey(secret, salt, kdf)
	if err != nil {
		return err
	}
	n := wk.aead.NonceSize()
	if len(wrapped) < n {
		return fmt.Errorf("the %s key wrap is damaged", kind)
	}
	raw, err := wk.aead.Open(nil, wrapped[:n], wrapped[n:], []byte("key_wraps:"+kind))
	if err != nil {
		return ErrWrongSecret
	}
	if old := db.key.Load(); old != nil && subtle.ConstantTimeCompare(old.raw, raw) == 1 {
		return nil // already held: transactions under way keep using it
	}
	k, err := newDataKey(raw)
	if err != nil {
		return fmt.Errorf("the %s key wrap holds no AES key: %w", kind, err)
	}
	db.key.Store(k)
	return nil
}

// DestroyKeyWraps deletes every wrap of the data key and drops the key
// held, then rebuilds the file so no copy of a wrap lingers in free pages
// or the WAL: from then on the sealed data cannot be read by anyone, with
// the password or without. What is not sealed (ids, dates, the outbox's
// order) stays. The next online sign-in starts the tablet afresh (Reseal).
func (db *DB) DestroyKeyWraps(ctx context.Context) error {
	db.DropKey()
	if _, err := db.write.ExecContext(ctx, "DELETE FROM key_wraps"); err != nil {
		return fmt.Errorf("destroy key wraps: %w", err)
	}
	if err := db.Compact(ctx); err != nil {
		return fmt.Errorf("destroy key wraps: %w", err)
	}
	return nil
}

// Seal seals a plain store: it makes a random data key, wraps it with the
// password, seals every sensitive value already stored (a store from
// before sealing, or the device key of a new tablet) and marks the store
// sealed, all in one transaction; then rebuilds the file and truncates the
// WAL so the plain text does not linger. The key is held afterwards. A
// sealed store is left as it is.
func (db *DB) Seal(ctx context.Context, password string, kdf KDF) error {
	return db.newKey(ctx, "seal the store", password, kdf, func(tx *Tx) (bool, error) {
		if tx.sealed {
			return false, nil
		}
		tx.sealed = true
		return true, tx.sealAll(ctx)
	})
}

// Reseal starts a sealed store afresh under a new data key wrapped by
// password, when the old key can no longer be opened (its wraps were
// destroyed): what was sealed under the old key is unreadable, so it is
// deleted (records, the outbox log, people, tokens, the device key, the
// PIN), and the next pull brings the caseload back. A pending outbox entry
// sealed to the server's outbox key too is kept, opaque: the next push
// delivers it as the server box; the others go. The caller has checked
// that the officer may lose what is deleted.
func (db *DB) Reseal(ctx context.Context, password string, kdf KDF) error {
	db.DropKey()
	return db.newKey(ctx, "reseal the store", password, kdf, func(tx *Tx) (bool, error) {
		kept, err := tx.keepBoxed(ctx)
		if err != nil {
			return false, err
		}
		if err := tx.Wipe(ctx); err != nil {
			return false, err
		}
		for _, q := range []string{"DELETE FROM key_wraps", "DELETE FROM sync_state WHERE key = 'device_key'"} {
			if _, err := tx.tx.ExecContext(ctx, q); err != nil {
				return false, err
			}
		}
		return true, tx.restoreBoxed(ctx, kept)
	})
}

// newKey makes a random data key and, in one transaction, runs fill with
// the key as the transaction's (fill reports whether to go on), wraps the
// key with the password and marks the store sealed; then holds the key and
// rebuilds the file, so nothing the transaction replaced lingers.
func (db *DB) newKey(ctx context.Context, what, password string, kdf KDF, fill func(*Tx) (bool, error)) error {
	raw := make([]byte, 32)
	rand.Read(raw)
	k, err := newDataKey(raw)
	if err != nil {
		return err
	}
	done := false
	err = db.Update(ctx, func(tx *Tx) error {
		tx.key = k
		if ok, err := fill(tx); err != nil || !ok {
			return err
		}
		if err := tx.putWrap(ctx, WrapPassword, password, k, kdf); err != nil {
			return err
		}
		done = true
		return tx.SetState(ctx, KeySealed, formatTime(tx.now))
	})
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if !done {
		return nil
	}
	db.sealed.Store(true)
	db.key.Store(k)
	if err := db.Compact(ctx); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// sealAll seals, in place, every sensitive value of a plain store.
func (tx *Tx) sealAll(ctx context.Context) error {
	steps := []struct {
		sel, upd string
		nkeys    int
		aad      func(keys []string, col int) string
	}{
		{"SELECT entity, id, fields FROM records", "UPDATE records SET fields = ? WHERE entity = ? AND id = ?", 2,
			func(k []string, _ int) string { return recordAAD(k[0], k[1]) }},
		{"SELECT mutation_id, fields, before, current, error FROM outbox", "UPDATE outbox SET fields = ?, before = ?, current = ?, error = ? WHERE mutation_id = ?", 1,
			func(k []string, col int) string {
				return outboxAAD([]string{"fields", "before", "current", "error"}[col], k[0])
			}},
		{"SELECT seq, entity, record_id, fields, error FROM outbox_log", "UPDATE outbox_log SET fields = ?, error = ? WHERE seq = ? AND entity = ? AND record_id = ?", 3,
			func(k []string, _ int) string { return logAAD(k[1], k[2]) }},
		{"SELECT id, name FROM people", "UPDATE people SET name = ? WHERE id = ?", 1,
			func(k []string, _ int) string { return personAAD(k[0]) }},
		{"SELECT key, value FROM sync_state WHERE key IN ('access_token', 'refresh_token', 'device_key')", "UPDATE sync_state SET value = ? WHERE key = ?", 1,
			func(k []string, _ int) string { return stateAAD(k[0]) }},
	}
	for _, s := range steps {
		rows, err := tx.tx.QueryContext(ctx, s.sel)
		if err != nil {
			return fmt.Errorf("seal: %w", err)
		}
		cols, _ := rows.Columns()
		var all [][]string
		for rows.Next() {
			v := make([]string, len(cols))
			ptrs := make([]any, len(cols))
			for i := range v {
				ptrs[i] = &v[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				rows.Close()
				return fmt.Errorf("seal: %w", err)
			}
			all = append(all, v)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("seal: %w", err)
		}
		for _, v := range all {
			keys, vals := v[:s.nkeys], v[s.nkeys:]
			args := make([]any, 0, len(v))
			for i, p := range vals {
				sealed, err := tx.sealText(s.aad(keys, i), []byte(p))
				if err != nil {
					return err
				}
				args = append(args, sealed)
			}
			for _, k := range keys {
				args = append(args, k)
			}
			if _, err := tx.tx.ExecContext(ctx, s.upd, args...); err != nil {
				return fmt.Errorf("seal: %w", err)
			}
		}
	}
	return nil
}

// boxedRow is a pending outbox row that the server can still open.
type boxedRow struct {
	seq                                                          int64
	mutationID, entity, recordID, caseID, clock, deviceTime, box string
	created, sig                                                 string
}

// CountUndeliverable counts the outbox rows a fresh start (Reseal) would
// lose: those the server set aside, and those waiting without a copy sealed
// to the server's key (made before the tablet received it). The others are
// kept, opaque, and delivered sealed.
func (tx *Tx) CountUndeliverable(ctx context.Context) (int, error) {
	var n int
	if err := tx.tx.QueryRowContext(ctx, `SELECT count(*) FROM outbox WHERE status != 'pending' OR server_box = ''`).Scan(&n); err != nil {
		return 0, fmt.Errorf("count the changes a fresh start would lose: %w", err)
	}
	return n, nil
}

// keepBoxed reads the pending outbox rows sealed to the server's key.
func (tx *Tx) keepBoxed(ctx context.Context) ([]boxedRow, error) {
	rows, err := tx.tx.QueryContext(ctx, `SELECT seq, mutation_id, entity, record_id, case_id, clock, device_time, server_box, created_at, device_signature
		FROM outbox WHERE status = 'pending' AND server_box != '' ORDER BY seq`)
	if err != nil {
		return nil, fmt.Errorf("reseal: %w", err)
	}
	defer rows.Close()
	var out []boxedRow
	for rows.Next() {
		var r boxedRow
		if err := rows.Scan(&r.seq, &r.mutationID, &r.entity, &r.recordID, &r.caseID, &r.clock, &r.deviceTime, &r.box, &r.created, &r.sig); err != nil {
			return nil, fmt.Errorf("reseal: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// restoreBoxed writes the kept rows back, opaque, in their order, with
// empty fields sealed under the new key.
func (tx *Tx) restoreBoxed(ctx context.Context, kept []boxedRow) error {
	for _, r := range kept {
		fields, err := tx.sealText(outboxAAD("fields", r.mutationID), []byte("{}"))
		if err != nil {
			return err
		}
		if _, err := tx.tx.ExecContext(ctx, `INSERT INTO outbox (seq, mutation_id, entity, record_id, case_id, fields, clock, device_time,
			created_at, device_signature, server_box, opaque) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)`,
			r.seq, r.mutationID, r.entity, r.recordID, r.caseID, fields, r.clock, r.deviceTime, r.created, r.sig, r.box); err != nil {
			return fmt.Errorf("reseal: keep change %s: %w", r.mutationID, err)
		}
	}
	return nil
}

// serverBox seals the wire form of m to the server's outbox key, or ""
// when the tablet holds none (a server older than it, or no sign-in yet).
func (tx *Tx) serverBox(ctx context.Context, m schema.Mutation) (string, error) {
	if tx.outboxKey == nil {
		pub, err := tx.State(ctx, KeyOutboxKey)
		if err != nil {
			return "", err
		}
		tx.outboxKey = new([32]byte)
		if b, err := base64.StdEncoding.DecodeString(pub); err == nil && len(b) == 32 {
			copy(tx.outboxKey[:], b)
		} else {
			tx.outboxKey = &[32]byte{} // none: the zero key marks it
		}
	}
	if *tx.outboxKey == ([32]byte{}) {
		return "", nil
	}
	plain, err := json.Marshal(m)
	if err != nil {
		return "", err
	}
	out, err := box.SealAnonymous(nil, plain, tx.outboxKey, rand.Reader)
	if err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(out), nil
}
