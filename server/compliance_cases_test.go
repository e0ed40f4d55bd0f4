package server

import (
	"context"
	"encoding/json"
	"net/url"
	"slices"
	"strings"
	"testing"

	"doorstep/schema"
	"doorstep/server/compliance"
	"doorstep/server/serverdb"
)

// allCasesOf reads every page of a case list, limit cases a page.
func allCasesOf(t *testing.T, e *env, path, token string) []string {
	t.Helper()
	out := []string{}
	for cursor := ""; ; {
		var page casePage
		p := path + "&limit=2"
		if cursor != "" {
			p += "&cursor=" + url.QueryEscape(cursor)
		}
		e.getJSON(t, p, token, &page)
		if len(page.CaseIDs) > 2 {
			t.Fatalf("GET %s: %d cases on a page of 2", p, len(page.CaseIDs))
		}
		out = append(out, page.CaseIDs...)
		if page.NextCursor == "" {
			return out
		}
		cursor = page.NextCursor
	}
}

// TestComplianceCaseListsFollowTheMeasure: the paged case list of a
// figure is the report's own list of that figure, page after page, and
// each page is audited as a view of the measure's cases.
func TestComplianceCaseListsFollowTheMeasure(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	seedCompliance(t, e)
	sue := e.login("sue", "dev-sue").AccessToken
	asha := e.users["asha"].ID

	var fv compliance.FirstVisitReport
	e.getJSON(t, "/v1/compliance/first-home-visits?from=2026-09-01&to=2026-10-31", sue, &fv)
	var od, odPast compliance.OverdueReport
	e.getJSON(t, "/v1/compliance/overdue", sue, &od)
	e.getJSON(t, "/v1/compliance/overdue?as_of=2026-10-31&officer_id="+asha, sue, &odPast)
	var wl compliance.WorkloadReport
	e.getJSON(t, "/v1/compliance/workload?as_of=2026-10-20", sue, &wl)
	for _, tc := range []struct {
		path string
		want []string
	}{
		{"/v1/compliance/first-home-visits/cases?figure=cases&from=2026-09-01&to=2026-10-31", fv.Totals.Cases.CaseIDs},
		{"/v1/compliance/first-home-visits/cases?figure=numerator&from=2026-09-01&to=2026-10-31", fv.Totals.Numerator.CaseIDs},
		{"/v1/compliance/first-home-visits/cases?figure=exempted&from=2026-09-01&to=2026-10-31", fv.Totals.Exempted.CaseIDs},
		{"/v1/compliance/first-home-visits/cases?figure=missed&from=2026-09-01&to=2026-10-31", fv.Totals.Missed.CaseIDs},
		{"/v1/compliance/overdue/cases?figure=cases", od.Totals.Cases.CaseIDs},
		{"/v1/compliance/overdue/cases?figure=cases&as_of=2026-10-31&officer_id=" + asha, odPast.Totals.Cases.CaseIDs},
		{"/v1/compliance/workload/cases?figure=caseload&as_of=2026-10-20", wl.Totals.Caseload.CaseIDs},
		{"/v1/compliance/workload/cases?figure=due_cases&as_of=2026-10-20", wl.Totals.DueCases.CaseIDs},
		{"/v1/compliance/workload/cases?figure=overdue_cases&as_of=2026-10-20", wl.Totals.OverdueCases.CaseIDs},
	} {
		if len(tc.want) == 0 && !strings.Contains(tc.path, "exempted") {
			t.Errorf("%s: the report lists no case; the test wants some", tc.path)
		}
		if got := allCasesOf(t, e, tc.path, sue); !slices.Equal(got, tc.want) {
			t.Errorf("%s: pages list %v, the report %v", tc.path, got, tc.want)
		}
	}
	evs, err := e.srv.DB().AuditByAction(context.Background(), "view")
	if err != nil {
		t.Fatal(err)
	}
	last := string(evs[len(evs)-1].Detail)
	if !strings.Contains(last, `"view":"compliance/workload/cases"`) || !strings.Contains(last, `"figure":"overdue_cases"`) {
		t.Errorf("the last page's audit event: %s; want the view compliance/workload/cases with its figure", last)
	}
}

// TestComplianceCaseListsScope: the same roles and scope as the measure.
// A supervisor naming another team's officer gets none of that team's
// cases; officers are refused; an auditor and an admin see every case.
func TestComplianceCaseListsScope(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	d := seedCompliance(t, e)
	const path = "/v1/compliance/overdue/cases?figure=cases"
	toks := complianceTokens(e)
	for _, tc := range []struct {
		who, query string
		want       []string
	}{
		{"bea", "", []string{d.reassigned}},
		{"bea", "&officer_id=" + e.users["asha"].ID, []string{}}, // team A's officer: nothing of team A
		{"sue", "&officer_id=" + e.users["carl"].ID, []string{}}, // team B's officer: nothing of team B
		{"sue", "&officer_id=" + e.users["asha"].ID, sorted(d.nonDA, d.phoneOnly, e.ashaCase, d.onTime, d.onDueDay, d.notYetDue)},
	} {
		if got := allCasesOf(t, e, path+tc.query, toks[tc.who]); !slices.Equal(got, tc.want) {
			t.Errorf("%s%s as %s: %v, want %v", path, tc.query, tc.who, got, tc.want)
		}
	}
	// Every case list, asked by a supervisor for another team's officer:
	// nothing of that team.
	for _, p := range []string{path, "/v1/compliance/workload/cases?figure=caseload&as_of=2026-10-20",
		"/v1/compliance/first-home-visits/cases?figure=cases&from=2026-09-01&to=2026-10-31"} {
		for _, q := range []struct{ who, officer string }{{"bea", "asha"}, {"sue", "carl"}} {
			if got := allCasesOf(t, e, p+"&officer_id="+e.users[q.officer].ID, toks[q.who]); len(got) != 0 {
				t.Errorf("%s for %s's cases as %s: %v, want none of another team's", p, q.officer, q.who, got)
			}
		}
	}
	for _, who := range []string{"audrey", "root"} {
		if got := allCasesOf(t, e, path, toks[who]); len(got) != 10 {
			t.Errorf("%s as %s: %d cases, want every one of the 10 overdue", path, who, len(got))
		}
	}
	for _, who := range []string{"asha", "carl"} {
		for _, p := range []string{path, "/v1/compliance/workload/cases?figure=caseload", "/v1/compliance/first-home-visits/cases?figure=cases"} {
			r := e.do("GET", p+"&officer_id="+e.users[who].ID, nil, bearer(toks[who]))
			if r.status != 403 || !strings.Contains(r.errorResponse().Error.Message, "the compliance measures") {
				t.Errorf("GET %s as officer %s = %d %s, want 403 naming the compliance measures", p, who, r.status, r.body)
			}
		}
	}
}

// TestComplianceCaseListsBadInput: a clear 400 naming what is wrong, and
// nothing audited.
func TestComplianceCaseListsBadInput(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	seedCompliance(t, e)
	sue := e.login("sue", "dev-sue").AccessToken
	before, _ := e.srv.DB().AuditByAction(context.Background(), "view")
	for _, tc := range []struct{ path, field string }{
		{"/v1/compliance/overdue/cases", "figure"},
		{"/v1/compliance/overdue/cases?figure=items", "figure"},
		{"/v1/compliance/workload/cases?figure=numerator", "figure"},
		{"/v1/compliance/overdue/cases?figure=cases&cursor=page-2", "cursor"},
		{"/v1/compliance/overdue/cases?figure=cases&limit=0", "limit"},
		{"/v1/compliance/overdue/cases?figure=cases&limit=1001", "limit"},
		{"/v1/compliance/overdue/cases?figure=cases&limit=ten", "limit"},
		{"/v1/compliance/overdue/cases?figure=cases&as_of=2027-01-01", "as_of"},
		{"/v1/compliance/workload/cases?figure=caseload&as_of=23-11-2026", "as_of"},
		{"/v1/compliance/overdue/cases?figure=cases&officer_id=" + strings.Repeat("x", 65), "officer_id"},
		{"/v1/compliance/first-home-visits/cases?figure=cases&from=2026-10-31&to=2026-09-01", "from"},
		{"/v1/compliance/first-home-visits/cases?figure=cases&to=2026-02-30", "to"},
		{"/v1/compliance/reviews/cases", "figure"},
		{"/v1/compliance/reviews/cases?figure=flags.late", "figure"},
		{"/v1/compliance/reviews/cases?figure=cases&from=2026-10-31&to=2026-09-01", "from"},
		{"/v1/compliance/reviews/cases?figure=cases&cursor=x", "cursor"},
		{"/v1/compliance/interventions/cases?figure=statuses.lost", "figure"},
		{"/v1/compliance/interventions/cases?figure=needed&to=2026-13-01", "to"},
		{"/v1/compliance/interventions/cases?figure=needed&limit=0", "limit"},
		{"/v1/compliance/interventions/cases?figure=needed&need=" + strings.Repeat("n", 201), "need"},
		{"/v1/compliance/interventions/cases?figure=needed&need=a%0Ab", "need"},
		{"/v1/compliance/enquiries/cases?figure=police", "figure"},
		{"/v1/compliance/enquiries/cases?figure=cases&officer_id=" + strings.Repeat("x", 65), "officer_id"},
		{"/v1/compliance/enquiries/cases?figure=cases&from=2026-9-1", "from"},
	} {
		r := e.do("GET", tc.path, nil, bearer(sue))
		if er := r.errorResponse(); r.status != 400 || er.Error.Field != tc.field {
			t.Errorf("GET %s = %d %s, want 400 naming %s", tc.path, r.status, r.body, tc.field)
		}
	}
	after, _ := e.srv.DB().AuditByAction(context.Background(), "view")
	if len(after) != len(before) {
		t.Errorf("refused case lists wrote %d view events", len(after)-len(before))
	}
}

// TestComplianceCountsFromTheReadModel: at detail=counts, measures 1, 2
// and 8 come from the read model's SQL aggregates, and the answer is, byte for
// byte, the Go measure's report at that detail, for several scopes and
// days.
func TestComplianceCountsFromTheReadModel(t *testing.T) {
	if testing.Short() {
		t.Skip("-short (CI's race pass): every figure from the read model against the Go measure takes minutes under -race; the plain pass runs it")
	}
	t.Parallel()
	e := newEnv(t)
	seedCompliance(t, e)
	ctx := context.Background()
	for _, who := range []string{"sue", "bea", "audrey"} {
		tok := e.login(who, "dev-"+who).AccessToken
		actor := serverdb.ActorOf(e.users[who], "")
		for _, officer := range []string{"", e.users["asha"].ID} {
			in, err := e.srv.Compliance().Input(ctx, actor, officer)
			if err != nil {
				t.Fatal(err)
			}
			for _, asOf := range []schema.Date{"2026-11-23", "2026-10-31", "2026-09-25"} {
				q := "?detail=counts&as_of=" + string(asOf) + "&officer_id=" + officer
				period := compliance.Period{From: "2026-09-01", To: asOf}
				fv := compliance.FirstHomeVisits(in, period, asOf)
				compliance.AddHeadline("first-home-visits", in, fv, period)
				ex := compliance.Exemptions(in, period, asOf)
				compliance.AddHeadline("exemptions", in, ex, period)
				fq := "?detail=counts&from=2026-09-01&to=" + string(asOf) + "&officer_id=" + officer
				cr := compliance.Contacts(in, period, asOf)
				compliance.AddHeadline("contacts", in, cr, period)
				for path, rep := range map[string]interface{ Summarize() }{
					"/v1/compliance/overdue" + q:            compliance.Overdue(in, asOf),
					"/v1/compliance/workload" + q:           compliance.Workload(in, asOf),
					"/v1/compliance/first-home-visits" + fq: fv,
					"/v1/compliance/contacts" + fq:          cr,
					"/v1/compliance/exemptions" + fq:        ex,
				} {
					rep.Summarize()
					compliance.DropIDs(rep)
					want, err := json.Marshal(rep)
					if err != nil {
						t.Fatal(err)
					}
					r := e.do("GET", path, nil, bearer(tok))
					if r.status != 200 || string(r.body) != string(want) {
						t.Errorf("GET %s as %s = %d\n%s\nwant the Go measure's\n%s", path, who, r.status, r.body, want)
					}
				}
			}
		}
	}
}

// complianceTokens signs in the compliance dataset's users: the
// supervisors sue (team A) and bea (team B), their officers asha and carl,
// the auditor audrey and the admin root.
func complianceTokens(e *env) map[string]string {
	toks := map[string]string{}
	for _, u := range []string{"sue", "bea", "asha", "carl", "audrey", "root"} {
		toks[u] = e.login(u, "dev-"+u).AccessToken
	}
	return toks
}

// checkCaseListRoles asks each case list (a path with its query) as a
// supervisor naming the other team's officer, and wants none of that
// team's cases; then asks the first as each officer for their own cases,
// and wants 403 naming the compliance measures.
func checkCaseListRoles(t *testing.T, e *env, toks map[string]string, paths ...string) {
	t.Helper()
	for _, q := range []struct{ who, officer string }{{"bea", "asha"}, {"sue", "carl"}} {
		for _, path := range paths {
			p := path + "&officer_id=" + e.users[q.officer].ID
			if got := allCasesOf(t, e, p, toks[q.who]); len(got) != 0 {
				t.Errorf("%s as %s: %v, want none of another team's", p, q.who, got)
			}
		}
	}
	for _, who := range []string{"asha", "carl"} {
		r := e.do("GET", paths[0]+"&officer_id="+e.users[who].ID, nil, bearer(toks[who]))
		if r.status != 403 || !strings.Contains(r.errorResponse().Error.Message, "the compliance measures") {
			t.Errorf("GET %s as officer %s = %d %s, want 403 naming the compliance measures", paths[0], who, r.status, r.body)
		}
	}
}
