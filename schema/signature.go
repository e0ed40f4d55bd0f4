package schema

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
)

// DeviceSignature is a tablet's signature of a signed visit or an
// amendment, sent on the mutation that signs it (protocol §6.1). The
// device signs the 32 bytes of ContentHash with its Ed25519 key, the one
// whose public half it registered at sign-in (LoginRequest.DevicePublicKey).
type DeviceSignature struct {
	// ContentHash is the lowercase hex SHA-256 of SignedContent of the
	// record as the tablet holds it once signed.
	ContentHash string `json:"content_hash"`
	// Signature is the Ed25519 signature of the hash's 32 bytes, base64
	// (standard, padded).
	Signature string `json:"signature"`
}

// SignedContent is the canonical encoding a device signature covers, defined
// once here for tablet and server alike (docs/sync-protocol.md §6.1): a JSON
// object with the keys sorted, no white space, of
//
//	{"amends": H, "case_id": C, "entity": E, "fields": F, "id": I}
//
// where F holds the record's fields as stored, each value re-encoded with
// its object keys sorted and fields whose value is null, "", [] or {}
// left out (a field absent and a field empty are the same record), and
// "amends" is present only for an amendment: the content hash of the visit
// it amends, which chains the amendment to what it amends. Server-set
// columns (version, received_at, updated_by ...) are not fields and are not
// covered.
func SignedContent(entity, id, caseID string, fields map[string]json.RawMessage, amends string) ([]byte, error) {
	f := make(map[string]any, len(fields))
	for k, raw := range fields {
		if isEmpty(raw) {
			continue
		}
		d := json.NewDecoder(bytes.NewReader(raw))
		d.UseNumber()
		var v any
		if err := d.Decode(&v); err != nil {
			return nil, fmt.Errorf("signed content of %s %s: field %s: %w", entity, id, k, err)
		}
		f[k] = v
	}
	doc := map[string]any{"entity": entity, "id": id, "case_id": caseID, "fields": f}
	if amends != "" {
		doc["amends"] = amends
	}
	// encoding/json writes map keys sorted, at every depth.
	return json.Marshal(doc)
}

// ContentHash is the lowercase hex SHA-256 of SignedContent.
func ContentHash(entity, id, caseID string, fields map[string]json.RawMessage, amends string) (string, error) {
	b, err := SignedContent(entity, id, caseID, fields, amends)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}

// SignHash signs a content hash (hex) with a device or server key.
func SignHash(key ed25519.PrivateKey, hash string) (string, error) {
	b, err := hex.DecodeString(hash)
	if err != nil || len(b) != sha256.Size {
		return "", fmt.Errorf("content hash %q is not 64 hex digits", hash)
	}
	return base64.StdEncoding.EncodeToString(ed25519.Sign(key, b)), nil
}

// VerifyHash reports whether sig (base64) is pub's signature of hash (hex).
func VerifyHash(pub ed25519.PublicKey, hash, sig string) bool {
	b, err := hex.DecodeString(hash)
	if err != nil || len(b) != sha256.Size || len(pub) != ed25519.PublicKeySize {
		return false
	}
	s, err := base64.StdEncoding.DecodeString(sig)
	if err != nil || len(s) != ed25519.SignatureSize {
		return false
	}
	return ed25519.Verify(pub, b, s)
}

// ParsePublicKey decodes a base64 Ed25519 public key (LoginRequest's
// device_public_key).
func ParsePublicKey(s string) (ed25519.PublicKey, error) {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(b) != ed25519.PublicKeySize {
		return nil, Errorf(ECodeInvalid, "device_public_key", "device_public_key must be a base64 Ed25519 public key (32 bytes)")
	}
	return ed25519.PublicKey(b), nil
}
