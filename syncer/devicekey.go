package syncer

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"

	"doorstep/schema"
	"doorstep/syncer/devicedb"
)

// Visits signed by the device (docs/sync-protocol.md §6.1). The tablet makes
// an Ed25519 key on its first start (kept in sync_state as device_key) and
// sends its public half at every sign-in; the server registers it at the
// first. Signing a visit or writing an amendment signs the record's content
// hash (schema.ContentHash; an amendment's content includes the hash of the
// visit it amends) and the signature travels with the mutation.

// loadDeviceKey returns the device key's public half, base64, as stored
// in clear (device_public_key); on a store that has none it makes the key
// (or, in a store from before, reads the seed kept there) and stores both
// halves. The seed is a secret state: sealed once the store is.
func loadDeviceKey(ctx context.Context, tx *devicedb.Tx, st map[string]string) (string, error) {
	if pub := st[devicedb.KeyDevicePublicKey]; pub != "" {
		return pub, nil
	}
	seed, err := tx.State(ctx, devicedb.KeyDeviceKey)
	if errors.Is(err, devicedb.ErrLocked) {
		return "", nil // sealed without its public half: visits go unsigned
	}
	if err != nil {
		return "", err
	}
	var key ed25519.PrivateKey
	if seed != "" {
		if key, err = decodeDeviceKey(seed); err != nil {
			return "", err
		}
	} else {
		if _, key, err = ed25519.GenerateKey(rand.Reader); err != nil {
			return "", fmt.Errorf("make the device key: %w", err)
		}
		if err := tx.SetState(ctx, devicedb.KeyDeviceKey, base64.StdEncoding.EncodeToString(key.Seed())); err != nil {
			return "", err
		}
	}
	pub := base64.StdEncoding.EncodeToString(key.Public().(ed25519.PublicKey))
	return pub, tx.SetState(ctx, devicedb.KeyDevicePublicKey, pub)
}

func decodeDeviceKey(stored string) (ed25519.PrivateKey, error) {
	seed, err := base64.StdEncoding.DecodeString(stored)
	if err != nil || len(seed) != ed25519.SeedSize {
		return nil, errors.New("the stored device key is damaged")
	}
	return ed25519.NewKeyFromSeed(seed), nil
}

// devicePublicKey is the public half of the device key, base64, as
// LoginRequest.device_public_key carries it.
func (a *Agent) devicePublicKey() string { return a.devicePublic }

// signRecord signs rec (a visit being signed, or an amendment) as the
// tablet now holds it.
func (a *Agent) signRecord(ctx context.Context, tx *devicedb.Tx, rec schema.Record) (*schema.DeviceSignature, error) {
	amends := ""
	if rec.Entity == "amendment" {
		var visitID string
		if raw, ok := rec.Fields["visit_id"]; ok {
			_ = json.Unmarshal(raw, &visitID)
		}
		v, err := tx.GetRecord(ctx, "visit", visitID)
		if err != nil {
			return nil, fmt.Errorf("sign the amendment: read visit %s: %w", visitID, err)
		}
		if amends, err = schema.ContentHash("visit", v.ID, v.CaseID, v.Fields, ""); err != nil {
			return nil, err
		}
	}
	hash, err := schema.ContentHash(rec.Entity, rec.ID, rec.CaseID, rec.Fields, amends)
	if err != nil {
		return nil, err
	}
	seed, err := tx.State(ctx, devicedb.KeyDeviceKey)
	if err != nil {
		return nil, err
	}
	if seed == "" {
		// The key went with the data when its wraps were destroyed
		// (devicedb.Reseal): the server takes the visit as unsigned by
		// the device, as from a tablet older than device keys.
		return nil, nil
	}
	key, err := decodeDeviceKey(seed)
	if err != nil {
		return nil, err
	}
	sig, err := schema.SignHash(key, hash)
	if err != nil {
		return nil, err
	}
	return &schema.DeviceSignature{ContentHash: hash, Signature: sig}, nil
}
