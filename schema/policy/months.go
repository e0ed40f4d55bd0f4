package policy

import (
	"time"

	"doorstep/schema"
)

// MonthsAfter returns the day n months after d, as docs/visit-policy.md
// defines it ("Months"): the same day of the month n months later, or that
// month's last day when it is too short to hold it (31 August plus 6 months
// is 28 February, or 29 in a leap year), never a day of the month after.
// A negative n counts back the same way. It returns "" when d is not a
// date. Every "N months after" of the measures comes from here, so none
// overflows into the next month as time.AddDate does.
func MonthsAfter(d schema.Date, n int) schema.Date {
	if len(d) != len(time.DateOnly) {
		return ""
	}
	t, err := time.Parse(time.DateOnly, string(d))
	if err != nil {
		return ""
	}
	m := int(t.Month()) - 1 + n
	y := t.Year() + m/12
	if m %= 12; m < 0 {
		m += 12
		y--
	}
	month := time.Month(m + 1)
	last := time.Date(y, month+1, 0, 0, 0, 0, 0, time.UTC).Day() // day 0 of the next month
	return schema.DateOf(time.Date(y, month, min(t.Day(), last), 0, 0, 0, 0, time.UTC))
}

// RoSHReviewMonths is how often a case's RoSH assessment is due for
// review: the nDelius reference data suggests 6 months for the RoSH
// registers (field-anchors 2.2). A default, like the visit rules'
// intervals.
const RoSHReviewMonths = 6

// RoSHReviewDue is the day a RoSH assessment dated d is due for review,
// RoSHReviewMonths after it; "" when d is not a date.
func RoSHReviewDue(d schema.Date) schema.Date {
	if d == "" {
		return ""
	}
	return MonthsAfter(d, RoSHReviewMonths)
}
