package server

import (
	"bytes"
	"math"
	"testing"

	"doorstep/server/compliance"
)

// TestComplianceHeadline: each measure over a period carries its headline
// figure, its target and RAG status from the rules (the defaults here),
// and the previous period's headline, equal to the report asked for that
// period.
func TestComplianceHeadline(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	seedCompliance(t, e)
	sue := e.login("sue", "dev-sue").AccessToken
	var rep compliance.FirstVisitReport
	e.getJSON(t, "/v1/compliance/first-home-visits?from=2026-09-01&to=2026-10-31", sue, &rep)
	h := rep.Headline
	if h == nil {
		t.Fatal("no headline")
	}
	if h.Measure != "first-home-visits" || h.Numerator != 2 || h.Denominator != 5 || pct(h.Percent) != "40" || h.Status != "red" ||
		h.Target == nil || h.Target.Target != 90 || h.Target.Red != 75 || h.Target.Amber != 90 || h.MinDenominator != 5 {
		t.Errorf("headline %+v target %+v", *h, h.Target)
	}
	if h.Previous == nil || h.Previous.Period != (compliance.Period{From: "2026-07-02", To: "2026-08-31"}) {
		t.Fatalf("previous %+v", h.Previous)
	}
	var prev compliance.FirstVisitReport
	e.getJSON(t, "/v1/compliance/first-home-visits?from=2026-07-02&to=2026-08-31", sue, &prev)
	if pf := prev.HeadlineFigure(); prev.Headline == nil || h.Previous.Numerator != pf.Numerator || h.Previous.Denominator != pf.Denominator ||
		pct(h.Previous.Percent) != pct(pf.Percent) || h.Previous.Status != prev.Headline.Status || pf.Denominator != 1 || h.Previous.Status != "too_few" {
		t.Errorf("previous %+v, want the report for that period %+v", h.Previous.Figure, prev.HeadlineFigure())
	}
	if pp := prev.HeadlineFigure().Percent; (pp == nil) != (h.Change == nil) || pp != nil && pct(h.Change) != pct(ptr(40-*pp)) {
		t.Errorf("change %s, previous %s", pct(h.Change), pct(pp))
	}

	// Lower is better: 1 of 11 visits due exempted, 9.1%, is green.
	var ex compliance.ExemptionsReport
	e.getJSON(t, "/v1/compliance/exemptions?from=2026-09-01&to=2026-10-31&detail=counts", sue, &ex)
	if ex.Headline == nil || ex.Headline.Numerator != 1 || ex.Headline.Denominator != 11 || ex.Headline.Status != "green" || !ex.Headline.Target.LowerIsBetter {
		t.Errorf("exemptions headline %+v", ex.Headline)
	}
	// No target by default: none.
	var co compliance.ContactsReport
	e.getJSON(t, "/v1/compliance/contacts?from=2026-09-01&to=2026-10-31", sue, &co)
	if co.Headline == nil || co.Headline.Target != nil || (co.Headline.Denominator >= 5 && co.Headline.Status != "none") {
		t.Errorf("contacts headline %+v", co.Headline)
	}
	// One officer's share of the cases: fewer than 5 is too few to judge.
	var one compliance.FirstVisitReport
	e.getJSON(t, "/v1/compliance/first-home-visits?from=2026-09-01&to=2026-10-31&officer_id="+e.users["ben"].ID, sue, &one)
	if n := one.Headline.Denominator; n == 0 || n >= 5 || one.Headline.Status != "too_few" {
		t.Errorf("ben's headline %+v", one.Headline)
	}
	// A measure on a day has none.
	r := e.do("GET", "/v1/compliance/overdue?as_of=2026-10-31", nil, bearer(sue))
	if r.status != 200 || bytes.Contains(r.body, []byte(`"headline"`)) {
		t.Errorf("overdue: %d, headline in %.200s", r.status, r.body)
	}
}

func ptr(f float64) *float64 { f = math.Round(f*10) / 10; return &f }
