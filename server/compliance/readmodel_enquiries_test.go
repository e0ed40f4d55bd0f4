package compliance

import (
	"testing"

	"doorstep/server/serverdb"
)

// TestEnquiryCountNamesEveryFigure: enquiryCount, the switch the report
// adds measure 4's sums by (decision 0106), gives each of the read
// model's figures of measure 4 a field of its own, and none to a name
// that is not one: a figure missing from the switch, or two names on one
// field, would count into the wrong place or panic at a report.
func TestEnquiryCountNamesEveryFigure(t *testing.T) {
	var f EnquiryFigures
	seen := map[*IDs]string{}
	for _, name := range serverdb.FigureNames(serverdb.MeasureEnquiries) {
		p := enquiryCount(&f, name)
		if p == nil {
			t.Errorf("figure %s has no field", name)
			continue
		}
		if other, ok := seen[p]; ok {
			t.Errorf("figures %s and %s count into one field", other, name)
		}
		seen[p] = name
	}
	if n := len(seen); n != 21 {
		t.Errorf("%d figures of measure 4 have a field; want 21 (cases, 7 an agency, 3 an agency's inspection)", n)
	}
	for _, name := range []string{"police", "police.late", "marac.needed", "inspection.police", "inspection.police.needed", ""} {
		if enquiryCount(&f, name) != nil {
			t.Errorf("%q, not a figure, has a field", name)
		}
	}
}
