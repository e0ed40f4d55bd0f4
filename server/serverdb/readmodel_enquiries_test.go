package serverdb

import (
	"context"
	"database/sql"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"doorstep/schema"
)

// countingQuerier counts the statements run on a store.
type countingQuerier struct {
	q querier
	n *int
}

func (c countingQuerier) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	*c.n++
	return c.q.QueryContext(ctx, q, args...)
}

// enquiriesOnSnapshot asks for what measure 4's report asks of one
// snapshot (its groups of cases, its agencies' counts, answered days and
// not-requested reasons, the previous period's headline and its case
// list) on fs, and returns the answers as one comparable value.
func enquiriesOnSnapshot(ctx context.Context, t *testing.T, fs Figures, a Actor, base FigureQuery) []any {
	t.Helper()
	cases := base
	cases.Figure = "cases"
	groups, err := fs.Groups(ctx, a, cases)
	if err != nil {
		t.Fatal(err)
	}
	out := []any{groups}
	for _, agency := range enquiryAgencies {
		var names []string
		for _, n := range FigureNames(MeasureEnquiries) {
			if strings.HasPrefix(n, agency+".") || strings.HasPrefix(n, "inspection."+agency+".") {
				names = append(names, n)
			}
		}
		q := base
		q.Figure = names[0]
		sums, err := fs.Sums(ctx, a, q, names)
		if err != nil {
			t.Fatal(err)
		}
		q.Figure = agency + ".answered"
		days, err := fs.EnquiryDays(ctx, a, q)
		if err != nil {
			t.Fatal(err)
		}
		q.Figure = agency + ".not_requested"
		reasons, err := fs.NotRequestedReasons(ctx, a, q)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, sums, days, reasons)
	}
	prev := base
	prev.From, prev.To, prev.AsOf = "2025-10-01", "2025-12-31", "2025-12-31"
	prev.Figure = "police.answered"
	sums, err := fs.Sums(ctx, a, prev, []string{"police.answered", "police.needed"})
	if err != nil {
		t.Fatal(err)
	}
	out = append(out, sums)
	// The list pages as figureCases does: from a case, so many.
	ids, err := fs.Cases(ctx, a, cases, "", 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	out = append(out, ids)
	if len(ids) > 2 {
		page, err := fs.Cases(ctx, a, cases, ids[0], 1)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, page)
	}
	return out
}

// TestEnquiriesReadOnceAnAgency: on a snapshot, measure 4's groups of
// cases, counts, days and reasons of both agencies and its case list come
// from one statement over its cases (decisions 0067, 0114), and the
// previous period's headline from one more, its two figures alone
// (enquiryNeededSums), where each was a statement over every case of the
// period; the answers are the statements' own, for every actor.
func TestEnquiriesReadOnceAnAgency(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, users := readModelStore(t)
	actors := []Actor{{UserID: "admin", Role: schema.RoleAdmin}}
	for _, u := range users {
		if u.Role == schema.RoleOfficer {
			actors = append(actors, ActorOf(u, ""))
			break
		}
	}
	base := FigureQuery{Measure: MeasureEnquiries, AsOf: "2026-11-23", From: "2026-01-01", To: "2026-11-23", WithinDays: 15}
	for _, a := range actors {
		label := fmt.Sprintf("for %s", a.Role)
		var perFigure, once int
		want := enquiriesOnSnapshot(ctx, t, Figures{q: countingQuerier{db.r, &perFigure}}, a, base)
		got := enquiriesOnSnapshot(ctx, t, Figures{q: countingQuerier{db.r, &once}, tallies: map[tallyKey]*familyTally{},
			enquiries: map[enquiryKey][]enquiryCase{}}, a, base)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: the cases read once answer %+v, a statement a figure %+v", label, got, want)
		}
		if n := len(want[2].([]EnquiryDay)) + len(want[3].([]NotRequested)); a.Role == schema.RoleAdmin && n == 0 {
			t.Errorf("%s: no days nor reasons of the police: the store tests nothing", label)
		}
		if perFigure != 10 || once != 2 {
			t.Errorf("%s: %d statements a figure, %d on a snapshot; want 10 and 2 (the agencies' cases, and the previous period)", label, perFigure, once)
		}
	}
}

// TestEnquiryCasesReadEnquiriesOnceACase: on PostgreSQL, the statement
// of an agency's cases on a snapshot (enquiryCasesOnce's base) reads a
// case's enquiries once, by a LATERAL join, where the four correlated
// probes it replaced (the earliest answer, the not-requested enquiry,
// whether one is requested, and the first one's due date) read
// rm_enquiries four times (decision 0093). SQLite keeps the probes.
func TestEnquiryCasesReadEnquiriesOnceACase(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	pg := f.db.Engine() == "postgres"
	for _, agency := range enquiryAgencies {
		q := &sqlb{pg: pg}
		fq := FigureQuery{Measure: MeasureEnquiries, Figure: agency + "." + enquiryParts[0], AsOf: "2026-11-23",
			From: "2026-01-01", To: "2026-11-23", WithinDays: 15}
		if _, err := enquiryBase(q, f.admin, fq, 0); err != nil {
			t.Fatal(err)
		}
		plan := explainWithout(t, f.db, q)
		// PostgreSQL's plan names the table read ("… on rm_enquiries e"),
		// SQLite's the index it searches.
		n, want := strings.Count(plan, "USING INDEX rm_enquiries_case"), 4
		if pg {
			n, want = strings.Count(plan, " on rm_enquiries "), 1
		}
		if n != want {
			t.Errorf("%s's cases read rm_enquiries %d times; want %d:\n%s", agency, n, want, plan)
		}
	}
}

// TestEnquiryKeysOfSeveralEnquiries: where a case has several
// start-of-supervision enquiries of one agency, the snapshot's read of
// both agencies' cases (readEnquiryCases; on PostgreSQL the LATERAL
// read's keys joined by chr(1), decision 0114) answers as a statement a
// figure does (the correlated probes, with ORDER BY … LIMIT 1): the
// enquiry not requested is the first by id, with its reason; the one
// requested the first by requested_on then id, its due date deciding
// overdue or awaiting. The ids are ordered against the dates and reasons,
// so that a key read in another order, or cut in the wrong place,
// answers otherwise. Both stores.
func TestEnquiryKeysOfSeveralEnquiries(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	pg := f.db.Engine() == "postgres"
	cases := make([]string, 4)
	var recs []schema.Record
	for i := range cases {
		cases[i] = schema.NewID()
		recs = append(recs, caseRecord(cases[i], fmt.Sprintf("E%06d", i), f.asha))
		flag := "da_perpetrator"
		if i == 3 {
			flag = "child_protection"
		}
		recs = append(recs, schema.Record{Entity: "flag", ID: schema.NewID(), CaseID: cases[i],
			Fields: schema.FieldsOf(schema.Flag{Type: flag, StartDate: "2026-10-01"})})
	}
	pair := func() (lo, hi string) { // two ids, lo sorting first
		a, b := schema.NewID(), schema.NewID()
		return min(a, b), max(a, b)
	}
	enq := func(id, caseID, agency, requested, due, reason string) {
		recs = append(recs, schema.Record{Entity: "enquiry", ID: id, CaseID: caseID, Fields: schema.FieldsOf(schema.Enquiry{
			Agency: agency, Stage: "initial_assessment", RequestedOn: schema.Date(requested), DueOn: schema.Date(due),
			NotRequestedReason: reason})})
	}
	// Two not requested: the first by id gives the reason (it sorts after
	// the other's, and holds chr(1) itself); and one requested.
	lo, hi := pair()
	enq(hi, cases[0], "police", "", "", "A: the second by id")
	enq(lo, cases[0], "police", "", "", "B: the first by id,\u0001 with a control character")
	enq(schema.NewID(), cases[0], "police", "2026-10-01", "2026-10-15", "")
	// Two requested: the first by requested_on (the higher id) is overdue.
	lo, hi = pair()
	enq(lo, cases[1], "police", "2026-10-05", "2026-12-31", "")
	enq(hi, cases[1], "police", "2026-10-01", "2026-10-15", "")
	// Two requested the same day: the first by id is overdue.
	lo, hi = pair()
	enq(hi, cases[2], "police", "2026-10-01", "2026-12-31", "")
	enq(lo, cases[2], "police", "2026-10-01", "2026-10-15", "")
	// Children's services: two not requested, as the police's first.
	lo, hi = pair()
	enq(hi, cases[3], "childrens_services", "", "", "A: the second by id")
	enq(lo, cases[3], "childrens_services", "", "", "B: the first by id")
	if err := f.db.Seed(ctx, f.admin, recs); err != nil {
		t.Fatal(err)
	}

	base := FigureQuery{Measure: MeasureEnquiries, AsOf: "2026-11-23", From: "2026-01-01", To: "2026-11-23", WithinDays: 15}
	for _, a := range []Actor{f.admin, f.actor(f.asha, f.ashaDev)} {
		want := enquiriesOnSnapshot(ctx, t, Figures{q: f.db.r}, a, base)
		got := enquiriesOnSnapshot(ctx, t, Figures{q: f.db.r, pg: pg, tallies: map[tallyKey]*familyTally{},
			enquiries: map[enquiryKey][]enquiryCase{}}, a, base)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("for %s: the cases read once answer %+v, a statement a figure %+v", a.Role, got, want)
		}
	}
	// The statements a figure read the cases as the test means.
	reasons := map[string]string{}
	for _, agency := range enquiryAgencies {
		q := base
		q.Figure = agency + ".not_requested"
		rs, err := notRequestedReasons(ctx, f.db.r, f.admin, q)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rs {
			reasons[r.CaseID] = r.Reason
		}
	}
	q := base
	q.Figure = "police.overdue"
	overdue, err := figureCases(ctx, f.db.r, f.admin, q, "", 100)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(reasons[cases[0]], "B:") || !strings.Contains(reasons[cases[0]], "\u0001") || !strings.HasPrefix(reasons[cases[3]], "B:") ||
		!slices.Contains(overdue, cases[1]) || !slices.Contains(overdue, cases[2]) {
		t.Errorf("reasons %v, overdue %v: the cases do not test the first by id and by requested_on", reasons, overdue)
	}
}

// TestEnquiryReasonAtItsLongest: an enquiry not requested whose reason is
// as long as schema.Enquiry allows (2,000 characters, each of four bytes
// in UTF-8, none repeating in a run: 8,000 bytes that do not compress) is
// written to the read model and read back whole by measure 4's snapshot,
// both stores. PostgreSQL refuses a b-tree entry of more than 2,704 bytes:
// an index holding not_requested_reason (decision 0114's covering index of
// rm_enquiries (case_id, agency) with the columns its statements read, the
// reason among them) fails the write of such a record (decision 0131).
func TestEnquiryReasonAtItsLongest(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	pg := f.db.Engine() == "postgres"
	var b strings.Builder
	for i := range 2000 {
		b.WriteRune(rune(0x10000 + (i*7919)%0xF000)) // four bytes each
	}
	reason := b.String()
	if len(reason) != 8000 {
		t.Fatalf("the reason is %d bytes, want 8000", len(reason))
	}
	caseID := schema.NewID()
	enquiry := schema.Enquiry{Agency: "police", Stage: "initial_assessment", NotRequestedReason: reason}
	if spec, _ := schema.Entity("enquiry"); spec.ValidateFields(schema.FieldsOf(enquiry)) != nil {
		t.Fatal("the reason is not one a client may send")
	}
	if err := f.db.Seed(ctx, f.admin, []schema.Record{caseRecord(caseID, "E000001", f.asha),
		{Entity: "flag", ID: schema.NewID(), CaseID: caseID, Fields: schema.FieldsOf(schema.Flag{Type: "da_perpetrator", StartDate: "2026-10-01"})},
		{Entity: "enquiry", ID: schema.NewID(), CaseID: caseID, Fields: schema.FieldsOf(enquiry)},
	}); err != nil {
		t.Fatalf("an enquiry with the longest reason is not written: %v", err)
	}
	q := FigureQuery{Measure: MeasureEnquiries, Figure: "police.not_requested", AsOf: "2026-11-23", From: "2026-01-01",
		To: "2026-11-23", WithinDays: 15}
	fs := Figures{q: f.db.r, pg: pg, tallies: map[tallyKey]*familyTally{}, enquiries: map[enquiryKey][]enquiryCase{}}
	got, err := fs.NotRequestedReasons(ctx, f.admin, q)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].CaseID != caseID || got[0].Reason != reason {
		t.Errorf("the snapshot reads %d reasons, want the case's one, whole (%d bytes)", len(got), len(reason))
	}
}
