package serverdb

import (
	"context"
	"database/sql"
	"fmt"

	"doorstep/schema"
	"doorstep/schema/policy"
)

// SignedVisitWarnings is the server's check of a signed visit it holds: the
// rule the tablet keeps before it signs (schema.ChildrenAccountedFor: in a
// domestic-abuse case every child on the household list accounted for),
// run on the visit with its amendments applied, against the case's
// household and live flags as the server holds them. A visit that fails it
// is kept as it was signed, never refused or dropped (a tablet of an older
// version, or a household the tablet had not pulled yet, may sign one);
// the warnings flag it to the supervisor in the review queue and on the
// dashboard's visit page (docs/review.md). nil when the rule holds.
func SignedVisitWarnings(v schema.Visit, household []schema.HouseholdMember, flags []schema.Flag, amendments []schema.Amendment) []schema.Error {
	if v.Status != "signed" || v.SignedAt == "" {
		return nil
	}
	da := false
	for _, f := range flags {
		da = da || f.IsDomesticAbuse()
	}
	if amended, err := policy.AmendVisit(v, amendments); err == nil {
		v = amended
	}
	var out []schema.Error
	for _, e := range schema.ChildrenAccountedFor(v, household, da) {
		out = append(out, *e)
	}
	return out
}

// visitWarnings fills the Warnings of the queue's visits that may need
// them (completed home or doorstep visits), reading those visits whole and
// their cases' flags, household and amendments.
func visitWarnings(ctx context.Context, tx *sql.Tx, eng engine, items []VisitReviewItem) error {
	if err := signatureWarnings(ctx, tx, eng, items); err != nil {
		return err
	}
	var ids, cases []string
	for _, it := range items {
		if it.Outcome == "completed" && (schema.IsHomeVisit(it.Type) || it.Type == "doorstep") {
			ids, cases = append(ids, it.ID), append(cases, it.CaseID)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	visits, err := recordsByID(ctx, tx, eng, ids)
	if err != nil {
		return err
	}
	type caseFacts struct {
		household  []schema.HouseholdMember
		flags      []schema.Flag
		amendments []schema.Amendment
	}
	facts := map[string]*caseFacts{}
	rows, err := tx.QueryContext(ctx, `SELECT `+recordCols+` FROM records
		WHERE entity IN ('flag', 'household_member', 'amendment') AND case_id IN (`+eng.idsIn()+`)`, jsonIDList(uniq(cases)))
	if err != nil {
		return fmt.Errorf("read the visits' households: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		r, err := scanRow(rows)
		if err != nil {
			return fmt.Errorf("read the visits' households: %w", err)
		}
		f := facts[r.caseID]
		if f == nil {
			f = &caseFacts{}
			facts[r.caseID] = f
		}
		rec := schema.RawRecord{Entity: r.entity, ID: r.id, CaseID: r.caseID, Fields: []byte(r.fieldsText)}
		switch r.entity {
		case "flag":
			var x schema.Flag
			if rec.Decode(&x) == nil {
				f.flags = append(f.flags, x)
			}
		case "household_member":
			var x schema.HouseholdMember
			if rec.Decode(&x) == nil {
				f.household = append(f.household, x)
			}
		case "amendment":
			var x schema.Amendment
			if rec.Decode(&x) == nil {
				f.amendments = append(f.amendments, x)
			}
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	for i := range items {
		it := &items[i]
		r, f := visits[it.ID], facts[it.CaseID]
		if r == nil || f == nil {
			continue
		}
		var v schema.Visit
		if err := (schema.RawRecord{Entity: "visit", ID: r.id, CaseID: r.caseID, Fields: []byte(r.fieldsText)}).Decode(&v); err != nil {
			return fmt.Errorf("visit %s: %w", r.id, err)
		}
		it.Warnings = append(it.Warnings, SignedVisitWarnings(v, f.household, f.flags, f.amendments)...)
	}
	return nil
}

// ECodeDeviceSignature is the code of a review queue warning on a visit
// whose device signature did not verify on receipt (signatures.go).
const ECodeDeviceSignature = "device_signature"

// signatureWarnings sets, as the first warning of each visit whose device
// signature was flagged on receipt, what was wrong with it.
func signatureWarnings(ctx context.Context, tx *sql.Tx, eng engine, items []VisitReviewItem) error {
	ids := make([]string, len(items)) // never nil: nil asks for every visit
	for i, it := range items {
		ids[i] = it.ID
	}
	bad, err := signatureProblems(ctx, tx, eng, ids)
	if err != nil {
		return err
	}
	for i := range items {
		items[i].Warnings = nil
		if p, ok := bad[items[i].ID]; ok {
			items[i].Warnings = []schema.Error{{Code: ECodeDeviceSignature, Field: "device_signature", Message: p}}
		}
	}
	return nil
}
