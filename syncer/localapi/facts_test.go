package localapi

import (
	"encoding/json"
	"testing"

	"doorstep/schema"
	"doorstep/syncer"
)

// TestPolicyFactsAppliesAmendmentsAndPicksTheAssessment checks the facts
// gathered for the policy without a server: amendments in the order made,
// and the latest safety assessment of the current address only.
func TestPolicyFactsAppliesAmendmentsAndPicksTheAssessment(t *testing.T) {
	c := schema.Case{Address: "2 New St"}
	old := schema.SafetyAssessment{ID: "a", Address: "9 Old Rd", AssessedOn: "2026-10-01", Decision: "not_approved"}
	first := schema.SafetyAssessment{ID: "b", Address: "2 New St", AssessedOn: "2026-10-02", Decision: "not_approved"}
	later := schema.SafetyAssessment{ID: "c", Address: "2 New St", AssessedOn: "2026-10-09", Decision: "approved"}
	if a, ok := LatestAssessment(c, []schema.SafetyAssessment{later, old, first}); !ok || a.ID != "c" {
		t.Fatalf("latest assessment: %+v %v", a, ok)
	}
	if a, ok := LatestAssessment(c, []schema.SafetyAssessment{old, first}); !ok || a.ID != "b" {
		t.Fatalf("an assessment of the old address was taken: %+v %v", a, ok)
	}

	rec := schema.Record{Entity: "visit", ID: "v", CaseID: "k", Fields: schema.FieldsOf(schema.Visit{Status: "signed",
		Type: "office", Outcome: "completed", FaceToFace: true, StartedAt: "2026-10-29T10:00:00+01:00", SignedAt: "2026-10-29T11:00:00Z"})}
	ch := func(at, typ string) schema.Amendment {
		return schema.Amendment{ID: at, VisitID: "v", AmendedAt: schema.Timestamp(at),
			Changes: map[string]json.RawMessage{"type": json.RawMessage(`"` + typ + `"`)}}
	}
	v := policyVisit(asLocal(rec), []schema.Amendment{ch("2026-10-31T09:00:00Z", "doorstep"), ch("2026-10-30T09:00:00Z", "home_announced")})
	if v.Type != "doorstep" || v.Status != "signed" || !v.FaceToFace || v.StartedAt != "2026-10-29T10:00:00+01:00" || v.Outcome != "completed" {
		t.Fatalf("visit after amendments: %+v", v)
	}
	if v := policyVisit(asLocal(rec), nil); v.Type != "office" {
		t.Fatalf("visit without amendments: %+v", v)
	}
}

func asLocal(r schema.Record) syncer.LocalRecord { return syncer.LocalRecord{Record: r} }
