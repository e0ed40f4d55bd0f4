package server

import (
	"context"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"doorstep/internal/fsperm"
	"doorstep/server/serverdb"

	"github.com/golang-jwt/jwt/v5"
)

// The token signing keys live in a file of their own, in a secrets folder
// apart from the data folder (Config.SecretsDir), so that a copy of the
// data, a backup of server.db above all, cannot mint a token
// (docs/operations.md, "Secrets"). Each token names the key that signed it
// in its "kid" header. Rotating adds a new current key and keeps the
// previous ones for verification until every token they signed has
// expired (KeyRetention), so nobody is signed out by a rotation.
const (
	// KeyFile is the keys' file inside Config.SecretsDir.
	KeyFile = "token-keys.json"
	// KeyRetention is how long a key that is no longer current still
	// verifies tokens: longer than any token lives (an access token 15
	// minutes by default, a dashboard session 12 hours).
	KeyRetention = 24 * time.Hour
)

// DefaultSecretsDir is the secrets folder used when none is given: a
// sibling of the data folder named after it ("./data" → "./data-secrets"),
// outside it so that a copy of the data folder leaves it behind.
func DefaultSecretsDir(dataDir string) string { return filepath.Clean(dataDir) + "-secrets" }

// signingKey is one key of the key file.
type signingKey struct {
	ID        string     `json:"kid"`
	Secret    []byte     `json:"secret"` // 32 random bytes, base64 in the file
	CreatedAt time.Time  `json:"created_at"`
	RetiredAt *time.Time `json:"retired_at,omitempty"` // when another became current
}

// keyFile is the key file's content. Current names the key that signs.
type keyFile struct {
	Current string       `json:"current"`
	Keys    []signingKey `json:"keys"`
}

func (f *keyFile) key(kid string) *signingKey {
	for i := range f.Keys {
		if f.Keys[i].ID == kid {
			return &f.Keys[i]
		}
	}
	return nil
}

func (f *keyFile) check(path string) error {
	if f.key(f.Current) == nil {
		return fmt.Errorf("%s: the current key %q is not among its keys; restore the file from where you keep the secrets", path, f.Current)
	}
	for _, k := range f.Keys {
		if k.ID == "" || len(k.Secret) < 32 {
			return fmt.Errorf("%s: key %q is damaged (no id, or shorter than 32 bytes); restore the file from where you keep the secrets", path, k.ID)
		}
	}
	return nil
}

// newSigningKey makes a key of 32 random bytes with a random id.
func newSigningKey(now time.Time) signingKey {
	b := make([]byte, 40)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return signingKey{ID: hex.EncodeToString(b[32:]), Secret: b[:32], CreatedAt: now.UTC()}
}

// rotate makes a new current key, retires the previous one and drops keys
// retired longer than KeyRetention ago.
func (f *keyFile) rotate(now time.Time) signingKey {
	now = now.UTC()
	k := newSigningKey(now)
	f.Keys = slices.DeleteFunc(f.Keys, func(k signingKey) bool {
		return k.RetiredAt != nil && now.Sub(*k.RetiredAt) > KeyRetention
	})
	for i := range f.Keys {
		if f.Keys[i].RetiredAt == nil {
			f.Keys[i].RetiredAt = &now
		}
	}
	f.Keys = append(f.Keys, k)
	f.Current = k.ID
	return k
}

func readKeyFile(path string) (*keyFile, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var f keyFile
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("%s: not a key file (%v); restore it from where you keep the secrets", path, err)
	}
	return &f, f.check(path)
}

// writeKeyFile replaces the key file whole (a temporary file renamed over
// it), readable by the owner only.
func writeKeyFile(path string, f any) error {
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+"-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// RotateKey makes a new current signing key in the secrets folder dir:
// tokens are signed with it from now on (a running server notices the
// changed file at its next sign-in or refresh), and the previous keys
// still verify the tokens they signed until KeyRetention after their
// retirement. It returns the new key's id.
func RotateKey(dir string, now time.Time) (string, error) {
	if err := fsperm.CheckDir(dir, "secrets folder"); err != nil {
		return "", err
	}
	path := filepath.Join(dir, KeyFile)
	f, err := readKeyFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("no key file at %s: start the server once to make one, or check --secrets", path)
	}
	if err != nil {
		return "", err
	}
	k := f.rotate(now)
	if err := writeKeyFile(path, f); err != nil {
		return "", err
	}
	return k.ID, nil
}

// keyring is the server's view of the key file, read again when the file
// changes (after a rotation by `doorstep admin rotate-key`).
type keyring struct {
	path string

	mu   sync.Mutex
	file *keyFile
	seen os.FileInfo // the file as it was when read
}

// loadKeyring reads the key file in dir, making the folder and a first key
// when there is none; created says it did.
func loadKeyring(dir string, now time.Time) (_ *keyring, created bool, err error) {
	if err := fsperm.MakeDir(dir, "secrets folder"); err != nil {
		return nil, false, err
	}
	kr := &keyring{path: filepath.Join(dir, KeyFile)}
	if _, err := fsperm.Tighten(kr.path); err != nil {
		return nil, false, err
	}
	f, err := readKeyFile(kr.path)
	if errors.Is(err, os.ErrNotExist) {
		f = &keyFile{}
		f.rotate(now)
		if err := writeKeyFile(kr.path, f); err != nil {
			return nil, false, err
		}
		created = true
	} else if err != nil {
		return nil, false, err
	}
	kr.file = f
	kr.stat()
	return kr, created, nil
}

// stat records the file as read; the caller holds mu (or owns kr).
func (kr *keyring) stat() {
	if fi, err := os.Stat(kr.path); err == nil {
		kr.seen = fi
	}
}

// refresh reads the file again when it changed since it was read: another
// file renamed over it (a rotation writes a new file), or the same file
// with another size or time of change. A file that cannot be read keeps
// the keys in memory: the server goes on with the keys it has, and says so.
func (kr *keyring) refresh() error {
	fi, err := os.Stat(kr.path)
	if err != nil {
		return fmt.Errorf("token keys: %w", err)
	}
	if kr.seen != nil && os.SameFile(fi, kr.seen) && fi.ModTime().Equal(kr.seen.ModTime()) && fi.Size() == kr.seen.Size() {
		return nil
	}
	f, err := readKeyFile(kr.path)
	if err != nil {
		return fmt.Errorf("token keys: %w", err)
	}
	kr.file, kr.seen = f, fi
	return nil
}

// current returns the key that signs, reading the file again first when
// it changed.
func (kr *keyring) current() (signingKey, error) {
	kr.mu.Lock()
	defer kr.mu.Unlock()
	err := kr.refresh()
	return *kr.file.key(kr.file.Current), err
}

// lookup returns the key kid as the file has it now: the file is checked
// for a change (one stat) at every lookup, so that a rotation by another
// process (doorstep admin rotate-key) retires the previous key, and a
// later one drops it, for every token checked after it, with or without a
// sign-in between. A file that cannot be read keeps the keys in memory.
func (kr *keyring) lookup(kid string) (signingKey, bool) {
	kr.mu.Lock()
	defer kr.mu.Unlock()
	_ = kr.refresh() // reported where the server signs (current)
	if k := kr.file.key(kid); k != nil {
		return *k, true
	}
	return signingKey{}, false
}

// derive returns the key for purpose derived from secret: "" is the API's
// access tokens (the secret itself).
func derive(secret []byte, purpose string) []byte {
	if purpose == "" {
		return secret
	}
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(purpose))
	return m.Sum(nil)
}

// Key derives a signing key for one purpose from the server's current
// token key: a key that signs something else than the API's tokens, and
// cannot be taken for theirs. Tokens that must outlive a key rotation use
// SignToken and TokenKeyfunc instead, which name the key in the token.
func (s *Server) Key(purpose string) []byte {
	k, err := s.keys.current()
	if err != nil {
		s.log.Warn("token keys not read again; signing with the key already loaded", "err", err)
	}
	return derive(k.Secret, purpose)
}

// SignToken signs claims HS256 with the current key derived for purpose
// ("" for the API's access tokens), naming the key in the "kid" header.
func (s *Server) SignToken(purpose string, c jwt.Claims) (string, error) {
	k, err := s.keys.current()
	if err != nil {
		s.log.Warn("token keys not read again; signing with the key already loaded", "err", err)
	}
	t := jwt.NewWithClaims(jwt.SigningMethodHS256, c)
	t.Header["kid"] = k.ID
	return t.SignedString(derive(k.Secret, purpose))
}

// TokenKeyfunc returns the key, derived for purpose, that a token's "kid"
// header names: the current key or one retired less than KeyRetention
// ago. A token without a kid, or naming a key the server does not hold,
// is refused.
func (s *Server) TokenKeyfunc(purpose string) jwt.Keyfunc {
	return func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		k, ok := s.keys.lookup(kid)
		if kid == "" || !ok {
			return nil, errors.New("unknown signing key")
		}
		if k.RetiredAt != nil && s.cfg.Now().Sub(*k.RetiredAt) > KeyRetention {
			return nil, errors.New("signing key retired")
		}
		return derive(k.Secret, purpose), nil
	}
}

// legacySecret is the setting earlier builds kept the token secret in,
// inside server.db, where every backup carried it.
const legacySecret = "jwt_secret"

// dropLegacySecret removes the token secret of an earlier build from the
// database. It is not carried over to the key file: every copy of the
// database holds it, so it must sign nothing any more. The tokens it
// signed (without a kid) are refused from now on: tablets refresh theirs
// without anyone noticing, dashboard users sign in again
// (docs/decisions/0022-token-keys-apart-from-the-data.md).
func dropLegacySecret(ctx context.Context, db *serverdb.DB, log *slog.Logger) error {
	dropped, err := db.DeleteSetting(ctx, legacySecret)
	if err != nil {
		return err
	}
	if dropped {
		log.Warn("removed the token secret an earlier version kept in the database; tokens it signed are no longer accepted (tablets refresh theirs, dashboard users sign in again)")
	}
	return nil
}

// VisitKeyFile is the server's Ed25519 key that countersigns the visits
// tablets sign (docs/sync-protocol.md §6.1), in Config.SecretsDir beside
// the token keys. Made on first start; never rotated by the server, since
// every countersignature names the public key that made it.
const VisitKeyFile = "visit-signing-key.json"

type visitKeyFile struct {
	PublicKey  []byte    `json:"public_key"`  // 32 bytes, base64 in the file
	PrivateKey []byte    `json:"private_key"` // the 32-byte seed, base64
	CreatedAt  time.Time `json:"created_at"`
}

// loadVisitKey reads the visit signing key in dir, making one when there is
// none; created says it did. dir exists (loadKeyring made it).
func loadVisitKey(dir string, now time.Time) (_ ed25519.PrivateKey, path string, created bool, err error) {
	var f visitKeyFile
	path, created, err = readOrMakeKeyFile(dir, VisitKeyFile, &f, func() (any, error) {
		pub, priv, err := ed25519.GenerateKey(rand.Reader)
		return visitKeyFile{PublicKey: pub, PrivateKey: priv.Seed(), CreatedAt: now.UTC()}, err
	})
	if err != nil {
		return nil, path, false, err
	}
	if len(f.PrivateKey) != ed25519.SeedSize {
		return nil, path, false, fmt.Errorf("%s: not a visit signing key file; restore it from where you keep the secrets", path)
	}
	priv := ed25519.NewKeyFromSeed(f.PrivateKey)
	if !slices.Equal([]byte(priv.Public().(ed25519.PublicKey)), f.PublicKey) {
		return nil, path, false, fmt.Errorf("%s: the public key does not match the private key; restore the file from where you keep the secrets", path)
	}
	return priv, path, created, nil
}

// ReadVisitKey reads the visit signing key in the secrets folder dir
// without making one: what checks a countersignature (doorstep admin
// verify-visit) must use the server's own key, never a new one.
func ReadVisitKey(dir string) (ed25519.PrivateKey, error) {
	path := filepath.Join(dir, VisitKeyFile)
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("no visit signing key at %s (give the server's secrets folder with --secrets): %w", path, err)
	}
	priv, _, _, err := loadVisitKey(dir, time.Time{})
	return priv, err
}

// readOrMakeKeyFile reads the key file name in dir (mode 0600, made so if
// it was looser) into v; when there is none it writes newFile's value there
// first, and says it did. A file that does not decode is named.
func readOrMakeKeyFile(dir, name string, v any, newFile func() (any, error)) (path string, created bool, err error) {
	path = filepath.Join(dir, name)
	if _, err := fsperm.Tighten(path); err != nil {
		return path, false, err
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		f, err := newFile()
		if err != nil {
			return path, false, err
		}
		if err := writeKeyFile(path, f); err != nil {
			return path, false, err
		}
		if b, err = json.Marshal(f); err != nil {
			return path, false, err
		}
		created = true
	} else if err != nil {
		return path, false, err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return path, false, fmt.Errorf("%s: not a key file (%v); restore it from where you keep the secrets", path, err)
	}
	return path, created, nil
}
