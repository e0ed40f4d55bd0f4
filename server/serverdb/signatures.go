package serverdb

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"

	"doorstep/schema"
)

// Visits signed by the device (docs/sync-protocol.md §6.1): when a push
// signs a visit or creates an amendment, the server computes the record's
// content hash as stored, checks the device's signature against the key
// the device registered at sign-in, countersigns and keeps both in
// visit_signatures. A signature that does not verify never costs the
// record: it is kept and flagged (status "invalid", shown in the review
// queue); a tablet that sent none (an older app) is "unsigned".

// Signature statuses (visit_signatures.status).
const (
	SigVerified = "verified"
	SigUnsigned = "unsigned"
	SigInvalid  = "invalid"
)

// VisitSignature is one row of visit_signatures.
type VisitSignature struct {
	RecordID        string `json:"record_id"`
	Entity          string `json:"entity"`
	CaseID          string `json:"case_id"`
	Amends          string `json:"amends,omitempty"`
	AmendsHash      string `json:"amends_hash,omitempty"`
	ContentHash     string `json:"content_hash"`
	DeviceID        string `json:"device_id"`
	OfficerID       string `json:"officer_id"`
	DeviceHash      string `json:"device_hash,omitempty"`
	DeviceSignature string `json:"device_signature,omitempty"`
	Status          string `json:"status"`
	Problem         string `json:"problem,omitempty"`
	ServerSignature string `json:"server_signature"`
	ServerKey       string `json:"server_key"`
	ReceivedAt      string `json:"received_at"`
}

// Countersigned is the canonical JSON the server's signature covers: the
// SHA-256 of it is signed (schema.SignHash). Keys sorted, no white space.
func (s VisitSignature) Countersigned() []byte {
	b, _ := json.Marshal(map[string]string{
		"amends_hash": s.AmendsHash, "content_hash": s.ContentHash, "device_id": s.DeviceID,
		"device_signature": s.DeviceSignature, "officer_id": s.OfficerID, "received_at": s.ReceivedAt,
		"record_id": s.RecordID, "status": s.Status,
	})
	return b
}

func (s VisitSignature) countersignedHash() string {
	sum := sha256.Sum256(s.Countersigned())
	return hex.EncodeToString(sum[:])
}

// VerifyCountersignature reports whether the row's server signature holds
// under the server key it names.
func (s VisitSignature) VerifyCountersignature() bool {
	pub, err := base64.StdEncoding.DecodeString(s.ServerKey)
	if err != nil || len(pub) != ed25519.PublicKeySize {
		return false
	}
	return schema.VerifyHash(ed25519.PublicKey(pub), s.countersignedHash(), s.ServerSignature)
}

// recordSignature writes the visit_signatures row of record r, which mutation
// m has just signed (a visit) or created (an amendment). Only a device's push
// makes one.
func (a *applier) recordSignature(m schema.Mutation, r *row) error {
	if a.rest || a.actor.DeviceID == "" || (r.entity != "visit" && r.entity != "amendment") {
		return nil
	}
	s := VisitSignature{RecordID: r.id, Entity: r.entity, CaseID: r.caseID, DeviceID: a.actor.DeviceID,
		OfficerID: a.actor.UserID, ReceivedAt: a.t.nowText}
	if r.entity == "amendment" {
		s.Amends = stringField(r.fields, "visit_id")
		v, err := a.record(s.Amends)
		if err != nil {
			return err
		}
		if v != nil {
			if err := v.decode(); err != nil {
				return err
			}
			if s.AmendsHash, err = schema.ContentHash(v.entity, v.id, v.caseID, v.fields, ""); err != nil {
				return err
			}
		}
	}
	var err error
	if s.ContentHash, err = schema.ContentHash(r.entity, r.id, r.caseID, r.fields, s.AmendsHash); err != nil {
		return err
	}
	s.Status, s.Problem = SigUnsigned, "unsigned by device: the tablet sent no signature (an older app)"
	if ds := m.DeviceSignature; ds != nil {
		s.DeviceHash, s.DeviceSignature = ds.ContentHash, ds.Signature
		s.Status, s.Problem = SigVerified, ""
		var key string
		err := a.t.QueryRowContext(a.t.ctx, `SELECT public_key FROM devices WHERE id = ?`, a.actor.DeviceID).Scan(&key)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("read device key: %w", err)
		}
		pub, perr := schema.ParsePublicKey(key)
		switch {
		case key == "" || perr != nil:
			s.Status, s.Problem = SigInvalid, "the device has no registered public key"
		case ds.ContentHash != s.ContentHash:
			s.Status, s.Problem = SigInvalid, "the device signed other content than the server received (hash "+ds.ContentHash+")"
		case !schema.VerifyHash(pub, s.ContentHash, ds.Signature):
			s.Status, s.Problem = SigInvalid, "the device signature does not verify against the device's registered key"
		}
	}
	s.ServerKey = base64.StdEncoding.EncodeToString(a.db.visitKey.Public().(ed25519.PublicKey))
	if s.ServerSignature, err = schema.SignHash(a.db.visitKey, s.countersignedHash()); err != nil {
		return err
	}
	if _, err := a.t.ExecContext(a.t.ctx, `INSERT INTO visit_signatures (record_id, entity, case_id, amends, amends_hash,
		content_hash, device_id, officer_id, device_hash, device_signature, status, problem, server_signature, server_key, received_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (record_id) DO NOTHING`,
		s.RecordID, s.Entity, s.CaseID, s.Amends, s.AmendsHash, s.ContentHash, s.DeviceID, s.OfficerID, s.DeviceHash,
		s.DeviceSignature, s.Status, s.Problem, s.ServerSignature, s.ServerKey, s.ReceivedAt); err != nil {
		return fmt.Errorf("keep the signature of %s %s: %w", r.entity, r.id, err)
	}
	if s.Status == SigInvalid {
		a.db.log.Warn("a signed record's device signature does not verify; kept and flagged", "entity", r.entity, "id", r.id, "device", s.DeviceID, "problem", s.Problem)
	}
	return nil
}

const sigCols = `record_id, entity, case_id, amends, amends_hash, content_hash, device_id, officer_id, device_hash,
	device_signature, status, problem, server_signature, server_key, received_at`

func scanSig(sc interface{ Scan(...any) error }) (VisitSignature, error) {
	var s VisitSignature
	err := sc.Scan(&s.RecordID, &s.Entity, &s.CaseID, &s.Amends, &s.AmendsHash, &s.ContentHash, &s.DeviceID, &s.OfficerID,
		&s.DeviceHash, &s.DeviceSignature, &s.Status, &s.Problem, &s.ServerSignature, &s.ServerKey, &s.ReceivedAt)
	return s, err
}

// VisitCheck is the answer of VerifyVisit: a signed visit (or amendment),
// its signature as kept, the hash of its content as stored now, and the
// amendments that chain to it.
type VisitCheck struct {
	Signature VisitSignature `json:"signature"`
	// StoredHash is the content hash of the record as the database holds
	// it now; it equals Signature.ContentHash unless the record changed
	// after it was signed.
	StoredHash string `json:"stored_hash"`
	// DeviceKeyOK: the device signature verifies now against the device's
	// registered key (false for an unsigned record).
	DeviceKeyOK bool `json:"device_key_ok"`
	// CountersignatureOK: the server's signature of the row holds.
	CountersignatureOK bool `json:"countersignature_ok"`
	// Amendments: the amendments of a visit, oldest first, each checked.
	Amendments []VisitCheck `json:"amendments,omitempty"`
	// Breaks names every way the record is no longer as signed; empty
	// when all is intact.
	Breaks []string `json:"breaks,omitempty"`
}

// ErrNoSignature: the record has no kept signature.
var ErrNoSignature = schema.Errorf(schema.ECodeNotFound, "id", "no signed visit or amendment with this id was received from a tablet")

// VerifyVisit checks a signed visit (or an amendment) against what was
// signed: its stored content hashes as it did on receipt, the device and
// server signatures hold, and each amendment chains to the visit's hash.
func (db *DB) VerifyVisit(ctx context.Context, id string) (VisitCheck, error) {
	var out VisitCheck
	err := db.view(ctx, func(tx *sql.Tx) error {
		var err error
		out, err = checkSigned(ctx, tx, id, db.visitKeyText())
		if err != nil || out.Signature.Entity != "visit" {
			return err
		}
		rows, err := tx.QueryContext(ctx, `SELECT record_id FROM visit_signatures WHERE amends = ? ORDER BY received_at, record_id`, id)
		if err != nil {
			return err
		}
		var ids []string
		for rows.Next() {
			var a string
			if err := rows.Scan(&a); err != nil {
				rows.Close()
				return err
			}
			ids = append(ids, a)
		}
		rows.Close()
		for _, aid := range ids {
			c, err := checkSigned(ctx, tx, aid, db.visitKeyText())
			if err != nil {
				return err
			}
			if c.Signature.AmendsHash != out.Signature.ContentHash {
				c.Breaks = append(c.Breaks, fmt.Sprintf("amendment %s chains to hash %s, not the visit's signed hash %s", aid, c.Signature.AmendsHash, out.Signature.ContentHash))
			}
			for _, b := range c.Breaks {
				out.Breaks = append(out.Breaks, b)
			}
			out.Amendments = append(out.Amendments, c)
		}
		return nil
	})
	return out, err
}

// visitKeyText is the public half of the server's visit signing key, as
// visit_signatures.server_key holds it.
func (db *DB) visitKeyText() string {
	return base64.StdEncoding.EncodeToString(db.visitKey.Public().(ed25519.PublicKey))
}

// checkSigned checks the kept signature of record id. ownKey is this
// server's visit signing key (base64): a countersignature holds only when
// made by it, since a row's server_key is in the database, where whoever
// rewrote the row could have put a key of their own beside a signature of
// their own.
func checkSigned(ctx context.Context, tx *sql.Tx, id, ownKey string) (VisitCheck, error) {
	var c VisitCheck
	s, err := scanSig(tx.QueryRowContext(ctx, `SELECT `+sigCols+` FROM visit_signatures WHERE record_id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return c, ErrNoSignature
	} else if err != nil {
		return c, fmt.Errorf("read the signature of %s: %w", id, err)
	}
	c.Signature = s
	r, err := scanRow(tx.QueryRowContext(ctx, `SELECT `+recordCols+` FROM records WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		c.Breaks = append(c.Breaks, fmt.Sprintf("%s %s is no longer in the database", s.Entity, id))
	} else if err != nil {
		return c, fmt.Errorf("read %s: %w", id, err)
	} else {
		var fields map[string]json.RawMessage
		if err := json.Unmarshal([]byte(r.fieldsText), &fields); err != nil {
			c.Breaks = append(c.Breaks, fmt.Sprintf("%s %s: its stored fields are not JSON", s.Entity, id))
		} else if c.StoredHash, err = schema.ContentHash(r.entity, r.id, r.caseID, fields, s.AmendsHash); err != nil {
			c.Breaks = append(c.Breaks, fmt.Sprintf("%s %s: %v", s.Entity, id, err))
		} else if c.StoredHash != s.ContentHash {
			c.Breaks = append(c.Breaks, fmt.Sprintf("%s %s no longer matches its signed hash: signed %s, stored now %s", s.Entity, id, s.ContentHash, c.StoredHash))
		}
	}
	c.CountersignatureOK = s.VerifyCountersignature() && s.ServerKey == ownKey
	switch {
	case !s.VerifyCountersignature():
		c.Breaks = append(c.Breaks, fmt.Sprintf("%s %s: the server's countersignature does not hold (the kept signature was altered)", s.Entity, id))
	case s.ServerKey != ownKey:
		c.Breaks = append(c.Breaks, fmt.Sprintf("%s %s: countersigned by a key that is not this server's visit signing key (%s; the kept signature was replaced, or the secrets folder is not this server's)", s.Entity, id, s.ServerKey))
	}
	if s.DeviceSignature != "" {
		var key string
		_ = tx.QueryRowContext(ctx, `SELECT public_key FROM devices WHERE id = ?`, s.DeviceID).Scan(&key)
		if pub, err := schema.ParsePublicKey(key); err == nil {
			c.DeviceKeyOK = schema.VerifyHash(pub, s.ContentHash, s.DeviceSignature)
		}
	}
	if s.Status == SigInvalid {
		c.Breaks = append(c.Breaks, fmt.Sprintf("%s %s was flagged on receipt: %s", s.Entity, id, s.Problem))
	}
	return c, nil
}

// invalidSignatures reads the visits whose device signature was flagged
// invalid, by their index (visit_signatures_invalid, migration 0018).
const invalidSignatures = `SELECT record_id, problem FROM visit_signatures WHERE status = 'invalid' AND entity = 'visit'`

// signatureProblems returns, for the given record ids (nil: every visit),
// the problem of each whose device signature was flagged invalid on
// receipt (review queue). Such rows are few: each is a defect or an attack.
func signatureProblems(ctx context.Context, tx *sql.Tx, eng engine, ids []string) (map[string]string, error) {
	out := map[string]string{}
	q, args := invalidSignatures, []any{}
	if ids != nil {
		if len(ids) == 0 {
			return out, nil
		}
		q, args = q+` AND record_id IN (`+eng.idsIn()+`)`, []any{jsonIDList(ids)}
	}
	rows, err := tx.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("read the visits' signatures: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, p string
		if err := rows.Scan(&id, &p); err != nil {
			return nil, err
		}
		out[id] = p
	}
	return out, rows.Err()
}
