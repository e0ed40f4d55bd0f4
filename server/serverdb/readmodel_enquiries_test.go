package serverdb

import (
	"context"
	"database/sql"
	"fmt"
	"reflect"
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
// snapshot (its agencies' counts, answered days and not-requested
// reasons, and the previous period's headline) on fs, and returns the
// answers as one comparable value.
func enquiriesOnSnapshot(ctx context.Context, t *testing.T, fs Figures, a Actor, base FigureQuery) []any {
	t.Helper()
	var out []any
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
	return append(out, sums)
}

// TestEnquiriesReadOnceAnAgency: on a snapshot, measure 4's counts, days
// and reasons of an agency come from one statement over its cases, and
// the previous period's headline from one more (decision 0067), where
// each was a statement over every case of the period; the answers are the
// statements' own, for every actor.
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
		if n := len(want[1].([]EnquiryDay)) + len(want[2].([]NotRequested)); a.Role == schema.RoleAdmin && n == 0 {
			t.Errorf("%s: no days nor reasons of the police: the store tests nothing", label)
		}
		if perFigure != 7 || once != 3 {
			t.Errorf("%s: %d statements a figure, %d on a snapshot; want 7 and 3 (an agency each, and the previous period)", label, perFigure, once)
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
