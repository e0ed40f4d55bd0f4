package dashboard

import (
	"context"
	"net/url"
	"strings"
	"testing"
)

// The QA rating on the case page, and measure 10's panel.
func TestDashboardQARating(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	d := seedCompliance(t, e)
	sue := e.signedIn(t, "sue")
	bea := e.signedIn(t, "bea")
	const q = "?from=2026-09-01&to=2026-11-23" // up to today, quarter 2026-Q4
	casePath := "/dashboard/cases/" + d.onTime
	p := sue.get(casePath + q)
	mustStatus(t, "case page", p, 200)
	action := `action="/dashboard/cases/` + d.onTime + `/qa-rating?`
	mustContain(t, "case page", p.body, `id="qa"`, "In the QA sample 2026-Q4", "Not rated in this period yet.", action)
	// A case that is not a DA case has no QA section.
	if p := sue.get("/dashboard/cases/" + d.nonDA + q); strings.Contains(p.body, `id="qa"`) {
		t.Errorf("a non-DA case has the QA form")
	}
	post := casePath + "/qa-rating" + q
	bea.get("/dashboard/")
	c := e.counts()
	p = sue.decide(post, "decision", "insufficient", "reason", "  ", "next", casePath+q)
	mustStatus(t, "insufficient without a reason", p, 422)
	mustContain(t, "insufficient without a reason", p.body, "Give a reason: say what the risk analysis is missing.", `aria-invalid="true"`, `id="qa"`)
	mustStatus(t, "no rating chosen", sue.decide(post, "reason", "x"), 422)
	mustStatus(t, "an unknown rating", sue.decide(post, "decision", "approved"), 422)
	mustStatus(t, "another team's supervisor", bea.decide(post, "decision", "sufficient"), 404)
	mustStatus(t, "a forged form token", sue.post(post, url.Values{"_csrf": {"forged"}, "decision": {"sufficient"}}), 403)
	if e.counts() != c {
		t.Errorf("a refused rating wrote something")
	}
	p = sue.decide(post, "decision", "sufficient", "next", casePath+q)
	if p.status != 303 || p.header.Get("Location") != casePath+q+"#flash" {
		t.Fatalf("rate: %d %s %s", p.status, p.header.Get("Location"), p.body)
	}
	p = sue.get(casePath + q)
	mustContain(t, "case page after", p.body, "Risk analysis rated sufficient.", "Counted for this period: sufficient.", "sufficient by sue")
	recs, err := e.srv.DB().List(context.Background(), e.admin, "oversight", d.onTime)
	if err != nil || len(recs) != 1 || string(recs[0].Fields["aspect"]) != `"da_risk_assessment"` || string(recs[0].Fields["subject_id"]) != `"`+d.onTime+`"` {
		t.Fatalf("oversight records = %+v %v", recs, err)
	}
	evs, _ := e.srv.DB().AuditByAction(context.Background(), "oversight")
	if len(evs) != 1 || evs[0].RecordID != d.onTime {
		t.Errorf("audit = %+v", evs)
	}
	// The panel: 1 of 1 rated sufficient, on its page and the overview.
	p = sue.get("/dashboard/measures/risk-assessment-qa" + q)
	mustStatus(t, "measure page", p, 200)
	mustContain(t, "measure page", p.body, "DA risk assessment sufficient (QA sample)", "1 of 1", "sampled, not yet rated", "QA sample 2026-Q4")
	mustContain(t, "overview", sue.get("/dashboard/"+q).body, "DA risk assessment sufficient (QA sample)")
	// The JSON figure agrees.
	var rep struct {
		Totals struct {
			Sufficient struct {
				Numerator struct{ N int } `json:"numerator"`
			} `json:"sufficient"`
		} `json:"totals"`
	}
	tok := e.login("sue", "dev-sue2").AccessToken
	e.getJSON(t, "/v1/compliance/risk-assessment-qa"+q, tok, &rep)
	if rep.Totals.Sufficient.Numerator.N != 1 {
		t.Errorf("JSON numerator %d", rep.Totals.Sufficient.Numerator.N)
	}
	// An auditor sees the ratings, and no form.
	audrey := e.signedIn(t, "audrey")
	p = audrey.get(casePath + q)
	mustContain(t, "auditor's case page", p.body, `id="qa"`, "sufficient by sue")
	if strings.Contains(p.body, action) {
		t.Errorf("the auditor has the rating form")
	}
	c = e.counts()
	mustStatus(t, "auditor rates", audrey.decide(post, "decision", "sufficient"), 403)
	if e.counts() != c {
		t.Errorf("the auditor's rating wrote something")
	}
}
