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
