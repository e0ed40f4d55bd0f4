package server

import (
	"context"
	"slices"
	"strings"
	"testing"

	"doorstep/server/compliance"
)

// TestExemptionsCaseLists: the exemptions report's case lists, page by
// page, are the report's own lists; a supervisor asking for another
// team's officer gets none of that team's cases; an admin and an auditor
// see every team's; officers are refused; an unknown figure is refused
// naming the figures; each page is audited.
func TestExemptionsCaseLists(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	seedCompliance(t, e)
	toks := complianceTokens(e)
	const period = "&from=2026-09-01&to=2026-11-23"
	var sue, all compliance.ExemptionsReport
	e.getJSON(t, "/v1/compliance/exemptions?"+period[1:], toks["sue"], &sue)
	e.getJSON(t, "/v1/compliance/exemptions?"+period[1:], toks["root"], &all)
	f := sue.Totals
	for figure, want := range map[string][]string{"due": f.Due.Cases.CaseIDs, "exempted": f.Exempted.Cases.CaseIDs,
		"met": f.Met.Cases.CaseIDs, "missed": f.Missed.Cases.CaseIDs, "met_despite_exemption": f.MetDespiteExemption.Cases.CaseIDs,
		"safety_not_approved": f.SafetyNotApproved.CaseIDs, "safety_exempted": f.SafetyExempted.CaseIDs} {
		if len(want) == 0 && (figure == "due" || figure == "exempted" || figure == "met" || figure == "missed") {
			t.Errorf("figure %s: the report lists no case; the test wants some", figure)
		}
		path := "/v1/compliance/exemptions/cases?figure=" + figure + period
		if got := allCasesOf(t, e, path, toks["sue"]); !slices.Equal(got, want) {
			t.Errorf("%s as sue: pages list %v, the report %v", path, got, want)
		}
	}
	due := "/v1/compliance/exemptions/cases?figure=due" + period
	for _, who := range []string{"root", "audrey"} {
		if got := allCasesOf(t, e, due, toks[who]); !slices.Equal(got, all.Totals.Due.Cases.CaseIDs) || len(got) <= len(f.Due.Cases.CaseIDs) {
			t.Errorf("%s as %s: %v, want every team's %v", due, who, got, all.Totals.Due.Cases.CaseIDs)
		}
	}
	checkCaseListRoles(t, e, toks, due, "/v1/compliance/exemptions/cases?figure=met"+period,
		"/v1/compliance/exemptions/cases?figure=safety_not_approved"+period)

	checkCaseListRefusals(t, e, toks["sue"], []refusal{
		{"/v1/compliance/exemptions/cases?figure=cases" + period, "figure", "due, exempted, met, missed"},
		{"/v1/compliance/exemptions/cases?figure=due&from=2026-11-23&to=2026-09-01", "from", ""},
		{"/v1/compliance/exemptions/cases?figure=due&as_of=2026-13-01&to=2026-13-01", "to", ""},
	})
	checkCasePageAudited(t, e, toks["sue"], due, "compliance/exemptions/cases", `"figure":"due"`)
}

// refusal is a request a case list refuses, the field its 400 names and
// what its message says.
type refusal struct{ path, field, says string }

// checkCaseListRefusals: each request is a 400 naming its field, and
// none is audited.
func checkCaseListRefusals(t *testing.T, e *env, tok string, refusals []refusal) {
	t.Helper()
	before, _ := e.srv.DB().AuditByAction(context.Background(), "view")
	for _, tc := range refusals {
		r := e.do("GET", tc.path, nil, bearer(tok))
		if er := r.errorResponse(); r.status != 400 || er.Error.Field != tc.field || !strings.Contains(er.Error.Message, tc.says) {
			t.Errorf("GET %s = %d %s, want 400 naming %s", tc.path, r.status, r.body, tc.field)
		}
	}
	after, _ := e.srv.DB().AuditByAction(context.Background(), "view")
	if len(after) != len(before) {
		t.Errorf("refused case lists wrote %d view events", len(after)-len(before))
	}
}

// checkCasePageAudited: a page of one case of path is audited as a view
// of view, with its query (each of want in the event's detail).
func checkCasePageAudited(t *testing.T, e *env, tok, path, view string, want ...string) {
	t.Helper()
	if r := e.do("GET", path+"&limit=1", nil, bearer(tok)); r.status != 200 {
		t.Fatalf("GET %s = %d %s", path, r.status, r.body)
	}
	evs, err := e.srv.DB().AuditByAction(context.Background(), "view")
	if err != nil {
		t.Fatal(err)
	}
	last := string(evs[len(evs)-1].Detail)
	for _, w := range append(want, `"view":"`+view+`"`, `"case_count":1`) {
		if !strings.Contains(last, w) {
			t.Errorf("the page's audit event: %s; want %s in it", last, w)
		}
	}
}
