package localapi

import (
	"encoding/json"
	"testing"

	"doorstep/schema"
	"doorstep/syncer"
)

// TestPolicyFactsAppliesAmendmentsAndPicksTheAssessment checks the facts
// gathered for the policy without a server (policy.FactsOf of the records
// read from the tablet's): amendments in the order made, and the latest
// safety assessment of the current address only.
func TestPolicyFactsAppliesAmendmentsAndPicksTheAssessment(t *testing.T) {
	t.Parallel()
	rec := func(entity, id string, v any) syncer.LocalRecord {
		return asLocal(schema.Record{Entity: entity, ID: id, CaseID: "k", Fields: schema.FieldsOf(v)})
	}
	visit := rec("visit", "v", schema.Visit{Status: "signed", Type: "office", Outcome: "completed", FaceToFace: true,
		StartedAt: "2026-10-29T10:00:00+01:00", SignedAt: "2026-10-29T11:00:00Z"})
	ch := func(id, at, typ string) syncer.LocalRecord {
		return rec("amendment", id, schema.Amendment{VisitID: "v", AmendedAt: schema.Timestamp(at),
			Changes: map[string]json.RawMessage{"type": json.RawMessage(`"` + typ + `"`)}})
	}
	assessment := func(id, address string, on schema.Date, decision string) syncer.LocalRecord {
		return rec("safety_assessment", id, schema.SafetyAssessment{Address: address, AssessedOn: on, Decision: decision, DecidedOn: on})
	}
	cs := asLocal(schema.Record{Entity: "case", ID: "k", CaseID: "k", Fields: schema.FieldsOf(schema.Case{Address: "2 New St"})})
	facts := NewPolicyFacts()
	// Out of order, and the last made (10:30Z) has the text that sorts
	// first: FactsOf orders them by instant, as the server does.
	facts.Add([]syncer.LocalRecord{ch("a2", "2026-10-31T10:30:00Z", "doorstep"), cs, visit, ch("a1", "2026-10-31T11:00:00+01:00", "home_announced"),
		assessment("a", "9 Old Rd", "2026-10-01", "approved"), assessment("b", "2 New St", "2026-10-02", "not_approved")})
	f, ok := facts.Facts("k", "2026-11-01")
	if !ok || len(f.Visits) != 1 {
		t.Fatalf("facts: %+v %v", f, ok)
	}
	if v := f.Visits[0]; v.Type != "doorstep" || v.Status != "signed" || !v.FaceToFace || v.StartedAt != "2026-10-29T10:00:00+01:00" || v.Outcome != "completed" {
		t.Fatalf("visit after amendments: %+v", v)
	}
	if v := policyVisit(visit, true); v.Type != "office" {
		t.Fatalf("visit without amendments: %+v", v)
	}
	if len(f.Exemptions) != 1 {
		t.Fatalf("the not-approved assessment of the current address should exempt: %+v", f.Exemptions)
	}
	// A later approval of the current address lifts it; one of the old
	// address does not count.
	facts.Add([]syncer.LocalRecord{assessment("c", "2 New St", "2026-10-09", "approved"), assessment("d", "9 Old Rd", "2026-10-20", "not_approved")})
	if f, _ := facts.Facts("k", "2026-11-01"); len(f.Exemptions) != 0 {
		t.Fatalf("the latest assessment of the current address approved home visits: %+v", f.Exemptions)
	}
}

func asLocal(r schema.Record) syncer.LocalRecord { return syncer.LocalRecord{Record: r} }
