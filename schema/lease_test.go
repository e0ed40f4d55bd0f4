package schema

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"strings"
	"testing"
	"time"
)

func testLease() Lease {
	at := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	return Lease{DeviceID: "tab-1", UserID: "u-1", Username: "asha", IssuedAt: at, ValidUntil: at.AddDate(0, 0, 7), GraceUntil: at.AddDate(0, 0, 14)}
}

// TestLeaseSignature: a lease verifies against the key that signed it and
// nothing else; a changed byte, a signature of the bare payload (without
// the lease's context) or times out of order are refused.
func TestLeaseSignature(t *testing.T) {
	t.Parallel()
	pub, key, _ := ed25519.GenerateKey(rand.Reader)
	otherPub, _, _ := ed25519.GenerateKey(rand.Reader)
	tok, err := SignLease(key, testLease())
	if err != nil {
		t.Fatal(err)
	}
	l, err := VerifyLease(pub, tok)
	if want := testLease(); err != nil || l.Version != LeaseVersion || !l.ValidUntil.Equal(want.ValidUntil) || l.DeviceID != want.DeviceID {
		t.Fatalf("round trip: %+v, %v", l, err)
	}
	if _, err := VerifyLease(otherPub, tok); err == nil {
		t.Error("a lease verified against another key")
	}
	p64, s64, _ := strings.Cut(tok, ".")
	payload, _ := base64.RawURLEncoding.DecodeString(p64)
	altered := []byte(strings.Replace(string(payload), "2026-11-30", "2027-11-30", 1))
	if _, err := VerifyLease(pub, base64.RawURLEncoding.EncodeToString(altered)+"."+s64); err == nil {
		t.Error("an altered payload verified")
	}
	bare := base64.RawURLEncoding.EncodeToString(ed25519.Sign(key, payload))
	if _, err := VerifyLease(pub, p64+"."+bare); err == nil {
		t.Error("a signature of the payload without the lease context verified")
	}
	for _, bad := range []string{"", "x", p64, p64 + ".", "." + s64, strings.Repeat("a", MaxLeaseLen+1)} {
		if _, err := VerifyLease(pub, bad); err == nil {
			t.Errorf("%.20q verified", bad)
		}
	}
	l = testLease()
	l.GraceUntil = l.ValidUntil.Add(-time.Second)
	if _, err := SignLease(key, l); err == nil {
		t.Error("a lease whose grace ends before it was signed")
	}
}

// FuzzVerifyLease: whatever comes in the header, verifying never panics,
// and nothing but a real signature verifies.
func FuzzVerifyLease(f *testing.F) {
	pub, key, _ := ed25519.GenerateKey(rand.Reader)
	tok, _ := SignLease(key, testLease())
	f.Add(tok)
	f.Add("e30.AAAA")
	f.Fuzz(func(t *testing.T, s string) {
		if _, err := VerifyLease(pub, s); err == nil && s != tok {
			t.Fatalf("%q verified", s)
		}
	})
}
