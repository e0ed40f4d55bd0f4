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
	toks := map[string]string{}
	for _, u := range []string{"sue", "bea", "asha", "carl", "audrey", "root"} {
		toks[u] = e.login(u, "dev-"+u).AccessToken
	}
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
	for _, q := range []struct{ who, officer string }{{"bea", "asha"}, {"sue", "carl"}} {
		for _, figure := range []string{"due", "met", "safety_not_approved"} {
			p := "/v1/compliance/exemptions/cases?figure=" + figure + period + "&officer_id=" + e.users[q.officer].ID
			if got := allCasesOf(t, e, p, toks[q.who]); len(got) != 0 {
				t.Errorf("%s as %s: %v, want none of another team's", p, q.who, got)
			}
		}
	}
	for _, who := range []string{"asha", "carl"} {
		r := e.do("GET", due+"&officer_id="+e.users[who].ID, nil, bearer(toks[who]))
		if r.status != 403 || !strings.Contains(r.errorResponse().Error.Message, "the compliance measures") {
			t.Errorf("GET %s as officer %s = %d %s, want 403 naming the compliance measures", due, who, r.status, r.body)
		}
	}

	before, _ := e.srv.DB().AuditByAction(context.Background(), "view")
	for _, tc := range []struct{ path, field, says string }{
		{"/v1/compliance/exemptions/cases?figure=cases" + period, "figure", "due, exempted, met, missed"},
		{"/v1/compliance/exemptions/cases?figure=due&from=2026-11-23&to=2026-09-01", "from", ""},
		{"/v1/compliance/exemptions/cases?figure=due&as_of=2026-13-01&to=2026-13-01", "to", ""},
	} {
		r := e.do("GET", tc.path, nil, bearer(toks["sue"]))
		if er := r.errorResponse(); r.status != 400 || er.Error.Field != tc.field || !strings.Contains(er.Error.Message, tc.says) {
			t.Errorf("GET %s = %d %s, want 400 naming %s", tc.path, r.status, r.body, tc.field)
		}
	}
	after, _ := e.srv.DB().AuditByAction(context.Background(), "view")
	if len(after) != len(before) {
		t.Errorf("refused case lists wrote %d view events", len(after)-len(before))
	}
	r := e.do("GET", due+"&limit=1", nil, bearer(toks["sue"]))
	if r.status != 200 {
		t.Fatalf("GET %s = %d %s", due, r.status, r.body)
	}
	evs, err := e.srv.DB().AuditByAction(context.Background(), "view")
	if err != nil {
		t.Fatal(err)
	}
	last := string(evs[len(evs)-1].Detail)
	if !strings.Contains(last, `"view":"compliance/exemptions/cases"`) || !strings.Contains(last, `"figure":"due"`) ||
		!strings.Contains(last, `"case_count":1`) {
		t.Errorf("the page's audit event: %s; want the view compliance/exemptions/cases with its figure and case", last)
	}
}
