package serverdb

import (
	"context"
	"encoding/json"
	"testing"

	"doorstep/schema"
)

// A supervisor's rating of a case's DA risk analysis (QA sample, measure
// 10) is an oversight record of the case with aspect da_risk_assessment.
func TestOversightDARating(t *testing.T) {
	t.Parallel()
	f := newReviewFixture(t)
	ctx := context.Background()
	sue, sam := f.actor(f.sue, ""), f.actor(f.sam, "")
	asha := f.actor(f.asha, f.ashaDev)
	first, err := f.db.PullResponse(ctx, asha, schema.PullRequest{})
	if err != nil {
		t.Fatal(err)
	}
	da := schema.AspectDARiskAssessment
	bad := []struct {
		who   Actor
		in    OversightInput
		code  string
		field string
	}{
		{sue, OversightInput{SubjectEntity: "case", SubjectID: f.ashaCase, Aspect: "thoroughness", Decision: "sufficient"}, schema.ECodeInvalid, "aspect"},
		{sue, OversightInput{SubjectEntity: "visit", SubjectID: f.ashaVisit, Decision: "sufficient"}, schema.ECodeInvalid, "decision"},
		{sue, OversightInput{SubjectEntity: "visit", SubjectID: f.ashaVisit, Aspect: da, Decision: "sufficient"}, schema.ECodeInvalid, "aspect"},
		{sue, OversightInput{SubjectEntity: "case", SubjectID: f.ashaCase, Decision: "sufficient"}, schema.ECodeInvalid, "subject_entity"},
		{sue, OversightInput{SubjectEntity: "case", SubjectID: f.ashaCase, Aspect: da, Decision: "approved"}, schema.ECodeInvalid, "decision"},
		{sue, OversightInput{SubjectEntity: "case", SubjectID: f.ashaCase, Aspect: da, Decision: "insufficient"}, schema.ECodeRequired, "reason"},
		{sue, OversightInput{SubjectEntity: "case", SubjectID: f.ashaCase, Aspect: da, Decision: "insufficient", Reason: "   "}, schema.ECodeRequired, "reason"},
		{sue, OversightInput{SubjectEntity: "case", SubjectID: f.carlCase, Aspect: da, Decision: "sufficient"}, schema.ECodeNotFound, "subject_id"}, // another team's case
		{sam, OversightInput{SubjectEntity: "case", SubjectID: f.ashaCase, Aspect: da, Decision: "sufficient"}, schema.ECodeNotFound, "subject_id"},
		{asha, OversightInput{SubjectEntity: "case", SubjectID: f.ashaCase, Aspect: da, Decision: "sufficient"}, schema.ECodeForbidden, ""},
	}
	for _, tc := range bad {
		before := f.counts(t)
		_, err := f.db.Oversee(ctx, tc.who, tc.in)
		if e := schema.AsError(err); e == nil || e.Code != tc.code || e.Field != tc.field {
			t.Errorf("Oversee(%+v) = %v, want %s on %q", tc.in, err, tc.code, tc.field)
		}
		if after := f.counts(t); after != before {
			t.Errorf("Oversee(%+v) changed the store", tc.in)
		}
	}

	queued, err := f.db.ReviewCountRecords(ctx, sue)
	if err != nil {
		t.Fatal(err)
	}
	o, err := f.db.Oversee(ctx, sue, OversightInput{SubjectEntity: "case", SubjectID: f.ashaCase, Aspect: da,
		Decision: "insufficient", Reason: " no police check before the risk assessment "})
	if err != nil {
		t.Fatal(err)
	}
	var got schema.Oversight
	if err := o.Decode(&got); err != nil {
		t.Fatal(err)
	}
	if o.CaseID != f.ashaCase || got.SubjectID != f.ashaCase || !got.IsDARating() || got.Decision != "insufficient" ||
		got.Reason != "no police check before the risk assessment" || got.By != f.sue.ID {
		t.Errorf("rating = %+v", got)
	}
	// A rating is not a review of a queued item: the queue is as it was.
	if n, err := f.db.ReviewCountRecords(ctx, sue); err != nil || n != queued {
		t.Errorf("review count = %d, %v; want %d", n, err, queued)
	}
	if c := f.get(t, f.ashaCase); c.Version != 1 {
		t.Errorf("the rating changed the case: version %d", c.Version)
	}
	// A general review's record is as before: no aspect field.
	g, err := f.db.Oversee(ctx, sue, OversightInput{SubjectEntity: "visit", SubjectID: signedVisitOf(t, f), Decision: "approved"})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := g.Fields["aspect"]; ok {
		t.Errorf("general review has an aspect: %v", g.Fields)
	}
	ev, _ := f.db.AuditByAction(ctx, "oversight")
	if len(ev) != 2 || ev[0].Entity != "case" || ev[0].RecordID != f.ashaCase || ev[0].CaseID != f.ashaCase {
		t.Fatalf("audit = %+v", ev)
	}
	var detail map[string]string
	if err := json.Unmarshal(ev[0].Detail, &detail); err != nil || detail["aspect"] != da || detail["decision"] != "insufficient" || detail["oversight_id"] != o.ID {
		t.Errorf("audit detail = %s", ev[0].Detail)
	}
	// asha's tablet pulls the rating.
	next, err := f.db.PullResponse(ctx, asha, schema.PullRequest{Cursor: first.Cursor})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, r := range next.Records {
		if r.ID == o.ID && field(r, "aspect") == da && field(r, "decision") == "insufficient" {
			found = true
		}
	}
	if !found {
		t.Errorf("the tablet did not pull the rating: %+v", next.Records)
	}
}

func signedVisitOf(t *testing.T, f *reviewFixture) string {
	t.Helper()
	id := schema.NewID()
	f.push(t, f.actor(f.asha, f.ashaDev), mutation("visit", id, f.ashaCase, stamp(3000, f.ashaDev), signedVisit(f.asha.ID)))
	return id
}
