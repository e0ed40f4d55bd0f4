package serverdb

import (
	"context"
	"fmt"
	"reflect"
	"testing"

	"doorstep/schema"
)

// TestFamilyCasesOnASnapshot: on a snapshot (newFigures), a family's
// figures' groups and cases come from one tally of the family (decision
// 0071), and each is what a statement of its own answers (figureGroups,
// figureCases), page by page too, for an admin, a supervisor and an
// officer, on as_of days either side of a quarter's end; and the family's
// statement runs once for all of it.
func TestFamilyCasesOnASnapshot(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, users := readModelStore(t)
	actors := readModelActors(users)
	seen := 0
	for _, asOf := range []schema.Date{"2026-11-23", "2026-09-30", "2026-10-01"} {
		for measure, families := range figureFamilies {
			for _, fam := range families {
				for _, a := range actors {
					var statements int
					fs := newFigures(countingQuerier{db.r, &statements}, db.Engine() == "postgres")
					for _, name := range fam.figures {
						q := FigureQuery{Measure: measure, Figure: name, AsOf: asOf, From: "2026-07-01", To: asOf}
						label := fmt.Sprintf("%s.%s on %s for %s", measure, name, asOf, a.Role)
						wantGroups, err := figureGroups(ctx, db.r, a, q)
						if err != nil {
							t.Fatal(err)
						}
						gotGroups, err := fs.Groups(ctx, a, q)
						if err != nil || !reflect.DeepEqual(gotGroups, wantGroups) {
							t.Errorf("%s: groups %+v (%v) on the snapshot, %+v a statement of its own", label, gotGroups, err, wantGroups)
						}
						want, err := figureCases(ctx, db.r, a, q, "", 1<<30)
						if err != nil {
							t.Fatal(err)
						}
						seen += len(want)
						got, err := fs.Cases(ctx, a, q, "", 1<<30)
						if err != nil || !reflect.DeepEqual(got, want) {
							t.Errorf("%s: cases %v (%v) on the snapshot, %v a statement of its own", label, got, err, want)
						}
						// Pages: after a listed case, after an id between two, at most a few.
						afters := []string{"", "zzz"}
						if len(want) > 2 {
							afters = append(afters, want[1], want[1]+"0")
						}
						for _, after := range afters {
							for _, limit := range []int{0, 1, 3} {
								want, err := figureCases(ctx, db.r, a, q, after, limit)
								if err != nil {
									t.Fatal(err)
								}
								got, err := fs.Cases(ctx, a, q, after, limit)
								if err != nil || !reflect.DeepEqual(got, want) {
									t.Errorf("%s after %q, %d: %v (%v) on the snapshot, %v a statement of its own", label, after, limit, got, err, want)
								}
							}
						}
					}
					if statements != 1 {
						t.Errorf("%s's family %s on %s for %s: %d statements on the snapshot, want 1", measure, fam.name, asOf, a.Role, statements)
					}
				}
			}
		}
	}
	if seen == 0 {
		t.Fatal("no family listed a case: the test tests nothing")
	}
}
