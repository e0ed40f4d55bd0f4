package server

import (
	"context"
	"encoding/json"
	"slices"
	"testing"

	"doorstep/schema"
	"doorstep/server/compliance"
	"doorstep/server/serverdb"
)

// TestRiskAssessmentQACaseLists: measure 10's case lists, page by page,
// are the report's own lists of each figure; another team's supervisor
// asking for this team's officer gets none of its cases; an admin and an
// auditor see every team's; officers are refused; a bad figure, page or
// sample size is refused naming it, with nothing audited; each page is
// audited.
func TestRiskAssessmentQACaseLists(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	d := seedCompliance(t, e)
	toks := complianceTokens(e)
	const query = "&from=2026-09-01&to=2026-10-31&per_officer=3"
	supID := d.sue.ID
	// The sample is drawn by a hash of each case's (random) id, so which
	// cases it holds differs from run to run: ask for it first, and rate
	// one sampled case insufficient and the rest sufficient, so that every
	// figure but not_rated lists some case whatever the draw.
	var drawn compliance.QAReport
	e.getJSON(t, "/v1/compliance/risk-assessment-qa?"+query[1:], toks["sue"], &drawn)
	sampled := drawn.FigureCases("sampled")
	seedMore(t, e, func(put func(string, string, any) string) {
		rate := func(caseID, decision, day string) {
			o := schema.Oversight{SubjectEntity: "case", SubjectID: caseID, Aspect: schema.AspectDARiskAssessment,
				Decision: decision, By: supID, At: schema.Timestamp(day + "T14:00:00Z")}
			if decision == "insufficient" {
				o.Reason = "no police check"
			}
			put("oversight", caseID, o)
		}
		insufficient := false
		rated := []string{d.onTime, d.onDueDay, d.notYetDue, d.phoneOnly, d.late, d.missed, d.exempted}
		for _, id := range sampled {
			if !slices.Contains(rated, id) {
				rated = append(rated, id)
			}
		}
		for i, id := range rated {
			decision := "sufficient"
			if !insufficient && slices.Contains(sampled, id) {
				decision, insufficient = "insufficient", true
			}
			rate(id, decision, "2026-09-1"+string(rune('0'+i%10)))
		}
		rate(d.reassigned, "sufficient", "2026-10-01") // team B's
	})
	// Every detail of the measure, from the read model, is the Go measure's
	// over the decoded records and ratings, byte for byte.
	ctx := context.Background()
	for _, who := range []string{"sue", "bea", "audrey"} {
		actor := serverdb.ActorOf(e.users[who], "")
		for _, officer := range []string{"", e.users["asha"].ID} {
			in, err := e.srv.Compliance().Input(ctx, actor, officer)
			if err != nil {
				t.Fatal(err)
			}
			ratings, err := e.srv.Compliance().QARatings(ctx, actor)
			if err != nil {
				t.Fatal(err)
			}
			for _, detail := range []string{"full", "summary", "counts"} {
				rep := compliance.RiskAssessmentQA(in, compliance.QAInput{Ratings: ratings, PerOfficer: 3},
					compliance.Period{From: "2026-09-01", To: "2026-10-31"}, "2026-10-31")
				if detail != "full" {
					rep.Summarize()
				}
				if detail == "counts" {
					compliance.DropIDs(rep)
				}
				want, err := json.Marshal(rep)
				if err != nil {
					t.Fatal(err)
				}
				path := "/v1/compliance/risk-assessment-qa?detail=" + detail + "&officer_id=" + officer + query
				if r := e.do("GET", path, nil, bearer(toks[who])); r.status != 200 || string(r.body) != string(want) {
					t.Errorf("GET %s as %s = %d\n%s\nwant the Go measure's\n%s", path, who, r.status, r.body, want)
				}
			}
		}
	}

	var rep compliance.QAReport
	e.getJSON(t, "/v1/compliance/risk-assessment-qa?"+query[1:], toks["sue"], &rep)
	for _, figure := range compliance.QAFigureNames {
		want := rep.FigureCases(figure)
		if len(want) == 0 && figure != "not_rated" {
			t.Errorf("figure %s: the report lists no case; the test wants some", figure)
		}
		path := "/v1/compliance/risk-assessment-qa/cases?figure=" + figure + query
		if got := allCasesOf(t, e, path, toks["sue"]); !slices.Equal(got, want) && !(len(got) == 0 && len(want) == 0) {
			t.Errorf("%s as sue: pages list %v, the report %v", path, got, want)
		}
	}
	eligible := "/v1/compliance/risk-assessment-qa/cases?figure=eligible" + query
	for _, who := range []string{"root", "audrey"} {
		got := allCasesOf(t, e, eligible, toks[who])
		if !slices.Contains(got, d.reassigned) || !slices.Contains(got, d.onTime) {
			t.Errorf("%s as %s: %v, want team A's and team B's cases", eligible, who, got)
		}
	}
	if got := allCasesOf(t, e, eligible, toks["bea"]); !slices.Equal(got, []string{d.reassigned}) {
		t.Errorf("%s as bea: %v, want only team B's %s", eligible, got, d.reassigned)
	}
	paths := []string{eligible}
	for _, figure := range compliance.QAFigureNames {
		paths = append(paths, "/v1/compliance/risk-assessment-qa/cases?figure="+figure+query)
	}
	checkCaseListRoles(t, e, toks, paths...)

	checkCaseListRefusals(t, e, toks["sue"], []refusal{
		{"/v1/compliance/risk-assessment-qa/cases?from=2026-09-01", "figure", "eligible, sampled, sufficient.numerator"},
		{"/v1/compliance/risk-assessment-qa/cases?figure=percent", "figure", "rated_not_sampled"},
		{"/v1/compliance/risk-assessment-qa/cases?figure=sampled&per_officer=0", "per_officer", ""},
		{"/v1/compliance/risk-assessment-qa/cases?figure=sampled&limit=1001", "limit", ""},
		{"/v1/compliance/risk-assessment-qa/cases?figure=sampled&cursor=page-2", "cursor", ""},
		{"/v1/compliance/risk-assessment-qa/cases?figure=sampled&from=2026-10-31&to=2026-09-01", "from", ""},
	})
	checkCasePageAudited(t, e, toks["sue"], eligible, "compliance/risk-assessment-qa/cases", `"figure":"eligible"`, `"per_officer":"3"`)
}
