package compliance_test

import (
	"testing"

	"doorstep/schema"
	"doorstep/schema/policy"
	"doorstep/server/compliance"
)

// TestEnquiriesWithinDays checks the inspection's view of measure 4 with
// the rules document's enquiry_within_days: e1's police enquiry answered
// 16 days after the start is late by the default 15 days and in time with
// 16; e2's pre-sentence answer 5 days before the start is in time either
// way; e3, a DA case with a child who only visits, needs a children's-
// services enquiry only in the inspection's view.
func TestEnquiriesWithinDays(t *testing.T) {
	t.Parallel()
	b := &builder{}
	for _, id := range []string{"e1", "e2", "e3"} {
		b.caseRec(id, "o1", "t1", "high", "2026-09-01", "2026-09-01", false)
		b.flag("f"+id, id, "da_victim", "2026-09-01", "", "", "")
	}
	b.add("enquiry", "q1", "e1", schema.Enquiry{Agency: "police", Stage: "initial_assessment", RequestedOn: "2026-09-01", AnsweredOn: "2026-09-17"})
	b.add("enquiry", "q2", "e2", schema.Enquiry{Agency: "police", Stage: "pre_sentence", RequestedOn: "2026-08-10", AnsweredOn: "2026-08-27"})
	b.member("k3", "e3", "own_child", "visits", "2026-08-01", "", "")
	b.add("enquiry", "q3", "e3", schema.Enquiry{Agency: "childrens_services", Stage: "initial_assessment", RequestedOn: "2026-09-02", AnsweredOn: "2026-09-05"})
	cases, err := compliance.Group(raw(t, b.recs))
	if err != nil {
		t.Fatal(err)
	}
	p16, err := policy.Parse([]byte(`{"version": "v16", "enquiry_within_days": 16, "rules": [{"id": "first", "name": "First",
		"trigger": "supervision_start", "due_within_days": 15}]}`))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		p            *policy.Policy
		days         int
		police, late []string
	}{
		{nil, 15, []string{"e2"}, []string{"e1"}},
		{p16, 16, []string{"e1", "e2"}, nil},
	} {
		rep := compliance.Enquiries(compliance.Input{Policy: c.p, Cases: cases}, period, to)
		f := rep.Totals
		if rep.WithinDays != c.days {
			t.Errorf("within_days = %d, want %d", rep.WithinDays, c.days)
		}
		ids(t, "police answered (Doorstep's)", f.Police.Answered, "e1", "e2")
		ids(t, "police in time", f.Inspection.Police.Numerator, c.police...)
		ids(t, "police answered late", f.Inspection.Police.AnsweredLate, c.late...)
		ids(t, "police needed", f.Inspection.Police.Denominator, "e1", "e2", "e3")
		ids(t, "cs needed (Doorstep's)", f.ChildrensServices.Needed)
		ids(t, "cs answered not needed (Doorstep's)", f.ChildrensServices.AnsweredNotNeeded, "e3")
		ids(t, "cs in time (inspection's)", f.Inspection.ChildrensServices.Numerator, "e3")
		ids(t, "cs needed (inspection's)", f.Inspection.ChildrensServices.Denominator, "e3")
	}
}
