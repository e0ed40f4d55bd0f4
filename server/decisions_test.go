package server

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"doorstep/schema"
	"doorstep/server/serverdb"
)

// A supervisor's decisions are theirs: an officer can change none of them,
// neither through REST nor by a push, and every field that names who
// decided is the caller's own id (issue 11, defect 2).
func TestDecisionsAreTheDecidersOnly(t *testing.T) {
	t.Parallel()
	e := newReviewEnv(t)
	ctx := context.Background()
	asha, sue, root := e.users["asha"], e.users["sue"], e.users["root"]
	later := e.clock.Now().Add(time.Minute).UnixMilli() // a stamp later than every write so far

	// Asha's safety assessment, not approved by Sue; Sue's rating of the
	// case's DA risk assessment: insufficient.
	said := schema.NewID()
	res := e.push("asha", schema.Mutation{ID: schema.NewID(), Entity: "safety_assessment", RecordID: said, CaseID: e.ashaCase,
		Fields: rawFields("address", "1 High St", "assessed_on", "2026-11-20", "assessed_by", asha.ID),
		Clock:  schema.HLC{Wall: 1000, Node: "dev-asha"}})
	if res[0].Status != schema.StatusApplied {
		t.Fatalf("assessment = %+v", res[0])
	}
	oversee := func(in serverdb.OversightInput) string {
		t.Helper()
		r := e.do("POST", "/v1/oversight", in, bearer(e.tokens["sue"]))
		if r.status != 201 {
			t.Fatalf("oversight %+v: %d %s", in, r.status, r.body)
		}
		var rec schema.Record
		r.decode(t, &rec)
		return rec.ID
	}
	notApproved := oversee(serverdb.OversightInput{SubjectEntity: "safety_assessment", SubjectID: said, Decision: "not_approved", Reason: "no lone working plan"})
	rating := oversee(serverdb.OversightInput{SubjectEntity: "case", SubjectID: e.ashaCase, Aspect: schema.AspectDARiskAssessment, Decision: "insufficient", Reason: "no police check"})

	get := func(entity, id string) schema.Record {
		t.Helper()
		rec, err := e.srv.DB().Get(ctx, serverdb.Actor{Role: schema.RoleAdmin}, entity, id)
		if err != nil {
			t.Fatal(err)
		}
		return rec
	}
	str := func(rec schema.Record, f string) string {
		var s string
		_ = json.Unmarshal(rec.Fields[f], &s)
		return s
	}

	// The officer, through REST and by push: refused, nothing changes.
	for _, c := range []struct {
		name, path, entity, id string
		fields                 map[string]json.RawMessage
	}{
		{"oversight decision", "oversights", "oversight", notApproved, rawFields("decision", "approved")},
		{"oversight reason", "oversights", "oversight", notApproved, rawFields("reason", "fine")},
		{"DA rating", "oversights", "oversight", rating, rawFields("decision", "sufficient", "reason", "")},
		{"assessment decision", "safety-assessments", "safety_assessment", said, rawFields("decision", "approved")},
		{"assessment decided_by", "safety-assessments", "safety_assessment", said, rawFields("decided_by", asha.ID)},
	} {
		before := e.counts()
		r := e.do("PATCH", "/v1/"+c.path+"/"+c.id, map[string]any{"fields": c.fields}, bearer(e.tokens["asha"]))
		if r.status != 403 || r.errorResponse().Error.Code != schema.ECodeForbidden {
			t.Errorf("officer PATCH %s: %d %s, want 403 forbidden", c.name, r.status, r.body)
		}
		if after := e.counts(); after != before {
			t.Errorf("officer PATCH %s changed counts %+v -> %+v", c.name, before, after)
		}
		res := e.push("asha", schema.Mutation{ID: schema.NewID(), Entity: c.entity, RecordID: c.id, Fields: c.fields,
			Clock: schema.HLC{Wall: later, Node: "dev-asha"}})
		if res[0].Status != schema.StatusRejected || res[0].Error.Code != schema.ECodeForbidden {
			t.Errorf("officer push %s = %+v, want rejected forbidden", c.name, res[0])
		}
	}
	if got := str(get("oversight", notApproved), "decision"); got != "not_approved" {
		t.Errorf("oversight decision = %q after the officer's tries, want not_approved", got)
	}
	if got := str(get("oversight", rating), "decision"); got != "insufficient" {
		t.Errorf("DA rating = %q after the officer's tries, want insufficient", got)
	}
	if got := str(get("safety_assessment", said), "decision"); got != "not_approved" {
		t.Errorf("assessment decision = %q, want not_approved", got)
	}

	// A field naming a person is the caller: naming someone else is
	// refused, whoever asks; left out, the server writes the caller.
	for _, c := range []struct {
		name, user, path, id string
		fields               map[string]json.RawMessage
	}{
		{"supervisor writes an oversight in another's name", "sue", "oversights", notApproved, rawFields("decision", "approved", "by", asha.ID)},
		{"supervisor decides in another's name", "sue", "safety-assessments", said, rawFields("decision", "approved", "decided_by", root.ID)},
		{"officer assesses in another's name", "asha", "safety-assessments", said, rawFields("notes", "dog", "assessed_by", sue.ID)},
		{"officer resolves in another's name", "asha", "conflicts", e.ashaConflict, rawFields("status", "resolved", "resolution", "kept", "resolved_by", sue.ID)},
	} {
		before := e.counts()
		r := e.do("PATCH", "/v1/"+c.path+"/"+c.id, map[string]any{"fields": c.fields}, bearer(e.tokens[c.user]))
		if r.status != 400 || r.errorResponse().Error.Code != schema.ECodeInvalid {
			t.Errorf("%s: %d %s, want 400 invalid", c.name, r.status, r.body)
		}
		if after := e.counts(); after != before {
			t.Errorf("%s changed counts %+v -> %+v", c.name, before, after)
		}
	}

	// The supervisor (and an admin) may change a decision; who decided is
	// then the caller, whatever the record said before.
	r := e.do("PATCH", "/v1/oversights/"+notApproved, map[string]any{"fields": rawFields("decision", "approved", "reason", "plan added")}, bearer(e.tokens["root"]))
	if r.status != 200 {
		t.Fatalf("admin PATCH oversight: %d %s", r.status, r.body)
	}
	if rec := get("oversight", notApproved); str(rec, "decision") != "approved" || str(rec, "by") != root.ID {
		t.Errorf("oversight after the admin's change = %s, want approved by %s", rec.Fields, root.ID)
	}
	r = e.do("PATCH", "/v1/safety-assessments/"+said, map[string]any{"fields": rawFields("decision", "approved", "decision_reason", "plan added")}, bearer(e.tokens["sue"]))
	if r.status != 200 {
		t.Fatalf("supervisor PATCH assessment: %d %s", r.status, r.body)
	}
	if rec := get("safety_assessment", said); str(rec, "decision") != "approved" || str(rec, "decided_by") != sue.ID {
		t.Errorf("assessment after the supervisor's change = %s, want approved, decided_by %s", rec.Fields, sue.ID)
	}
	res = e.push("sue", schema.Mutation{ID: schema.NewID(), Entity: "oversight", RecordID: rating,
		Fields: rawFields("decision", "sufficient", "reason", "police check done"), Clock: schema.HLC{Wall: later, Node: "dev-sue"}})
	if res[0].Status != schema.StatusApplied {
		t.Errorf("supervisor push of a rating = %+v, want applied", res[0])
	}
	if rec := get("oversight", rating); str(rec, "decision") != "sufficient" || str(rec, "by") != sue.ID {
		t.Errorf("rating after the supervisor's push = %s, want sufficient by %s", rec.Fields, sue.ID)
	}

	// An officer's own record names the officer, sent or not.
	r = e.do("POST", "/v1/referrals", map[string]any{"case_id": e.ashaCase, "fields": rawFields("need", "BBR", "identified_on", "2026-11-20")}, bearer(e.tokens["asha"]))
	if r.status != 201 {
		t.Fatalf("officer POST referral: %d %s", r.status, r.body)
	}
	var ref schema.Record
	r.decode(t, &ref)
	if str(ref, "identified_by") != asha.ID {
		t.Errorf("referral identified_by = %q, want the officer %s", str(ref, "identified_by"), asha.ID)
	}
	r = e.do("PATCH", "/v1/conflicts/"+e.ashaConflict, map[string]any{"fields": rawFields("status", "resolved", "resolution", "kept the server's value")}, bearer(e.tokens["asha"]))
	if r.status != 200 {
		t.Fatalf("officer resolves own conflict: %d %s", r.status, r.body)
	}
	if rec := get("conflict", e.ashaConflict); str(rec, "resolved_by") != asha.ID {
		t.Errorf("conflict resolved_by = %q, want the officer %s", str(rec, "resolved_by"), asha.ID)
	}

	// A resolution, once made, is a decision too: the officer cannot
	// change it (not even her own); a supervisor can.
	r = e.do("PATCH", "/v1/conflicts/"+e.ashaConflict, map[string]any{"fields": rawFields("resolution", "applied mine")}, bearer(e.tokens["asha"]))
	if r.status != 403 {
		t.Errorf("officer changes a resolution: %d %s, want 403", r.status, r.body)
	}
	r = e.do("PATCH", "/v1/conflicts/"+e.ashaConflict, map[string]any{"fields": rawFields("resolution", "kept the server's value, checked")}, bearer(e.tokens["sue"]))
	if r.status != 200 {
		t.Errorf("supervisor changes a resolution: %d %s, want 200", r.status, r.body)
	}
	if rec := get("conflict", e.ashaConflict); str(rec, "resolved_by") != sue.ID {
		t.Errorf("conflict resolved_by = %q after the supervisor's change, want %s", str(rec, "resolved_by"), sue.ID)
	}
}
