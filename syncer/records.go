package syncer

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"doorstep/schema"
	"doorstep/syncer/devicedb"
)

// LocalRecord is a record as the tablet holds it: the record, its receipt
// (version, received_at), and whether local changes wait for the server
// (Pending) or were set aside by it (Rejected).
type LocalRecord = devicedb.Record

// Write is one local change: some fields of one record. ID "" creates a
// record with a new id.
type Write struct {
	Entity string                     `json:"entity"`
	ID     string                     `json:"id,omitempty"`
	CaseID string                     `json:"case_id,omitempty"`
	Fields map[string]json.RawMessage `json:"fields"`

	// resend: the officer sends a set-aside change again (Retry, KeepMine):
	// queue it even when the tablet already shows its values, and, for a
	// record the server has never had, send every field so it can be
	// created.
	resend bool
}

// Put creates (id "" makes a new UUIDv7; an unknown id creates with that id)
// or updates a record locally: it validates the change as the server would,
// then stores the record and appends its outbox mutation in one transaction.
func (a *Agent) Put(ctx context.Context, entity, id, caseID string, fields map[string]json.RawMessage) (schema.Record, error) {
	var out schema.Record
	err := a.db.Update(ctx, func(tx *devicedb.Tx) error {
		user, err := a.localUser(ctx, tx)
		if err != nil {
			return err
		}
		out, err = a.write(ctx, tx, user, Write{Entity: entity, ID: id, CaseID: caseID, Fields: fields})
		return err
	})
	return out, err
}

// PutMany applies many local writes in one transaction: all or none.
func (a *Agent) PutMany(ctx context.Context, writes []Write) error {
	return a.db.Update(ctx, func(tx *devicedb.Tx) error {
		user, err := a.localUser(ctx, tx)
		if err != nil {
			return err
		}
		for i, w := range writes {
			if _, err := a.write(ctx, tx, user, w); err != nil {
				if e := schema.AsError(err); e != nil {
					return schema.Errorf(e.Code, fmt.Sprintf("writes[%d].%s", i, e.Field), "%s", e.Message)
				}
				return fmt.Errorf("write %d: %w", i, err)
			}
		}
		return nil
	})
}

// Get returns one local record; a *schema.Error not_found when absent.
func (a *Agent) Get(ctx context.Context, entity, id string) (LocalRecord, error) {
	var r LocalRecord
	err := a.db.View(ctx, func(tx *devicedb.Tx) error {
		var err error
		r, err = tx.GetRecord(ctx, entity, id)
		return err
	})
	if errors.Is(err, devicedb.ErrNotFound) {
		return LocalRecord{}, schema.Errorf(schema.ECodeNotFound, "id", "no %s %s on this tablet", entity, id)
	}
	return r, err
}

// List returns the local records of entity ("" for all) in case caseID
// ("" for all cases).
func (a *Agent) List(ctx context.Context, entity, caseID string) ([]LocalRecord, error) {
	if entity != "" {
		if _, ok := schema.Entity(entity); !ok {
			return nil, schema.Errorf(schema.ECodeUnknownEntity, "entity", "there is no entity %q", entity)
		}
	}
	var out []LocalRecord
	err := a.db.View(ctx, func(tx *devicedb.Tx) error {
		var err error
		out, err = tx.ListRecords(ctx, entity, caseID)
		return err
	})
	return out, err
}

// localUser returns the user who last signed in on the tablet: local writes
// are theirs (and keep working while offline or signed out).
func (a *Agent) localUser(ctx context.Context, tx *devicedb.Tx) (schema.User, error) {
	s, err := tx.State(ctx, devicedb.KeyUser)
	if err != nil {
		return schema.User{}, err
	}
	u, err := userOf(s)
	if err != nil {
		return schema.User{}, err
	}
	if u == nil {
		return schema.User{}, schema.Errorf(schema.ECodeUnauthorized, "", "nobody has signed in on this tablet: sign in while online first")
	}
	return *u, nil
}

// write validates one change and, in tx, stores the record and appends its
// mutation. It refuses what the server would refuse, so that the outbox
// holds only changes the server can apply.
func (a *Agent) write(ctx context.Context, tx *devicedb.Tx, user schema.User, w Write) (schema.Record, error) {
	spec, ok := schema.Entity(w.Entity)
	if !ok {
		return schema.Record{}, schema.Errorf(schema.ECodeUnknownEntity, "entity", "there is no entity %q", w.Entity)
	}
	if len(w.Fields) == 0 {
		return schema.Record{}, schema.Errorf(schema.ECodeRequired, "fields", "give at least one field to write")
	}
	if err := spec.ValidateFields(w.Fields); err != nil {
		return schema.Record{}, err
	}
	if err := spec.CheckPast(w.Fields, schema.Date(a.cfg.Now().Local().Format(time.DateOnly))); err != nil {
		return schema.Record{}, err
	}
	var existing devicedb.Record
	creating := false
	switch {
	case w.ID == "":
		w.ID, creating = schema.NewID(), true
	case !schema.ValidID(w.ID):
		return schema.Record{}, schema.Errorf(schema.ECodeInvalid, "id", "id must be a UUID, not %q", w.ID)
	default:
		var err error
		existing, err = tx.GetRecord(ctx, w.Entity, w.ID)
		if errors.Is(err, devicedb.ErrNotFound) {
			creating = true
		} else if err != nil {
			return schema.Record{}, err
		}
	}
	// A resent change to a record the server has never had must create it.
	newOnServer := creating || (w.resend && existing.Version == 0 && existing.ReceivedAt.IsZero())
	if creating {
		if err := a.checkNewCase(ctx, tx, spec, &w); err != nil {
			return schema.Record{}, err
		}
	} else {
		if w.CaseID != "" && w.CaseID != existing.CaseID {
			return schema.Record{}, schema.Errorf(schema.ECodeInvalid, "case_id", "a record cannot move to another case")
		}
		w.CaseID = existing.CaseID
		if existing.Signed {
			return schema.Record{}, schema.Errorf(schema.ECodeSigned, "id", "signed visits cannot be changed; add an amendment")
		}
	}
	if err := spec.CheckWriter(user.Role, w.Fields, newOnServer); err != nil {
		return schema.Record{}, err
	}
	if !creating && !w.resend && unchanged(existing.Fields, w.Fields) {
		return existing.Record, nil // nothing to send
	}
	merged := make(map[string]json.RawMessage, len(existing.Fields)+len(w.Fields))
	for k, v := range existing.Fields {
		merged[k] = v
	}
	for k, v := range w.Fields {
		if isNull(v) {
			delete(merged, k)
		} else {
			merged[k] = v
		}
	}
	if spec.Name == "visit" && !existing.Signed {
		if err := signedAsSign(merged, w.Fields, user); err != nil {
			return schema.Record{}, err
		}
	}
	if newOnServer {
		if err := spec.CheckCreate(merged); err != nil {
			return schema.Record{}, err
		}
	}
	if err := spec.Validate(w.ID, w.CaseID, merged); err != nil {
		return schema.Record{}, err
	}
	// Only the fields that change travel (docs/api.md): a field repeated
	// with the value the tablet holds would go out under a new stamp and
	// overwrite a newer value another device wrote meanwhile.
	mutFields := w.Fields
	if !creating && !w.resend {
		mutFields = changedFields(existing.Fields, w.Fields)
	}
	if newOnServer && !creating {
		if err := spec.CheckWriter(user.Role, merged, true); err != nil {
			return schema.Record{}, err
		}
		mutFields = merged
	}
	if spec.IsSigned(merged) {
		switch spec.Name {
		case "visit":
			full, err := a.checkSigning(ctx, tx, w, merged)
			if err != nil {
				return schema.Record{}, err
			}
			merged, mutFields = full, full
		case "amendment":
			if err := checkAmendment(ctx, tx, w.CaseID, merged); err != nil {
				return schema.Record{}, err
			}
		}
	}
	clock, err := a.stamp(ctx, tx)
	if err != nil {
		return schema.Record{}, err
	}
	now := tx.Now()
	rec := existing.Record
	rec.Entity, rec.ID, rec.CaseID, rec.Fields = w.Entity, w.ID, w.CaseID, merged
	rec.UpdatedBy = user.ID
	if creating {
		rec.DeviceTime, rec.CreatedBy = now, user.ID
	}
	if err := tx.PutRecord(ctx, rec); err != nil {
		return schema.Record{}, err
	}
	m := schema.Mutation{ID: schema.NewID(), Entity: w.Entity, RecordID: w.ID, CaseID: w.CaseID,
		Fields: mutFields, Clock: clock, DeviceTime: now}
	if spec.IsSigned(merged) && (spec.Name == "visit" || spec.Name == "amendment") {
		if m.DeviceSignature, err = a.signRecord(ctx, tx, rec); err != nil {
			return schema.Record{}, err
		}
	}
	before := make(map[string]json.RawMessage, len(mutFields))
	for k := range mutFields {
		if v, ok := existing.Fields[k]; ok {
			before[k] = v
		} else {
			before[k] = json.RawMessage("null")
		}
	}
	if err := tx.AppendChange(ctx, m, before); err != nil {
		return schema.Record{}, err
	}
	return rec, nil
}

// signedAsSign makes a create or an edit that sets a visit's signed_at a
// signature as Sign makes one (docs/api.md: "a signature (see sign)"):
// signed_by is the officer writing and status is "signed", whatever the
// write said of them; the signing checks then run on it (write). A status
// "signed" with no signed_at signs nothing and is refused.
func signedAsSign(merged, fields map[string]json.RawMessage, user schema.User) error {
	if isEmptyJSON(merged["signed_at"]) {
		var status string
		if v, ok := fields["status"]; ok && json.Unmarshal(v, &status) == nil && status == "signed" {
			return schema.Errorf(schema.ECodeInvalid, "status", `a visit is signed with POST /v1/visits/:id/sign; status "signed" without signed_at signs nothing`)
		}
		return nil
	}
	merged["signed_by"] = jsonString(user.ID)
	merged["status"] = jsonString("signed")
	return nil
}

// isEmptyJSON reports whether v is absent, null or "".
func isEmptyJSON(v json.RawMessage) bool {
	return len(v) == 0 || isNull(v) || string(v) == `""`
}

// checkNewCase settles the case of a record being created: a case is its own
// case; anything else belongs to a case this tablet holds.
func (a *Agent) checkNewCase(ctx context.Context, tx *devicedb.Tx, spec *schema.EntitySpec, w *Write) error {
	if spec.Name == "case" {
		if w.CaseID != "" && w.CaseID != w.ID {
			return schema.Errorf(schema.ECodeInvalid, "case_id", "a case's case_id is its own id")
		}
		w.CaseID = w.ID
		return nil
	}
	if w.CaseID == "" {
		return schema.Errorf(schema.ECodeRequired, "case_id", "case_id is required to create a %s", spec.Name)
	}
	ok, err := tx.HasRecord(ctx, "case", w.CaseID)
	if err != nil {
		return err
	}
	if !ok {
		return schema.Errorf(schema.ECodeOutOfScope, "case_id", "case %s is not on this tablet", w.CaseID)
	}
	return nil
}

// unchanged reports whether every field written already has that value.
func unchanged(have, write map[string]json.RawMessage) bool {
	for k, v := range write {
		if !sameValue(have, k, v) {
			return false
		}
	}
	return true
}

// changedFields returns the fields of write whose value differs from have's
// (JSON-equal values, and null for a field have lacks, are the same).
func changedFields(have, write map[string]json.RawMessage) map[string]json.RawMessage {
	out := make(map[string]json.RawMessage, len(write))
	for k, v := range write {
		if !sameValue(have, k, v) {
			out[k] = v
		}
	}
	return out
}

// sameValue reports whether have already holds v in field k.
func sameValue(have map[string]json.RawMessage, k string, v json.RawMessage) bool {
	old, ok := have[k]
	if isNull(v) {
		return !ok || isNull(old)
	}
	return ok && schema.SameJSON(old, v)
}

func isNull(raw json.RawMessage) bool {
	t := bytes.TrimSpace(raw)
	return len(t) == 0 || string(t) == "null"
}

func formatTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }
