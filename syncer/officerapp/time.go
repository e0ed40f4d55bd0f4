package officerapp

// How the app shows times and dates to the officer, in one place, so every
// screen says them the same way: in the tablet's local time zone, in words
// a person reads ("23 Nov 2026 at 22:05", "14:02" for today, dates as
// "23 Nov 2026"), never a stored timestamp.

import (
	"time"

	"doorstep/schema"
)

const (
	layoutDate    = "2 Jan 2006"
	layoutDayDate = "Mon 2 Jan 2006"
	layoutClock   = "15:04"
)

// atText is "23 Nov 2026 at 22:05" in the tablet's time zone.
func atText(t time.Time) string {
	t = t.Local()
	return t.Format(layoutDate) + " at " + t.Format(layoutClock)
}

// dayAtText is "Mon 23 Nov 2026 at 22:05", for visits planned or made.
func dayAtText(t time.Time) string {
	t = t.Local()
	return t.Format(layoutDayDate) + " at " + t.Format(layoutClock)
}

// clockText is "14:02" when t is today (in the tablet's time zone), else
// "20 Nov 2026 at 14:02".
func clockText(t, now time.Time) string {
	t, now = t.Local(), now.Local()
	if t.Year() == now.Year() && t.YearDay() == now.YearDay() {
		return t.Format(layoutClock)
	}
	return atText(t)
}

// timeText shows a stored RFC 3339 time as clockText does; "" stays "",
// and anything that is not a time is shown as it is.
func timeText(s string, now time.Time) string {
	if s == "" {
		return ""
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil || t.IsZero() {
		return s
	}
	return clockText(t, now)
}

// stampText shows a stored RFC 3339 time as atText does (always with its
// date: for a record's own times, read later).
func stampText(s string) string {
	if s == "" {
		return ""
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil || t.IsZero() {
		return s
	}
	return atText(t)
}

// whenText is when a visit happened or is planned, from visitTime.
func whenText(rfc string, now time.Time) string {
	t, err := time.Parse(time.RFC3339, rfc)
	if err != nil || t.IsZero() || t.Year() < 2000 {
		return "not dated"
	}
	return dayAtText(t)
}

// dateText is "23 Nov 2026".
func dateText(d schema.Date) string {
	if d == "" {
		return ""
	}
	t := d.Time()
	if t.IsZero() {
		return string(d)
	}
	return t.Format(layoutDate)
}
