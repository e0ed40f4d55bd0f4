package server

import (
	"context"
	"strings"
	"testing"

	"doorstep/schema"
	"doorstep/server/serverdb"
)

// A report computed case by case over more cases than Config.MaxReportCases
// is refused with 422 too_many_cases naming the limit and what to ask
// instead; the same report narrowed under the limit, and a measure's
// counts from the read model whatever the cases, are answered. The limit
// is tested at its boundary in server/compliance (TestServiceCaseLimit).
func TestComplianceCaseLimit(t *testing.T) {
	t.Parallel()
	const limit = 3
	e := newEnvWith(t, func(c *Config) { c.MaxReportCases = limit })
	seedCompliance(t, e)
	ctx := context.Background()
	root := e.login("root", "dev-root").AccessToken
	sue := e.login("sue", "dev-sue").AccessToken
	all, err := e.srv.DB().ScopeCases(ctx, serverdb.Actor{UserID: "x", Role: schema.RoleAdmin}, serverdb.ScopeNarrow{})
	if err != nil || len(all) <= limit {
		t.Fatalf("the service has %d cases (%v); the test needs more than %d", len(all), err, limit)
	}
	carl := e.users["carl"].ID
	few, err := e.srv.DB().ScopeCases(ctx, serverdb.Actor{UserID: "x", Role: schema.RoleAdmin}, serverdb.ScopeNarrow{OfficerID: carl})
	if err != nil || len(few) == 0 || len(few) > limit {
		t.Fatalf("carl has %d cases (%v); the test needs 1 to %d", len(few), err, limit)
	}
	const period = "from=2026-09-01&to=2026-10-31"
	for _, tc := range []struct {
		path, token string
		want        int
	}{
		{"/v1/compliance/contacts?" + period, root, 422},
		{"/v1/compliance/contacts?detail=summary&" + period, root, 422},
		{"/v1/compliance/overdue?as_of=2026-10-31", sue, 422},
		{"/v1/compliance/risk-assessment-qa?" + period, root, 422},
		{"/v1/compliance/contacts?officer_id=" + carl + "&" + period, root, 200},
		{"/v1/compliance/first-home-visits?detail=counts&" + period, root, 200},
		{"/v1/compliance/overdue?detail=counts&as_of=2026-10-31", sue, 200},
		{"/v1/compliance/contacts?detail=counts&" + period, root, 200},
		{"/v1/compliance/households?detail=counts&" + period, root, 200},
		{"/v1/compliance/households/cases?figure=cases&" + period, root, 200},
		{"/v1/compliance/exemptions?detail=counts&" + period, root, 200},
		{"/v1/compliance/exemptions?detail=summary&" + period, root, 422},
		{"/v1/compliance/risk-assessment-qa?detail=counts&" + period, root, 200},
		{"/v1/compliance/risk-assessment-qa?detail=summary&" + period, root, 422},
		{"/v1/compliance/risk-assessment-qa?officer_id=" + carl + "&" + period, root, 200},
		{"/v1/compliance/exemptions/cases?figure=due&" + period, root, 200},
		{"/v1/compliance/risk-assessment-qa/cases?figure=eligible&" + period, root, 200},
	} {
		r := e.do("GET", tc.path, nil, bearer(tc.token))
		if r.status != tc.want {
			t.Errorf("GET %s: %d %s, want %d", tc.path, r.status, r.body, tc.want)
			continue
		}
		if tc.want != 422 {
			continue
		}
		var body schema.ErrorResponse
		r.decode(t, &body)
		if m := body.Error.Message; body.Error.Code != schema.ECodeTooManyCases || !strings.Contains(m, "more than the 3") ||
			!strings.Contains(m, "officer_id") || !strings.Contains(m, "detail=counts") || !strings.Contains(m, "/cases") {
			t.Errorf("GET %s: %s; want too_many_cases naming the limit, officer_id, detail=counts and the case lists", tc.path, r.body)
		}
	}
}
