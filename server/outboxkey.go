package server

// The outbox key (docs/sync-protocol.md §6.2, decision 0033): an X25519 key
// pair whose public half every tablet gets with its tokens and seals each
// outbox entry to, besides its own data key. A tablet whose data keys were
// destroyed can no longer read its unsent changes, but still delivers them
// sealed at its next online sign-in; only the server opens them.

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"time"

	"golang.org/x/crypto/curve25519"
	"golang.org/x/crypto/nacl/box"

	"doorstep/schema"
)

// OutboxKeyFile is the server's outbox key pair, in Config.SecretsDir beside
// the token keys. Made on first start; never rotated by the server, since a
// tablet may hold entries sealed to it for as long as it stays offline.
const OutboxKeyFile = "outbox-key.json"

type outboxKeyFile struct {
	PublicKey  []byte    `json:"public_key"`  // 32 bytes, base64 in the file
	PrivateKey []byte    `json:"private_key"` // 32 bytes, base64
	CreatedAt  time.Time `json:"created_at"`
}

// outboxKey is the loaded pair.
type outboxKey struct {
	pub, priv [32]byte
}

// loadOutboxKey reads the outbox key in dir, making one when there is none;
// created says it did. dir exists (loadKeyring made it).
func loadOutboxKey(dir string, now time.Time) (_ *outboxKey, path string, created bool, err error) {
	var f outboxKeyFile
	path, created, err = readOrMakeKeyFile(dir, OutboxKeyFile, &f, func() (any, error) {
		pub, priv, err := box.GenerateKey(rand.Reader)
		if err != nil {
			return nil, err
		}
		return outboxKeyFile{PublicKey: pub[:], PrivateKey: priv[:], CreatedAt: now.UTC()}, nil
	})
	if err != nil {
		return nil, path, false, err
	}
	if len(f.PrivateKey) != 32 || len(f.PublicKey) != 32 {
		return nil, path, false, fmt.Errorf("%s: not an outbox key file; restore it from where you keep the secrets", path)
	}
	k := &outboxKey{}
	copy(k.pub[:], f.PublicKey)
	copy(k.priv[:], f.PrivateKey)
	if pub, err := curve25519.X25519(k.priv[:], curve25519.Basepoint); err != nil || string(pub) != string(k.pub[:]) {
		return nil, path, false, fmt.Errorf("%s: the public key does not match the private key; restore the file from where you keep the secrets", path)
	}
	return k, path, created, nil
}

// public is the public half as TokenResponse.outbox_key carries it.
func (k *outboxKey) public() string { return base64.StdEncoding.EncodeToString(k.pub[:]) }

// open returns the mutation m.Sealed holds, which must carry m's id.
func (k *outboxKey) open(m schema.Mutation) (schema.Mutation, error) {
	bad := func(why string) error {
		return schema.Errorf(schema.ECodeInvalid, "sealed", "the sealed mutation %s", why)
	}
	b, err := base64.StdEncoding.DecodeString(m.Sealed)
	if err != nil {
		return schema.Mutation{}, bad("is not base64")
	}
	plain, ok := box.OpenAnonymous(nil, b, &k.pub, &k.priv)
	if !ok {
		return schema.Mutation{}, bad("does not open with this server's outbox key")
	}
	var inner schema.Mutation
	if err := json.Unmarshal(plain, &inner); err != nil {
		return schema.Mutation{}, bad("does not hold a mutation")
	}
	if inner.ID != m.ID || inner.Sealed != "" {
		return schema.Mutation{}, bad("holds another mutation than its id says")
	}
	return inner, nil
}

// openSealed replaces each sealed mutation of d by what it holds; one that
// does not open is rejected with the reason, the others go on.
func (s *Server) openSealed(d *decodedPush) {
	sealed := false
	for _, m := range d.muts {
		sealed = sealed || m.Sealed != ""
	}
	if !sealed {
		return
	}
	if d.at == nil {
		d.results = make([]schema.MutationResult, len(d.muts))
		d.at = make([]int, len(d.muts))
		for i := range d.at {
			d.at[i] = i
		}
	}
	muts, at := d.muts[:0], d.at[:0]
	for i, m := range d.muts {
		if m.Sealed != "" {
			inner, err := s.outbox.open(m)
			if err != nil {
				d.results[d.at[i]] = schema.MutationResult{MutationID: m.ID, Status: schema.StatusRejected, Error: schema.AsError(err)}
				continue
			}
			m = inner
		}
		muts, at = append(muts, m), append(at, d.at[i])
	}
	d.muts, d.at = muts, at
}
