package server

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/nacl/box"

	"doorstep/schema"
)

// The outbox key is made at first start in the secrets folder (mode 0600)
// and read again at the next; the login gives its public half. A push of
// mutations sealed to it applies what they hold; one that does not open,
// or that holds another mutation than its id says, is set aside naming
// "sealed", and the others in the batch still apply.
func TestOutboxKeyAndSealedMutations(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	secrets := DefaultSecretsDir(e.srv.cfg.DataDir)
	path := filepath.Join(secrets, OutboxKeyFile)
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("%s: %v, %v; want made with mode 0600", path, fi, err)
	}
	again, _, created, err := loadOutboxKey(secrets, e.clock.Now())
	if err != nil || created || again.pub != e.srv.outbox.pub {
		t.Fatalf("reading the key again: created %t, %v; want the same key read", created, err)
	}
	bad := t.TempDir()
	if err := os.WriteFile(filepath.Join(bad, OutboxKeyFile), []byte(`{"private_key":"AAAA"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := loadOutboxKey(bad, e.clock.Now()); err == nil || !strings.Contains(err.Error(), OutboxKeyFile) {
		t.Errorf("a damaged key file: %v; want it named", err)
	}

	tr := e.login("asha", "dev-asha")
	pubBytes, err := base64.StdEncoding.DecodeString(tr.OutboxKey)
	if err != nil || len(pubBytes) != 32 {
		t.Fatalf("the login's outbox_key %q", tr.OutboxKey)
	}
	var pub [32]byte
	copy(pub[:], pubBytes)
	seal := func(m schema.Mutation, to *[32]byte) string {
		b, _ := json.Marshal(m)
		out, err := box.SealAnonymous(nil, b, to, rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return base64.StdEncoding.EncodeToString(out)
	}
	good := visitMutation(e.ashaCase, "dev-asha", 1000)
	wrongKey := visitMutation(e.ashaCase, "dev-asha", 1001)
	otherPub, _, _ := box.GenerateKey(rand.Reader)
	swapped := visitMutation(e.ashaCase, "dev-asha", 1002)
	plain := visitMutation(e.ashaCase, "dev-asha", 1003)
	batch := []schema.Mutation{
		{ID: good.ID, Sealed: seal(good, &pub)},
		{ID: wrongKey.ID, Sealed: seal(wrongKey, otherPub)},
		{ID: swapped.ID, Sealed: seal(plain, &pub)},
		{ID: schema.NewID(), Sealed: "not base64!"},
		plain,
	}
	r := e.do("POST", "/v1/sync/push", schema.PushRequest{Mutations: batch}, bearer(tr.AccessToken))
	var pr schema.PushResponse
	r.decode(t, &pr)
	if r.status != 200 || len(pr.Results) != len(batch) {
		t.Fatalf("push = %d %s", r.status, r.body)
	}
	want := []string{schema.StatusApplied, schema.StatusRejected, schema.StatusRejected, schema.StatusRejected, schema.StatusApplied}
	for i, res := range pr.Results {
		if res.MutationID != batch[i].ID || res.Status != want[i] {
			t.Errorf("result %d: %+v, want %s for %s", i, res, want[i], batch[i].ID)
		}
		if res.Status == schema.StatusRejected && (res.Error == nil || res.Error.Field != "sealed") {
			t.Errorf("result %d: %+v, want the refusal to name sealed", i, res.Error)
		}
	}
	r = e.do("GET", "/v1/visits/"+good.RecordID, nil, bearer(tr.AccessToken))
	if r.status != 200 || !strings.Contains(string(r.body), `"planned"`) {
		t.Errorf("the sealed visit on the server: %d %s", r.status, r.body)
	}
}
