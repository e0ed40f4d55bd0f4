package schema

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// The offline lease (docs/sync-protocol.md §5.1): every answer the server
// gives a device that proved its credential and is not revoked carries a
// lease signed with the server's Ed25519 key, saying how long the tablet
// may work without reaching the server again. The tablet verifies it
// against the server key it pinned at its first sign-in, and locks when the
// lease runs out.

// Answer headers of the server to a device (§5.1, §5.2).
const (
	// HeaderLease carries the lease: base64url(payload) "." base64url(signature).
	HeaderLease = "Doorstep-Lease"
	// HeaderDeviceStanding says whether the device may go on: "active" or
	// "revoked" (then the tablet wipes, as on device_revoked).
	HeaderDeviceStanding = "Doorstep-Device-Standing"
)

// Values of HeaderDeviceStanding.
const (
	StandingActive  = "active"
	StandingRevoked = "revoked"
)

// LeaseVersion is the version of the lease's payload this build makes and
// reads.
const LeaseVersion = 1

// leaseContext is signed before the payload, so that a lease signature can
// be nothing else the server's key signs (a visit's countersignature signs
// a bare 32-byte hash).
const leaseContext = "doorstep-lease-v1\n"

// MaxLeaseLen bounds the header a tablet reads as a lease.
const MaxLeaseLen = 2048

// Lease is the payload of a lease.
type Lease struct {
	Version  int    `json:"v"`
	DeviceID string `json:"device_id"`
	UserID   string `json:"user_id"`
	Username string `json:"username"`
	// IssuedAt is the server's time when it made the lease.
	IssuedAt time.Time `json:"issued_at"`
	// ValidUntil: after it the tablet locks until an online sign-in.
	ValidUntil time.Time `json:"valid_until"`
	// GraceUntil: after it the tablet destroys its keys.
	GraceUntil time.Time `json:"grace_until"`
}

func (l Lease) check() error {
	switch {
	case l.Version != LeaseVersion:
		return fmt.Errorf("lease version %d, this app reads %d", l.Version, LeaseVersion)
	case l.DeviceID == "" || l.UserID == "":
		return fmt.Errorf("the lease names no device or no user")
	case l.IssuedAt.IsZero() || !l.ValidUntil.After(l.IssuedAt) || l.GraceUntil.Before(l.ValidUntil):
		return fmt.Errorf("the lease's times are out of order (issued %s, valid until %s, grace until %s)",
			l.IssuedAt.Format(time.RFC3339), l.ValidUntil.Format(time.RFC3339), l.GraceUntil.Format(time.RFC3339))
	}
	return nil
}

// SignLease makes the header value of l, signed with the server's key.
func SignLease(key ed25519.PrivateKey, l Lease) (string, error) {
	l.Version = LeaseVersion
	if err := l.check(); err != nil {
		return "", err
	}
	payload, err := json.Marshal(l)
	if err != nil {
		return "", err
	}
	sig := ed25519.Sign(key, append([]byte(leaseContext), payload...))
	return base64.RawURLEncoding.EncodeToString(payload) + "." + base64.RawURLEncoding.EncodeToString(sig), nil
}

// VerifyLease checks a lease header value against the server's public key
// and returns its payload. Any change to the payload, a signature by
// another key, an unknown version or times out of order refuse it.
func VerifyLease(pub ed25519.PublicKey, token string) (Lease, error) {
	if len(token) > MaxLeaseLen {
		return Lease{}, fmt.Errorf("the lease is over %d bytes", MaxLeaseLen)
	}
	p64, s64, ok := strings.Cut(token, ".")
	if !ok {
		return Lease{}, fmt.Errorf("the lease is not payload.signature")
	}
	payload, err1 := base64.RawURLEncoding.Strict().DecodeString(p64)
	sig, err2 := base64.RawURLEncoding.Strict().DecodeString(s64)
	if err1 != nil || err2 != nil || len(sig) != ed25519.SignatureSize {
		return Lease{}, fmt.Errorf("the lease is not base64url payload and signature")
	}
	if len(pub) != ed25519.PublicKeySize || !ed25519.Verify(pub, append([]byte(leaseContext), payload...), sig) {
		return Lease{}, fmt.Errorf("the lease's signature is not the server's")
	}
	var l Lease
	if err := json.Unmarshal(payload, &l); err != nil {
		return Lease{}, fmt.Errorf("the lease does not decode: %w", err)
	}
	if err := l.check(); err != nil {
		return Lease{}, err
	}
	return l, nil
}

// EncodePublicKey is pub as base64 (standard, padded), as
// TokenResponse.ServerPublicKey and LoginRequest.DevicePublicKey carry a key.
func EncodePublicKey(pub ed25519.PublicKey) string { return base64.StdEncoding.EncodeToString(pub) }
