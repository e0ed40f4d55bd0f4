package compliance_test

import (
	"fmt"
	"slices"
	"testing"

	"doorstep/schema/policy"
	"doorstep/server/compliance"
)

// TestOverdueOrder checks the overdue list's order as docs/compliance.md
// gives it: most overdue first, then due date, rule, trigger date, CRN. The
// rule (due 42 days after the start, then every 42 days) makes two
// requirements alike in all but CRN and repeat number: d1 (CRN X0000002)
// started 06-01 and was never visited, its first visit due 07-13; d2 (CRN
// X0000001) started 05-01 and was visited 06-01, its first repeat due 07-13
// from that visit. Both are 19 days overdue on 08-01, so the CRN decides:
// d2 first, though its repeat number is higher.
func TestOverdueOrder(t *testing.T) {
	t.Parallel()
	p, err := policy.Parse([]byte(`{"version": "t1", "rules": [{"id": "every_six_weeks", "name": "Every six weeks",
		"trigger": "supervision_start", "due_within_days": 42, "recurrence_days": 42}]}`))
	if err != nil {
		t.Fatal(err)
	}
	b := &builder{}
	b.caseRec("d1", "o1", "t1", "low", "2026-06-01", "2026-06-01", false)
	b.recs[len(b.recs)-1].Fields["crn"] = []byte(`"X0000002"`)
	b.caseRec("d2", "o1", "t1", "low", "2026-05-01", "2026-05-01", false)
	b.recs[len(b.recs)-1].Fields["crn"] = []byte(`"X0000001"`)
	b.visit("w1", "d2", "home_announced", "2026-06-01", "signed", "completed", "", "")
	cases, err := compliance.Group(raw(t, b.recs))
	if err != nil {
		t.Fatal(err)
	}
	rep := compliance.Overdue(compliance.Input{Policy: p, Cases: cases}, "2026-08-01")
	var got []string
	for _, it := range rep.Items {
		got = append(got, fmt.Sprintf("%s %s #%d due %s on %s %dd", it.CRN, it.RuleID, it.Recurrence, it.DueOn, it.TriggeredOn, it.DaysOverdue))
	}
	want := []string{
		"X0000001 every_six_weeks #1 due 2026-07-13 on 2026-06-01 19d",
		"X0000002 every_six_weeks #0 due 2026-07-13 on 2026-06-01 19d",
	}
	if !slices.Equal(got, want) {
		t.Errorf("overdue items:\n got %q\nwant %q", got, want)
	}
}
