package sqlitedb

import "time"

// SortableTime is a layout for times stored as text: fixed width (always
// three fraction digits) and in UTC, so that stored times order as text in
// the order of their instants, and RFC 3339, so the text is copied straight
// into JSON as a time. The server stores times in it.
//
// The tablet stores time.RFC3339Nano instead, whose width varies with the
// fraction (trailing zeros dropped), so its texts do not order as instants;
// it never compares them as text. docs/decisions/0015-one-sqlite-opener.md
// says why the two layouts stay.
const SortableTime = "2006-01-02T15:04:05.000Z07:00"

// FormatTime returns t in UTC as text in layout, and "" for the zero time.
func FormatTime(t time.Time, layout string) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(layout)
}

// ParseTime reads a time stored as RFC 3339 text, with or without a
// fraction (so either layout), in the offset it was written with. It
// returns the zero time for "" and for text that is not a time.
func ParseTime(s string) time.Time {
	if s == "" {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}
	}
	return t
}
