package server

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"doorstep/schema"
	"doorstep/server/compliance"
)

// Measure 10 over HTTP, on the compliance dataset (seedCompliance): team
// A's DA cases of the period are asha's onTime, onDueDay, notYetDue,
// phoneOnly and ben's late, missed, exempted, beforePeriod; team B has
// the reassigned one. Two cases are drawn per officer.
func TestComplianceRiskAssessmentQA(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	d := seedCompliance(t, e)
	sue := e.login("sue", "dev-sue").AccessToken
	bea := e.login("bea", "dev-bea").AccessToken
	const path = "/v1/compliance/risk-assessment-qa?from=2026-09-01&to=2026-10-31&per_officer=2"

	var before compliance.QAReport
	r0 := e.getJSON(t, path, sue, &before)
	if before.Seed != "2026-Q4" || before.PerOfficer != 2 || before.Measure != "risk_assessment_qa" {
		t.Fatalf("report head = %+v", before)
	}
	checkIDs(t, "eligible", before.Totals.Eligible, d.onTime, d.onDueDay, d.notYetDue, d.phoneOnly, d.late, d.missed, d.exempted, d.beforePeriod)
	// The sample: two per officer, the same at every request.
	sample := map[string][]string{} // officer → sampled cases, in draw order
	var unsampled []string
	for _, c := range before.Cases {
		if c.Sampled {
			sample[c.OfficerID] = append(sample[c.OfficerID], c.CaseID)
		}
	}
	asha, ben := e.users["asha"].ID, e.users["ben"].ID
	if len(sample[asha]) != 2 || len(sample[ben]) != 2 || len(sample) != 2 {
		t.Fatalf("sample = %v", sample)
	}
	for _, id := range []string{d.onTime, d.onDueDay, d.notYetDue, d.phoneOnly} {
		if !slices.Contains(sample[asha], id) {
			unsampled = append(unsampled, id)
		}
	}
	if r := e.do("GET", path, nil, bearer(sue)); string(r.body) != string(r0.body) {
		t.Errorf("the same request drew another sample")
	}
	if before.Totals.Sufficient.Percent != nil || before.Totals.NotRated.N != 4 {
		t.Errorf("nothing rated: %+v", before.Totals)
	}

	// Ratings: in the period (seeded, dated), one after it (made now).
	supID := d.sue.ID
	seedMore(t, e, func(put func(string, string, any) string) {
		rate := func(caseID, decision, day, reason string) {
			put("oversight", caseID, schema.Oversight{SubjectEntity: "case", SubjectID: caseID, Aspect: schema.AspectDARiskAssessment,
				Decision: decision, Reason: reason, By: supID, At: schema.Timestamp(day + "T14:00:00Z")})
		}
		rate(sample[asha][0], "sufficient", "2026-09-15", "")
		rate(sample[asha][1], "insufficient", "2026-09-20", "no police check")
		rate(sample[asha][1], "sufficient", "2026-10-10", "") // re-rated: the latest counts
		rate(sample[ben][0], "insufficient", "2026-10-01", "partner safety not considered")
		rate(unsampled[0], "sufficient", "2026-10-05", "") // not sampled: kept apart
		rate(d.reassigned, "sufficient", "2026-10-01", "") // team B's
		rate(d.nonDA, "insufficient", "2026-08-20", "x")   // before the period
	})
	r := e.do("POST", "/v1/oversight", map[string]string{"subject_entity": "case", "subject_id": sample[ben][1],
		"aspect": "da_risk_assessment", "decision": "sufficient"}, bearer(sue))
	if r.status != 201 {
		t.Fatalf("rating: %d %s", r.status, r.body)
	}
	var rec schema.Record
	r.decode(t, &rec)
	if rec.Entity != "oversight" || rec.CaseID != sample[ben][1] || string(rec.Fields["aspect"]) != `"da_risk_assessment"` || string(rec.Fields["decision"]) != `"sufficient"` {
		t.Errorf("rating record = %+v", rec)
	}

	var rep compliance.QAReport
	e.getJSON(t, path, sue, &rep)
	tot := rep.Totals
	checkIDs(t, "sampled", tot.Sampled, append(slices.Clone(sample[asha]), sample[ben]...)...)
	checkIDs(t, "numerator", tot.Sufficient.Numerator, sample[asha][0], sample[asha][1])
	checkIDs(t, "denominator", tot.Sufficient.Denominator, sample[asha][0], sample[asha][1], sample[ben][0])
	checkIDs(t, "insufficient", tot.Insufficient, sample[ben][0])
	checkIDs(t, "not rated (rated after the period)", tot.NotRated, sample[ben][1])
	checkIDs(t, "rated not sampled", tot.RatedNotSampled, unsampled[0])
	if pct(tot.Sufficient.Percent) != "66.7" {
		t.Errorf("percent %s, want 66.7", pct(tot.Sufficient.Percent))
	}
	if len(rep.Teams) != 1 || len(rep.Officers) != 2 {
		t.Errorf("teams %d officers %d", len(rep.Teams), len(rep.Officers))
	}
	for _, o := range rep.Officers {
		want := map[string]string{asha: "100", ben: "0"}[o.ID]
		if pct(o.F.Sufficient.Percent) != want {
			t.Errorf("officer %s: %s, want %s", o.Name, pct(o.F.Sufficient.Percent), want)
		}
	}
	if strings.Contains(string(e.do("GET", path, nil, bearer(sue)).body), d.reassigned) {
		t.Errorf("team A's supervisor sees team B's case")
	}
	if view, n := auditedView(t, e); view != "compliance/risk-assessment-qa" || n != len(sorted(d.onTime, d.onDueDay, d.notYetDue, d.phoneOnly, d.late, d.missed, d.exempted, d.beforePeriod)) {
		t.Errorf("audit = %s %d", view, n)
	}
	// The period up to today, the same quarter: the same sample, and the
	// rating made now counts.
	e.getJSON(t, "/v1/compliance/risk-assessment-qa?from=2026-09-01&to=2026-11-23&per_officer=2", sue, &rep)
	checkIDs(t, "sampled to today", rep.Totals.Sampled, append(slices.Clone(sample[asha]), sample[ben]...)...)
	checkIDs(t, "numerator to today", rep.Totals.Sufficient.Numerator, sample[asha][0], sample[asha][1], sample[ben][1])
	// One officer.
	e.getJSON(t, path+"&officer_id="+ben, sue, &rep)
	checkIDs(t, "ben's sample", rep.Totals.Sampled, sample[ben]...)
	checkIDs(t, "ben's numerator", rep.Totals.Sufficient.Numerator)
	// Team B's supervisor: their own case only.
	e.getJSON(t, path, bea, &rep)
	checkIDs(t, "team B sampled", rep.Totals.Sampled, d.reassigned)
	checkIDs(t, "team B numerator", rep.Totals.Sufficient.Numerator, d.reassigned)
	// Default size, and detail=counts.
	e.getJSON(t, "/v1/compliance/risk-assessment-qa?from=2026-09-01&to=2026-10-31&detail=counts", sue, &rep)
	if rep.PerOfficer != compliance.QASamplePerOfficer || rep.Totals.Sampled.N != 8 || rep.Totals.Sampled.CaseIDs != nil || len(rep.Cases) != 0 {
		t.Errorf("default size, counts: per %d sampled %+v rows %d", rep.PerOfficer, rep.Totals.Sampled, len(rep.Cases))
	}
}

func TestRiskAssessmentQARefusals(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	d := seedCompliance(t, e)
	sue := e.login("sue", "dev-sue").AccessToken
	bea := e.login("bea", "dev-bea").AccessToken
	ashaTok := e.login("asha", "dev-asha").AccessToken
	for _, tc := range []struct {
		q      string
		tok    string
		status int
		field  string
	}{
		{"?per_officer=0", sue, 400, "per_officer"},
		{"?per_officer=101", sue, 400, "per_officer"},
		{"?per_officer=two", sue, 400, "per_officer"},
		{"?from=2026-10-01&to=2026-09-01", sue, 400, "from"},
		{"?detail=all", sue, 400, "detail"},
		{"", ashaTok, 403, ""},
	} {
		r := e.do("GET", "/v1/compliance/risk-assessment-qa"+tc.q, nil, bearer(tc.tok))
		if r.status != tc.status || r.errorResponse().Error.Field != tc.field {
			t.Errorf("%s: %d %s, want %d on %q", tc.q, r.status, r.body, tc.status, tc.field)
		}
	}
	// The rating's bad input matrix: nothing changes.
	visit := schema.NewID()
	for _, tc := range []struct {
		name   string
		tok    string
		body   map[string]string
		status int
		field  string
	}{
		{"unknown aspect", sue, map[string]string{"subject_entity": "case", "subject_id": d.onTime, "aspect": "tone", "decision": "sufficient"}, 400, "aspect"},
		{"sufficient on a visit", sue, map[string]string{"subject_entity": "visit", "subject_id": visit, "decision": "sufficient"}, 400, "decision"},
		{"the aspect on a visit", sue, map[string]string{"subject_entity": "visit", "subject_id": visit, "aspect": "da_risk_assessment", "decision": "sufficient"}, 400, "aspect"},
		{"a case without the aspect", sue, map[string]string{"subject_entity": "case", "subject_id": d.onTime, "decision": "sufficient"}, 400, "subject_entity"},
		{"approved as a rating", sue, map[string]string{"subject_entity": "case", "subject_id": d.onTime, "aspect": "da_risk_assessment", "decision": "approved"}, 400, "decision"},
		{"insufficient without a reason", sue, map[string]string{"subject_entity": "case", "subject_id": d.onTime, "aspect": "da_risk_assessment", "decision": "insufficient"}, 400, "reason"},
		{"another team's supervisor", bea, map[string]string{"subject_entity": "case", "subject_id": d.onTime, "aspect": "da_risk_assessment", "decision": "sufficient"}, 404, "subject_id"},
		{"an officer", ashaTok, map[string]string{"subject_entity": "case", "subject_id": d.onTime, "aspect": "da_risk_assessment", "decision": "sufficient"}, 403, ""},
	} {
		before := e.counts()
		r := e.do("POST", "/v1/oversight", tc.body, bearer(tc.tok))
		if r.status != tc.status || r.errorResponse().Error.Field != tc.field {
			t.Errorf("%s: %d %s, want %d on %q", tc.name, r.status, r.body, tc.status, tc.field)
		}
		if after := e.counts(); after != before {
			t.Errorf("%s changed the store", tc.name)
		}
	}
	// A good one is audited.
	r := e.do("POST", "/v1/oversight", map[string]string{"subject_entity": "case", "subject_id": d.onTime, "aspect": "da_risk_assessment",
		"decision": "insufficient", "reason": "children's services not asked"}, bearer(sue))
	if r.status != 201 {
		t.Fatalf("rating: %d %s", r.status, r.body)
	}
	evs, err := e.srv.DB().AuditByAction(t.Context(), "oversight")
	if err != nil || len(evs) != 1 || evs[0].RecordID != d.onTime || evs[0].Entity != "case" {
		t.Fatalf("audit = %+v %v", evs, err)
	}
	var detail map[string]string
	if json.Unmarshal(evs[0].Detail, &detail) != nil || detail["aspect"] != "da_risk_assessment" || detail["reason"] != "children's services not asked" {
		t.Errorf("audit detail %s", evs[0].Detail)
	}
}
