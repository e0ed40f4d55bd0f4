package compliance_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"doorstep/schema"
	"doorstep/server/compliance"
	"doorstep/server/serverdb"
)

// TestEnquiriesReadModelWithSeveralEnquiries holds measure 4's report
// from the read model to the Go measure where a case has several
// start-of-supervision enquiries of one agency: the enquiry not requested
// is the first by id (its reason listed), the one requested the first by
// requested_on then id (its due date decides overdue or awaiting). On
// PostgreSQL each is read from a key of the case's enquiries (decision
// 0114: id and reason, or requested_on, id and due date, joined by
// chr(1)), where array_agg … ORDER BY sorted them; here the ids are
// ordered against the dates and reasons, so that a key read in any other
// order, or cut in the wrong place, answers otherwise. The previous
// period's headline (its two figures read apart, enquiryNeededSums) is in
// the JSON compared.
func TestEnquiriesReadModelWithSeveralEnquiries(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, ds := readModelService(t)
	svc := compliance.NewService(db, nil)
	p := compliance.Period{From: "2026-01-01", To: "2026-11-23"}
	asOf := p.To

	// Cases started in the period with no enquiry of an agency, given a
	// flag that needs it.
	var starts []string
	start := map[string]schema.Date{}
	enquired := map[string]bool{}
	for _, r := range ds.Records {
		switch r.Entity {
		case "case":
			if c := decodeAs[schema.Case](t, r); c.SupervisionStart >= p.From && c.SupervisionStart <= "2026-09-30" && !c.Closed {
				starts = append(starts, r.ID)
				start[r.ID] = c.SupervisionStart
			}
		case "enquiry":
			enquired[r.CaseID] = true
		}
	}
	var recs []schema.Record
	need := map[string][]string{}
	for _, id := range starts {
		agency, flag := "police", "da_perpetrator"
		if len(need["police"]) == 3 {
			agency, flag = "childrens_services", "child_protection"
		}
		if !enquired[id] && len(need[agency]) < 3 {
			need[agency] = append(need[agency], id)
			recs = append(recs, schema.Record{Entity: "flag", ID: schema.NewID(), CaseID: id,
				Fields: schema.FieldsOf(schema.Flag{Type: flag, StartDate: start[id]})})
		}
	}
	if len(need["police"]) < 3 || len(need["childrens_services"]) < 1 {
		t.Fatalf("%d police and %d children's services cases to enquire about; want 3 and 1", len(need["police"]), len(need["childrens_services"]))
	}
	police0, cs0 := need["police"][0], need["childrens_services"][0]
	// Each case's enquiries, in the order written; of pair n (0: none),
	// the enquiry takes the lower id (lo) or the higher of two ids made
	// for it.
	ids := map[int][2]string{}
	for _, e := range []struct {
		caseID, agency, requested, due, reason string
		pair                                   int
		lo                                     bool
	}{
		// Two not requested: the first by id gives the reason (it sorts
		// after the other's reason, and holds chr(1) itself); and one
		// requested.
		{police0, "police", "", "", "A: the second by id", 1, false},
		{police0, "police", "", "", "B: the first by id,\u0001 with a control character", 1, true},
		{police0, "police", "2026-10-01", "2026-10-15", "", 0, false},
		// Two requested: the first by requested_on (the higher id) is
		// overdue, the other awaiting.
		{need["police"][1], "police", "2026-10-05", "2026-12-31", "", 2, true},
		{need["police"][1], "police", "2026-10-01", "2026-10-15", "", 2, false},
		// Two requested the same day: the first by id is overdue.
		{need["police"][2], "police", "2026-10-01", "2026-12-31", "", 3, false},
		{need["police"][2], "police", "2026-10-01", "2026-10-15", "", 3, true},
		// Children's services: two not requested, as the police's first.
		{cs0, "childrens_services", "", "", "A: the second by id", 4, false},
		{cs0, "childrens_services", "", "", "B: the first by id", 4, true},
	} {
		id := schema.NewID()
		if e.pair > 0 {
			if _, ok := ids[e.pair]; !ok {
				a, b := schema.NewID(), schema.NewID()
				ids[e.pair] = [2]string{min(a, b), max(a, b)}
			}
			id = ids[e.pair][1]
			if e.lo {
				id = ids[e.pair][0]
			}
		}
		recs = append(recs, schema.Record{Entity: "enquiry", ID: id, CaseID: e.caseID, Fields: schema.FieldsOf(schema.Enquiry{
			Agency: e.agency, Stage: "initial_assessment", RequestedOn: schema.Date(e.requested), DueOn: schema.Date(e.due),
			NotRequestedReason: e.reason})})
	}
	if err := db.Seed(ctx, serverdb.Actor{UserID: "setup", Role: schema.RoleAdmin}, recs); err != nil {
		t.Fatal(err)
	}

	for _, sc := range oracleScopes(ds, 1, 2) {
		in, err := svc.Input(ctx, sc.actor, sc.officerID)
		if err != nil {
			t.Fatal(err)
		}
		goEn := compliance.Enquiries(in, p, asOf)
		if sc.name == "admin" { // the Go measure reads the edge cases as the test means
			reason := func(a compliance.AgencyFigures, caseID string) string {
				for _, r := range a.NotRequestedReasons {
					if r.CaseID == caseID {
						return r.Reason
					}
				}
				return ""
			}
			if !strings.HasPrefix(reason(goEn.Totals.Police, police0), "B:") || !strings.HasPrefix(reason(goEn.Totals.ChildrensServices, cs0), "B:") {
				t.Errorf("the Go measure's reasons %+v, %+v: the cases do not test the first by id", goEn.Totals.Police.NotRequestedReasons,
					goEn.Totals.ChildrensServices.NotRequestedReasons)
			}
			for _, id := range need["police"][1:3] {
				if !slices.Contains(goEn.Totals.Police.Overdue.CaseIDs, id) {
					t.Errorf("the Go measure does not count %s overdue: the case does not test the first requested", id)
				}
			}
		}
		got, _, err := svc.EnquiriesCounts(ctx, sc.actor, sc.officerID, p, asOf)
		if err != nil {
			t.Fatal(err)
		}
		if g, w := string(mustJSON(t, got)), countsJSON(t, "enquiries", in, goEn, p); g != w {
			t.Errorf("%s: enquiries from the read model\n%s\nthe Go measure's\n%s", sc.name, g, w)
		}
	}
}
