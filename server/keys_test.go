package server

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"doorstep/schema"
	"doorstep/server/serverdb/serverdbtest"

	"github.com/golang-jwt/jwt/v5"
)

// readKeys reads the key file of the server's secrets folder.
func readKeys(t *testing.T, dir string) keyFile {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, KeyFile))
	if err != nil {
		t.Fatal(err)
	}
	var f keyFile
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	return f
}

func kidOf(t *testing.T, tok string) string {
	t.Helper()
	p, _, err := jwt.NewParser().ParseUnverified(tok, &claims{})
	if err != nil {
		t.Fatal(err)
	}
	kid, _ := p.Header["kid"].(string)
	return kid
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if os.IsNotExist(err) {
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// The token key lives in a file of its own in the secrets folder, not in
// server.db: a copy of the data folder alone mints no token the server
// takes (issue 11, defect 4).
func TestTokenKeyIsApartFromTheData(t *testing.T) {
	t.Parallel()
	serverdbtest.SQLiteOnly(t, "it reads and copies server.db, the file")
	e := newEnv(t)
	ctx := context.Background()
	data := e.srv.cfg.DataDir
	secrets := DefaultSecretsDir(data)
	if e.srv.cfg.SecretsDir != secrets || strings.HasPrefix(secrets, data+string(filepath.Separator)) {
		t.Fatalf("secrets folder %s, want %s, outside the data folder %s", e.srv.cfg.SecretsDir, secrets, data)
	}
	tok := e.login("asha", "dev-asha").AccessToken
	keys := readKeys(t, secrets)
	if len(keys.Keys) != 1 || kidOf(t, tok) != keys.Current || keys.Current == "" {
		t.Fatalf("token kid %q, key file %+v: want one key, the token naming it", kidOf(t, tok), keys)
	}
	for path, want := range map[string]os.FileMode{secrets: 0o700, filepath.Join(secrets, KeyFile): 0o600} {
		if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != want {
			t.Errorf("%s: mode %v (%v), want %04o", path, fi.Mode().Perm(), err, want)
		}
	}
	if _, set, err := e.srv.DB().Setting(ctx, legacySecret); err != nil || set {
		t.Errorf("setting %s still set (%v)", legacySecret, err)
	}
	secret := keys.Keys[0].Secret
	for _, f := range []string{DBFile, DBFile + "-wal"} {
		b, _ := os.ReadFile(filepath.Join(data, f))
		if bytes.Contains(b, secret) || bytes.Contains(b, []byte(base64.StdEncoding.EncodeToString(secret))) ||
			bytes.Contains(b, []byte(base64.RawStdEncoding.EncodeToString(secret))) {
			t.Errorf("%s holds the token key", f)
		}
	}

	// A copy of the data folder, opened by a server of its own, signs
	// tokens the original refuses.
	stolen := filepath.Join(t.TempDir(), "stolen")
	if err := os.Mkdir(stolen, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{DBFile, DBFile + "-wal"} {
		copyFile(t, filepath.Join(data, f), filepath.Join(stolen, f))
	}
	thief, err := Open(ctx, Config{DataDir: stolen, Now: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer thief.Close()
	asha := e.users["asha"]
	forged, err := thief.accessToken(asha, "dev-asha", 0)
	if err != nil {
		t.Fatal(err)
	}
	if r := e.do("GET", "/v1/me", nil, bearer(forged)); r.status != 401 {
		t.Errorf("a token signed by a copy of the data folder: %d %s, want 401", r.status, r.body)
	}
	if r := e.do("GET", "/v1/me", nil, bearer(tok)); r.status != 200 {
		t.Errorf("the server's own token: %d %s", r.status, r.body)
	}
}

// Rotating the key keeps the tokens of the previous key valid until they
// expire; new tokens use the new key; a retired key stops verifying
// KeyRetention after its retirement and the next rotation forgets it.
func TestTokenKeyRotation(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	secrets := DefaultSecretsDir(e.srv.cfg.DataDir)
	old := e.login("asha", "dev-asha").AccessToken
	oldKid := kidOf(t, old)
	newKid, err := RotateKey(secrets, e.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	if newKid == oldKid {
		t.Fatal("the rotation kept the key")
	}
	if r := e.do("GET", "/v1/me", nil, bearer(old)); r.status != 200 {
		t.Errorf("a token of the previous key after rotation: %d %s, want 200", r.status, r.body)
	}
	fresh := e.login("ben", "dev-ben").AccessToken
	if got := kidOf(t, fresh); got != newKid {
		t.Errorf("a token made after the rotation names key %q, want %q", got, newKid)
	}
	if r := e.do("GET", "/v1/me", nil, bearer(fresh)); r.status != 200 {
		t.Errorf("a token of the new key: %d %s", r.status, r.body)
	}

	// Past the retention, the old key signs nothing the server takes, even
	// a token made now by whoever kept a copy of it.
	e.clock.Advance(KeyRetention + time.Minute)
	var oldSecret []byte
	for _, k := range readKeys(t, secrets).Keys {
		if k.ID == oldKid {
			oldSecret = k.Secret
		}
	}
	c := ashaClaims(e)
	late := signedWith(t, c, oldKid, oldSecret)
	if r := e.do("GET", "/v1/me", nil, bearer(late)); r.status != 401 {
		t.Errorf("a token signed with a key retired past the retention: %d %s, want 401", r.status, r.body)
	}
	if _, err := RotateKey(secrets, e.clock.Now()); err != nil {
		t.Fatal(err)
	}
	for _, k := range readKeys(t, secrets).Keys {
		if k.ID == oldKid {
			t.Errorf("key %s kept after its retention", oldKid)
		}
	}
	// A token without a kid is refused.
	noKid, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(oldSecret)
	if err != nil {
		t.Fatal(err)
	}
	if r := e.do("GET", "/v1/me", nil, bearer(noKid)); r.status != 401 {
		t.Errorf("a token without kid: %d %s, want 401", r.status, r.body)
	}
}

// ashaClaims are the claims of an access token of Asha's on dev-asha,
// made now and living 5 minutes.
func ashaClaims(e *env) claims {
	asha, now := e.users["asha"], e.clock.Now()
	return claims{Role: string(asha.Role), Team: asha.TeamID, Device: "dev-asha", RegisteredClaims: jwt.RegisteredClaims{
		Issuer: TokenIssuer, Subject: asha.ID, Audience: jwt.ClaimStrings{tokenAudience},
		IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(5 * time.Minute))}}
}

// signedWith signs c with secret, naming kid: a token as whoever holds a
// copy of that key makes one.
func signedWith(t *testing.T, c claims, kid string, secret []byte) string {
	t.Helper()
	tk := jwt.NewWithClaims(jwt.SigningMethodHS256, c)
	tk.Header["kid"] = kid
	s, err := tk.SignedString(secret)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// A rotation takes effect in a running server by itself, as
// docs/operations.md says: the key rotated out verifies for exactly
// KeyRetention after the rotation and no longer, with no sign-in or
// refresh (which reread the key file) in between; a second rotation drops
// it, and the server refuses it at once even if it never saw it retired.
func TestKeyRotatedOutStopsWithoutARestart(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	secrets := DefaultSecretsDir(e.srv.cfg.DataDir)
	oldKid := kidOf(t, e.login("asha", "dev-asha").AccessToken)
	kf := readKeys(t, secrets)
	oldSecret := kf.key(oldKid).Secret
	me := func(when string, want int) {
		t.Helper()
		tok := signedWith(t, ashaClaims(e), oldKid, oldSecret)
		if r := e.do("GET", "/v1/me", nil, bearer(tok)); r.status != want {
			t.Errorf("%s: a token of the rotated-out key = %d %s, want %d", when, r.status, r.body, want)
		}
	}
	if _, err := RotateKey(secrets, e.clock.Now()); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(KeyRetention - time.Minute)
	me("a minute before the retention ends", 200)
	e.clock.Advance(2 * time.Minute)
	me("a minute after the retention ended", 401)

	// Another server, which read the key file before the rotation and
	// holds the key as current, refuses it once a later rotation dropped it.
	e2 := newEnv(t)
	secrets2 := DefaultSecretsDir(e2.srv.cfg.DataDir)
	kid2 := kidOf(t, e2.login("asha", "dev-asha").AccessToken)
	kf2 := readKeys(t, secrets2)
	secret2 := kf2.key(kid2).Secret
	if _, err := RotateKey(secrets2, e2.clock.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := RotateKey(secrets2, e2.clock.Now().Add(KeyRetention+time.Minute)); err != nil {
		t.Fatal(err)
	}
	if r := e2.do("GET", "/v1/me", nil, bearer(signedWith(t, ashaClaims(e2), kid2, secret2))); r.status != 401 {
		t.Errorf("a token of a key dropped from the file: %d %s, want 401", r.status, r.body)
	}
}

// A database of an earlier version keeps its token secret in settings: it
// is removed at start, and the tokens it signed are refused.
func TestLegacyTokenSecretIsRemoved(t *testing.T) {
	t.Parallel()
	serverdbtest.SQLiteOnly(t, "the legacy secret was kept by SQLite stores, before PostgreSQL was one")
	e := newEnv(t)
	ctx := context.Background()
	data := e.srv.cfg.DataDir
	tok := e.login("asha", "dev-asha").AccessToken
	if err := e.srv.Close(); err != nil {
		t.Fatal(err)
	}
	legacy := bytes.Repeat([]byte{7}, 32)
	raw, err := sql.Open("sqlite", filepath.Join(data, DBFile))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec(`INSERT INTO settings (key, value) VALUES ('jwt_secret', ?)`, base64.RawStdEncoding.EncodeToString(legacy)); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	srv, err := Open(ctx, Config{DataDir: data, Now: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if _, set, err := srv.DB().Setting(ctx, legacySecret); err != nil || set {
		t.Errorf("jwt_secret still in the database after a start (%v)", err)
	}
	asha := e.users["asha"]
	now := e.clock.Now()
	c := claims{Role: string(asha.Role), Team: asha.TeamID, Device: "dev-asha", RegisteredClaims: jwt.RegisteredClaims{
		Issuer: TokenIssuer, Subject: asha.ID, Audience: jwt.ClaimStrings{tokenAudience},
		IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(5 * time.Minute))}}
	old, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(legacy)
	if err != nil {
		t.Fatal(err)
	}
	for name, tk := range map[string]string{"signed with the legacy secret": old, "signed before the restart": tok} {
		cl, err := srv.parseToken(tk)
		if name == "signed before the restart" {
			if err != nil || cl.Subject != asha.ID {
				t.Errorf("%s: %v, want accepted (the key file is kept)", name, err)
			}
			continue
		}
		if schema.ErrorCode(err) != schema.ECodeUnauthorized {
			t.Errorf("%s: %v, want unauthorized", name, err)
		}
	}
}
