package serverdb

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"doorstep/schema"
)

// enrol signs user u in on device dev with a fresh Ed25519 key and returns it.
func (f *fixture) enrol(t *testing.T, u schema.User, dev string) ed25519.PrivateKey {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.Login(context.Background(), u, dev, DeviceInfo{PublicKey: base64.StdEncoding.EncodeToString(pub)}, time.Hour); err != nil {
		t.Fatalf("login with a key: %v", err)
	}
	return priv
}

// signed is a mutation signing visit vid, with key's signature of the
// visit's content as the server will store it (nil key: no signature).
func signedMutation(t *testing.T, key ed25519.PrivateKey, vid, caseID, signer, node string) schema.Mutation {
	t.Helper()
	m := mutation("visit", vid, caseID, stamp(1000, node), signedVisit(signer))
	if key != nil {
		hash, err := schema.ContentHash("visit", vid, caseID, m.Fields, "")
		if err != nil {
			t.Fatal(err)
		}
		sig, err := schema.SignHash(key, hash)
		if err != nil {
			t.Fatal(err)
		}
		m.DeviceSignature = &schema.DeviceSignature{ContentHash: hash, Signature: sig}
	}
	return m
}

// A signature by the device's registered key is verified and countersigned;
// one by another key (a forgery) is kept, flagged in the review queue and
// named by VerifyVisit; a visit from a tablet that sends none is applied
// and marked unsigned.
func TestDeviceSignatureVerifiedForgedAndAbsent(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	key := f.enrol(t, f.asha, "dev-asha-2")
	a := f.actor(f.asha, "dev-asha-2")

	good := schema.NewID()
	if res := f.push(t, a, signedMutation(t, key, good, f.ashaCase, f.asha.ID, "dev-asha-2")); res[0].Status != schema.StatusApplied {
		t.Fatalf("signed visit: %+v", res[0])
	}
	chk, err := f.db.VerifyVisit(ctx, good)
	if err != nil || chk.Signature.Status != SigVerified || !chk.DeviceKeyOK || !chk.CountersignatureOK || len(chk.Breaks) != 0 ||
		chk.Signature.DeviceID != "dev-asha-2" || chk.Signature.OfficerID != f.asha.ID || chk.StoredHash != chk.Signature.ContentHash {
		t.Fatalf("verify a well signed visit: %+v, %v", chk, err)
	}

	_, other, _ := ed25519.GenerateKey(nil)
	forged := schema.NewID()
	if res := f.push(t, a, signedMutation(t, other, forged, f.ashaCase, f.asha.ID, "dev-asha-2")); res[0].Status != schema.StatusApplied {
		t.Fatalf("a visit with a forged signature must still be kept: %+v", res[0])
	}
	chk, err = f.db.VerifyVisit(ctx, forged)
	if err != nil || chk.Signature.Status != SigInvalid || chk.DeviceKeyOK || len(chk.Breaks) == 0 ||
		!strings.Contains(chk.Breaks[0], "does not verify against the device's registered key") {
		t.Fatalf("verify a forged visit: %+v, %v; want flagged", chk, err)
	}
	q, err := f.db.ReviewQueue(ctx, f.actor(f.sue, ""), ReviewFilter{Kind: KindVisit})
	if err != nil {
		t.Fatal(err)
	}
	flagged := map[string]bool{}
	for _, v := range q.Visits {
		for _, w := range v.Warnings {
			if w.Code == ECodeDeviceSignature {
				flagged[v.ID] = true
			}
		}
	}
	if !flagged[forged] || flagged[good] {
		t.Errorf("review queue flags %v; want the forged visit %s only", flagged, forged)
	}

	// An old tablet (the fixture's dev-asha signed in without a key).
	old := schema.NewID()
	if res := f.push(t, f.actor(f.asha, f.ashaDev), signedMutation(t, nil, old, f.ashaCase, f.asha.ID, f.ashaDev)); res[0].Status != schema.StatusApplied {
		t.Fatalf("an old tablet's signed visit: %+v", res[0])
	}
	chk, err = f.db.VerifyVisit(ctx, old)
	if err != nil || chk.Signature.Status != SigUnsigned || !strings.Contains(chk.Signature.Problem, "unsigned by device") || len(chk.Breaks) != 0 {
		t.Fatalf("verify an old tablet's visit: %+v, %v; want unsigned and intact", chk, err)
	}
}

// A tablet that enrolled without a key registers one at its next sign-in;
// a different key for the same device afterwards is refused, and a key
// that is not one is refused naming the field.
func TestDeviceKeyRegisteredAtNextSignIn(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	key := f.enrol(t, f.asha, f.ashaDev) // enrolled keyless in newFixture
	var stored string
	if err := f.db.r.QueryRowContext(ctx, `SELECT public_key FROM devices WHERE id = ?`, f.ashaDev).Scan(&stored); err != nil ||
		stored != base64.StdEncoding.EncodeToString(key.Public().(ed25519.PublicKey)) {
		t.Fatalf("the key registered at the next sign-in: %q, %v", stored, err)
	}
	pub2, _, _ := ed25519.GenerateKey(nil)
	_, err := f.db.Login(ctx, f.asha, f.ashaDev, DeviceInfo{PublicKey: base64.StdEncoding.EncodeToString(pub2)}, time.Hour)
	if e := schema.AsError(err); e == nil || e.Code != schema.ECodeForbidden || e.Field != "device_public_key" {
		t.Errorf("another key for the device: %v; want forbidden on device_public_key", err)
	}
	_, err = f.db.Login(ctx, f.asha, f.ashaDev, DeviceInfo{PublicKey: "not a key"}, time.Hour)
	if e := schema.AsError(err); e == nil || e.Code != schema.ECodeInvalid || e.Field != "device_public_key" {
		t.Errorf("a malformed key: %v; want invalid device_public_key", err)
	}
	// Without a key (an old app) the sign-in works and the key stays.
	if _, err := f.db.Login(ctx, f.asha, f.ashaDev, DeviceInfo{}, time.Hour); err != nil {
		t.Errorf("sign-in without a key: %v", err)
	}
}

// A kept signature replaced in the database along with a key of the
// replacer's own (the row names the key that countersigned it) does not
// hold: only this server's visit signing key countersigns.
func TestCountersignatureOnlyByTheServersKey(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	key := f.enrol(t, f.asha, "dev-asha-2")
	vid := schema.NewID()
	if res := f.push(t, f.actor(f.asha, "dev-asha-2"), signedMutation(t, key, vid, f.ashaCase, f.asha.ID, "dev-asha-2")); res[0].Status != schema.StatusApplied {
		t.Fatalf("signed visit: %+v", res[0])
	}
	chk, err := f.db.VerifyVisit(ctx, vid)
	if err != nil || !chk.CountersignatureOK || len(chk.Breaks) != 0 {
		t.Fatalf("before: %+v, %v; want intact", chk, err)
	}
	pub, other, _ := ed25519.GenerateKey(nil)
	s := chk.Signature
	s.ServerKey = base64.StdEncoding.EncodeToString(pub)
	if s.ServerSignature, err = schema.SignHash(other, s.countersignedHash()); err != nil {
		t.Fatal(err)
	}
	if !s.VerifyCountersignature() {
		t.Fatal("the replacement countersignature does not even verify under its own key")
	}
	if _, err := f.db.w.ExecContext(ctx, `UPDATE visit_signatures SET server_key = ?, server_signature = ? WHERE record_id = ?`, s.ServerKey, s.ServerSignature, vid); err != nil {
		t.Fatal(err)
	}
	chk, err = f.db.VerifyVisit(ctx, vid)
	if err != nil || chk.CountersignatureOK || len(chk.Breaks) != 1 || !strings.Contains(chk.Breaks[0], "countersigned by a key that is not this server's visit signing key") {
		t.Fatalf("after the replacement: %+v, %v; want the countersignature refused, naming the key", chk, err)
	}
}
