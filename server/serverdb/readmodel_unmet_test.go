package serverdb

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"doorstep/schema"
)

// TestUnmetRequirementsInTwoBranches: measure 2's overdue requirements and
// measure 8's requirements due or overdue, read as two branches (never
// met, met after as_of: unmetRows, decision 0124), are the rows the one
// condition met_day IS NULL OR met_day > as_of selected, for every actor
// and on days when requirements due before them were met after them (the
// second branch's rows), on the synthetic service.
func TestUnmetRequirementsInTwoBranches(t *testing.T) {
	t.Parallel()
	db, users := readModelStore(t)
	metAfter := 0
	for _, asOf := range []schema.Date{"2026-11-23", "2026-09-30", "2026-07-01", "2026-03-15"} {
		d, _ := dayNumber(asOf)
		exempt := `NOT r.case_id IN (SELECT s.case_id FROM rm_exempt s WHERE s.from_day <= ? AND ? < s.to_day)`
		one := `r.triggered_day <= ? AND (r.met_day IS NULL OR r.met_day > ?) AND ` + exempt
		for _, a := range readModelActors(users) {
			scope, scopeArgs, err := scopeFilter(a, "r.case_id")
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range []struct {
				figure FigureQuery
				old    string
				args   []any
			}{
				{FigureQuery{Measure: MeasureOverdue, Figure: "cases", AsOf: asOf},
					`SELECT r.case_id, r.team_id, r.officer_id, ? - r.due_day AS x, 0 AS wk FROM requirements r
					WHERE r.closed = 0 AND r.due_day < ? AND ` + one + ` AND ` + scope,
					append([]any{d, d, d, d, string(asOf), string(asOf)}, scopeArgs...)},
				{FigureQuery{Measure: MeasureWorkload, Figure: "due_cases", AsOf: asOf},
					`SELECT b.case_id, b.team_id, b.officer_id, 0 AS x, b.wk FROM (SELECT r.case_id, r.team_id, r.officer_id,
						(r.due_day - ?) / 7 + 1 AS wk, r.due_day FROM requirements r JOIN rm_cases c ON c.case_id = r.case_id
					WHERE c.closed = 0 AND c.supervision_start <> '' AND c.supervision_start <= ? AND r.due_day <= ? AND ` + one +
						` AND ` + scope + `) b WHERE b.due_day >= ?`,
					append(append([]any{d, string(asOf), d + 7*WorkloadWeeks - 1, d, d, string(asOf), string(asOf)}, scopeArgs...), d)},
			} {
				label := fmt.Sprintf("%s.%s on %s for %s", c.figure.Measure, c.figure.Figure, asOf, a.Role)
				q, err := figureRows(a, c.figure)
				if err != nil {
					t.Fatal(err)
				}
				if !strings.Contains(q.b.String(), "UNION ALL") {
					t.Fatalf("%s: the rows are not read in two branches:\n%s", label, q.b.String())
				}
				got := sortedRows(t, db, q.b.String(), q.args...)
				want := sortedRows(t, db, c.old, c.args...)
				if len(want) == 0 && asOf == "2026-11-23" {
					t.Errorf("%s: no rows: the comparison tests nothing", label)
				}
				if !slices.Equal(got, want) {
					t.Errorf("%s: %d rows in two branches, %d of the one condition\n got %v\nwant %v", label, len(got), len(want), got, want)
				}
			}
		}
		n := rmRow(t, db, `SELECT count(*) FROM requirements WHERE due_day < ? AND met_day > ?`, d, d)
		var k int
		fmt.Sscan(n[0], &k)
		metAfter += k
	}
	if metAfter == 0 {
		t.Error("no requirement due before a day was met after it: the second branch was not tested")
	}
}

// sortedRows is q's rows (rmRow), sorted.
func sortedRows(t *testing.T, db *DB, q string, args ...any) []string {
	t.Helper()
	out := rmRow(t, db, q, args...)
	slices.Sort(out)
	return out
}
