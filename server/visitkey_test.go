package server

import (
	"crypto/ed25519"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"doorstep/schema"
)

// The server's visit signing key is made at first start in the secrets
// folder (mode 0600), not in the data, and the same key is read at the next
// start; a damaged file stops the server naming it. The login takes the
// tablet's public key: a malformed one is 400 naming device_public_key, a
// different one for an enrolled device 403.
func TestVisitSigningKeyAndDeviceKeyAtLogin(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	secrets := DefaultSecretsDir(e.srv.cfg.DataDir)
	path := filepath.Join(secrets, VisitKeyFile)
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("%s: %v, %v; want made with mode 0600", path, fi, err)
	}
	first, _, created, err := loadVisitKey(secrets, e.clock.Now())
	if err != nil || created {
		t.Fatalf("reading the key again: created %t, %v; want the same file read", created, err)
	}
	again, _, _, err := loadVisitKey(secrets, e.clock.Now())
	if err != nil || !first.Equal(again) {
		t.Fatalf("the key changed between two reads (%v)", err)
	}
	bad := t.TempDir()
	if err := os.WriteFile(filepath.Join(bad, VisitKeyFile), []byte(`{"private_key":"AAAA"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := loadVisitKey(bad, e.clock.Now()); err == nil || !strings.Contains(err.Error(), VisitKeyFile) {
		t.Errorf("a damaged key file: %v; want it named", err)
	}

	pub, _, _ := ed25519.GenerateKey(nil)
	key := base64.StdEncoding.EncodeToString(pub)
	login := func(k string) resp {
		return e.do("POST", "/v1/auth/login", schema.LoginRequest{Username: "asha", Password: pw, DeviceID: "dev-keyed", DevicePublicKey: k}, nil)
	}
	if r := login("bm90IGEga2V5"); r.status != 400 || !strings.Contains(string(r.body), `"device_public_key"`) {
		t.Errorf("a malformed key: %d %s; want 400 naming device_public_key", r.status, r.body)
	}
	if r := login(key); r.status != 200 {
		t.Fatalf("login with a key: %d %s", r.status, r.body)
	}
	other, _, _ := ed25519.GenerateKey(nil)
	if r := login(base64.StdEncoding.EncodeToString(other)); r.status != 403 || !strings.Contains(string(r.body), `"device_public_key"`) {
		t.Errorf("another key for the device: %d %s; want 403 naming device_public_key", r.status, r.body)
	}
	if r := login(""); r.status != 200 {
		t.Errorf("login without a key (an old app): %d %s", r.status, r.body)
	}
}
