package syncer

import (
	"context"
	"testing"

	"doorstep/schema"
)

// A tablet pulls oversight records of both shapes: one written before
// oversight had an aspect (no such field), and a supervisor's rating of the
// case's DA risk analysis (aspect da_risk_assessment, decision
// insufficient). Both are kept and decode as schema.Oversight.
func TestPullOversightWithAspect(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p := newPeer(t)
	a := newAgent(t, p, nil)
	caseID := schema.NewID()
	old := schema.Record{Entity: "oversight", ID: schema.NewID(), CaseID: caseID, Version: 1,
		Fields: schema.FieldsOf(schema.Oversight{SubjectEntity: "visit", SubjectID: schema.NewID(), Decision: "approved", By: "sue", At: "2026-10-01T10:00:00Z"})}
	delete(old.Fields, "aspect")
	rating := schema.Record{Entity: "oversight", ID: schema.NewID(), CaseID: caseID, Version: 1,
		Fields: schema.FieldsOf(schema.Oversight{SubjectEntity: "case", SubjectID: caseID, Aspect: schema.AspectDARiskAssessment,
			Decision: "insufficient", Reason: "no police check", By: "sue", At: "2026-11-23T12:00:00Z"})}
	seed(t, a, p, caseRecord(caseID), old, rating)
	for _, want := range []schema.Record{old, rating} {
		got, err := a.Get(ctx, "oversight", want.ID)
		if err != nil {
			t.Fatalf("get %s: %v", want.ID, err)
		}
		var o schema.Oversight
		if err := got.Decode(&o); err != nil {
			t.Fatalf("decode %s: %v", want.ID, err)
		}
		if err := o.Validate(); err != nil {
			t.Errorf("pulled oversight %+v does not validate: %v", o, err)
		}
		if want.ID == rating.ID && (!o.IsDARating() || o.Decision != "insufficient" || o.Reason != "no police check") {
			t.Errorf("rating on the tablet = %+v", o)
		}
		if want.ID == old.ID && (o.Aspect != "" || o.IsDARating() || o.Decision != "approved") {
			t.Errorf("old oversight on the tablet = %+v", o)
		}
	}
}
