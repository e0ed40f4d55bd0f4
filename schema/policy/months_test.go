package policy

import (
	"testing"

	"doorstep/schema"
)

func TestMonthsAfter(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		d    schema.Date
		n    int
		want schema.Date
	}{
		{"2026-08-31", 6, "2027-02-28"},  // the case: not 3 March
		{"2027-08-31", 6, "2028-02-29"},  // a leap year's February
		{"2026-01-31", 1, "2026-02-28"},  // the month after is short
		{"2028-01-31", 1, "2028-02-29"},  // ... and in a leap year
		{"2026-03-31", 1, "2026-04-30"},  // a 30-day month
		{"2026-01-30", 1, "2026-02-28"},  // the 30th too
		{"2026-02-28", 1, "2026-03-28"},  // not the month's end: the same day
		{"2028-02-29", 12, "2029-02-28"}, // 29 February, a year on
		{"2028-02-29", 48, "2032-02-29"}, // ... and to the next leap year
		{"2028-02-29", 1, "2028-03-29"},
		{"2026-05-31", -3, "2026-02-28"}, // counting back clamps the same way
		{"2028-05-31", -3, "2028-02-29"},
		{"2026-01-15", -1, "2025-12-15"}, // back across a year
		{"2026-12-31", 2, "2027-02-28"},  // forward across a year
		{"2026-11-15", 14, "2028-01-15"},
		{"2026-06-15", 0, "2026-06-15"},
		{"2026-02-30", 1, ""}, // not a date
		{"", 1, ""},
	} {
		if got := MonthsAfter(c.d, c.n); got != c.want {
			t.Errorf("MonthsAfter(%q, %d) = %q, want %q", c.d, c.n, got, c.want)
		}
	}
}
