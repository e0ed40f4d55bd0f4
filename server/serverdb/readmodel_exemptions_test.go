package serverdb

import (
	"context"
	"fmt"
	"reflect"
	"testing"

	"doorstep/schema"
)

// TestExemptionsReportStatementsOnASnapshot: what the exemptions report
// asks of one snapshot (every figure's groups, the cases of its member
// figures, the exempted requirements with their reasons) is three
// statements (decision 0107): the requirements' family's tally, the
// safety figures' tally, and the exempted requirements. Each answer is
// what a statement of its own gives (figureGroups, figureCases, the
// reasons without a snapshot's tallies). On main the safety figures were
// a statement each for their groups and again for their cases: six.
func TestExemptionsReportStatementsOnASnapshot(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, users := readModelStore(t)
	listed := 0
	for _, asOf := range []schema.Date{"2026-11-23", "2026-07-01"} {
		for _, a := range readModelActors(users) {
			label := fmt.Sprintf("on %s for %s", asOf, a.Role)
			base := FigureQuery{Measure: MeasureExemptions, AsOf: asOf, From: "2026-01-01", To: asOf}
			var statements int
			fs := newFigures(countingQuerier{db.r, &statements}, db.Engine() == "postgres")
			for _, name := range FigureNames(MeasureExemptions) {
				q := base
				q.Figure = name
				want, err := figureGroups(ctx, db.r, a, q)
				if err != nil {
					t.Fatal(err)
				}
				got, err := fs.Groups(ctx, a, q)
				if err != nil || !reflect.DeepEqual(got, want) {
					t.Errorf("%s %s: groups %+v (%v) on the snapshot, %+v a statement of its own", name, label, got, err, want)
				}
			}
			for _, name := range []string{"due", "safety_not_approved", "safety_exempted"} {
				q := base
				q.Figure = name
				want, err := figureCases(ctx, db.r, a, q, "", 1<<30)
				if err != nil {
					t.Fatal(err)
				}
				listed += len(want)
				got, err := fs.Cases(ctx, a, q, "", 1<<30)
				if err != nil || !reflect.DeepEqual(got, want) {
					t.Errorf("%s %s: cases %v (%v) on the snapshot, %v a statement of its own", name, label, got, err, want)
				}
			}
			want, err := Figures{q: db.r}.ExemptedRequirements(ctx, a, base)
			if err != nil {
				t.Fatal(err)
			}
			got, err := fs.ExemptedRequirements(ctx, a, base)
			if err != nil || !reflect.DeepEqual(got, want) {
				t.Errorf("exempted requirements %s: %+v (%v) on the snapshot, %+v without", label, got, err, want)
			}
			if statements != 3 {
				t.Errorf("the exemptions report %s: %d statements on the snapshot, want 3", label, statements)
			}
		}
	}
	if listed == 0 {
		t.Fatal("no figure listed a case: the test tests nothing")
	}
}
