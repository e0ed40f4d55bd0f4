package syncer

import (
	"context"
	"encoding/json"
	"errors"

	"doorstep/schema"
	"doorstep/syncer/devicedb"
)

// Sign signs a visit: fields (the officer's last edits, may be empty) are
// written with signed_at, signed_by and status "signed", and the mutation
// carries the visit's full field set as the officer saw it (protocol §6.7).
// The visit must pass schema.Visit.ValidateForSigning, with the case's
// domestic-abuse flag taken from the local flags, and in a domestic-abuse
// case account for every child of the local household list
// (schema.ChildrenAccountedFor: one error naming each missing answer). Once signed, the visit is
// never changed again on this tablet; corrections are amendments.
func (a *Agent) Sign(ctx context.Context, visitID string, fields map[string]json.RawMessage) (schema.Record, error) {
	var out schema.Record
	err := a.db.Update(ctx, func(tx *devicedb.Tx) error {
		user, err := a.localUser(ctx, tx)
		if err != nil {
			return err
		}
		v, err := tx.GetRecord(ctx, "visit", visitID)
		if errors.Is(err, devicedb.ErrNotFound) {
			return schema.Errorf(schema.ECodeNotFound, "id", "no visit %s on this tablet", visitID)
		} else if err != nil {
			return err
		}
		if v.Signed {
			return schema.Errorf(schema.ECodeSigned, "id", "signed visits cannot be changed; add an amendment")
		}
		f := make(map[string]json.RawMessage, len(fields)+3)
		for k, val := range fields {
			f[k] = val
		}
		f["signed_at"] = jsonString(string(schema.TimestampOf(tx.Now())))
		f["signed_by"] = jsonString(user.ID)
		f["status"] = jsonString("signed")
		out, err = a.write(ctx, tx, user, Write{Entity: "visit", ID: visitID, CaseID: v.CaseID, Fields: f})
		return err
	})
	return out, err
}

// CheckSigning reports what Sign would refuse in signing the visit with
// fields, writing nothing: the errors of schema.SigningErrors (joined, as
// Sign gives them), or nil when the visit may be signed. The check your
// answers page lists them before the officer signs.
func (a *Agent) CheckSigning(ctx context.Context, visitID string, fields map[string]json.RawMessage) error {
	return a.db.View(ctx, func(tx *devicedb.Tx) error {
		v, err := tx.GetRecord(ctx, "visit", visitID)
		if errors.Is(err, devicedb.ErrNotFound) {
			return schema.Errorf(schema.ECodeNotFound, "id", "no visit %s on this tablet", visitID)
		} else if err != nil {
			return err
		}
		merged := make(map[string]json.RawMessage, len(v.Fields)+len(fields))
		for k, val := range v.Fields {
			merged[k] = val
		}
		for k, val := range fields {
			merged[k] = val
		}
		_, err = a.checkSigning(ctx, tx, Write{Entity: "visit", ID: visitID, CaseID: v.CaseID}, merged)
		return err
	})
}

// Amend records a correction to a signed visit: a new amendment record
// (visit_id, reason, changes, amended_by, amended_at), itself immutable. The
// visit stays as it was signed.
func (a *Agent) Amend(ctx context.Context, visitID, reason string, changes map[string]json.RawMessage) (schema.Record, error) {
	var out schema.Record
	err := a.db.Update(ctx, func(tx *devicedb.Tx) error {
		user, err := a.localUser(ctx, tx)
		if err != nil {
			return err
		}
		v, err := tx.GetRecord(ctx, "visit", visitID)
		if errors.Is(err, devicedb.ErrNotFound) {
			return schema.Errorf(schema.ECodeNotFound, "visit_id", "no visit %s on this tablet", visitID)
		} else if err != nil {
			return err
		}
		ch, err := json.Marshal(changes)
		if err != nil || len(changes) == 0 {
			return schema.Errorf(schema.ECodeRequired, "changes", "say what the amendment changes")
		}
		f := map[string]json.RawMessage{
			"visit_id":   jsonString(visitID),
			"reason":     jsonString(reason),
			"changes":    ch,
			"amended_by": jsonString(user.ID),
			"amended_at": jsonString(string(schema.TimestampOf(tx.Now()))),
		}
		out, err = a.write(ctx, tx, user, Write{Entity: "amendment", CaseID: v.CaseID, Fields: f})
		return err
	})
	return out, err
}

// checkSigning validates a visit about to be signed and returns its full
// field set: every field this build knows (blank ones included, as the
// officer saw them) plus any the server sent that it does not know: the
// set the server holds a signing mutation to (schema.MissingSigningFields).
func (a *Agent) checkSigning(ctx context.Context, tx *devicedb.Tx, w Write, merged map[string]json.RawMessage) (map[string]json.RawMessage, error) {
	var v schema.Visit
	if err := (schema.Record{Entity: "visit", ID: w.ID, CaseID: w.CaseID, Fields: merged}).Decode(&v); err != nil {
		return nil, schema.Errorf(schema.ECodeMalformed, "", "visit fields do not decode: %v", err)
	}
	da, err := domesticAbuse(ctx, tx, w.CaseID)
	if err != nil {
		return nil, err
	}
	var household []schema.HouseholdMember
	if da {
		if household, err = householdOf(ctx, tx, w.CaseID); err != nil {
			return nil, err
		}
	}
	if err := schema.SigningErrors(v, household, da); err != nil {
		return nil, err
	}
	full := schema.FieldsOf(v)
	for k, val := range merged {
		if _, known := full[k]; !known {
			full[k] = val
		}
	}
	return full, nil
}

// householdOf reads the case's household members on this tablet.
func householdOf(ctx context.Context, tx *devicedb.Tx, caseID string) ([]schema.HouseholdMember, error) {
	recs, err := tx.ListRecords(ctx, "household_member", caseID)
	if err != nil {
		return nil, err
	}
	out := make([]schema.HouseholdMember, 0, len(recs))
	for _, r := range recs {
		var m schema.HouseholdMember
		if err := r.Decode(&m); err != nil {
			continue
		}
		out = append(out, m)
	}
	return out, nil
}

// domesticAbuse reports whether the case has a live domestic-abuse flag on
// this tablet.
func domesticAbuse(ctx context.Context, tx *devicedb.Tx, caseID string) (bool, error) {
	flags, err := tx.ListRecords(ctx, "flag", caseID)
	if err != nil {
		return false, err
	}
	for _, fr := range flags {
		var f schema.Flag
		if err := fr.Decode(&f); err != nil {
			continue
		}
		if f.IsDomesticAbuse() {
			return true, nil
		}
	}
	return false, nil
}

// checkAmendment checks that an amendment refers to a signed visit of the
// same case on this tablet.
func checkAmendment(ctx context.Context, tx *devicedb.Tx, caseID string, fields map[string]json.RawMessage) error {
	var visitID string
	if err := json.Unmarshal(fields["visit_id"], &visitID); err != nil || visitID == "" {
		return schema.Errorf(schema.ECodeRequired, "visit_id", "visit_id is required")
	}
	v, err := tx.GetRecord(ctx, "visit", visitID)
	if err != nil && !errors.Is(err, devicedb.ErrNotFound) {
		return err
	}
	return schema.CheckAmends(caseID, visitID, err == nil, v.CaseID, v.Signed)
}

func jsonString(s string) json.RawMessage {
	b, _ := json.Marshal(s)
	return b
}
