package policy

import (
	"math/rand/v2"
	"testing"
	"time"

	"doorstep/schema"
)

// TestStampsAgreeWithTime checks the hand-written date and time readers of
// requirement.go against the time package: the same day and instant for
// every text time.Parse reads, and nothing for a text it refuses.
func TestStampsAgreeWithTime(t *testing.T) {
	t.Parallel()
	stamps := []string{
		"2026-11-23T10:00:00Z", "2026-11-23T10:00:00+01:00", "2026-11-23T00:30:00+01:00", "2026-11-23T23:30:00-05:30",
		"2026-12-04T14:02:59.123456789Z", "2026-12-04T14:02:59.1Z", "2024-02-29T12:00:00Z", "2000-01-01T00:00:00Z",
		"1970-01-01T00:00:00Z", "1969-12-31T23:59:59Z", "0999-01-01T00:00:00Z", "9999-12-31T23:59:59Z",
		// refused, or read only by the time package
		"2023-02-29T12:00:00Z", "2026-13-01T00:00:00Z", "2026-11-31T00:00:00Z", "2026-11-23T24:00:00Z",
		"2026-11-23T10:60:00Z", "2026-11-23T10:00:60Z", "2026-11-23T10:00:00", "2026-11-23 10:00:00Z",
		"2026-11-23T10:00:00.Z", "2026-11-23T10:00:00.1234567891Z", "2026-11-23T10:00:00+24:00", "2026-11-23T10:00:00+01:60",
		"2026-11-23T10:00:00+0100", "2026-11-23T10:00:00z", "2026-11-23T10:00:00,5Z", "2026-1a-23T10:00:00Z", "", "not a time",
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		at := time.Unix(r.Int64N(300*365*86400)-100*365*86400, r.Int64N(1e9)).In(time.FixedZone("", (r.IntN(48)-24)*1800))
		stamps = append(stamps, at.Format(time.RFC3339Nano), at.Format(time.RFC3339))
	}
	for _, s := range stamps {
		day, at, ok := parseStamp(s)
		want, err := time.Parse(time.RFC3339Nano, s)
		if ok != (err == nil) {
			t.Errorf("parseStamp(%q): ok %v, time.Parse: %v", s, ok, err)
			continue
		}
		if !ok {
			continue
		}
		y, m, d := want.Date()
		if wantDay := int(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400); day != wantDay || at != want.UnixNano() {
			t.Errorf("parseStamp(%q) = day %d, %d ns; want day %d, %d ns", s, day, at, wantDay, want.UnixNano())
		}
		if got, wantDate := dateOf(day), schema.Date(want.Format(time.DateOnly)); got != wantDate {
			t.Errorf("dateOf(%d) = %s, want %s", day, got, wantDate)
		}
		if got, ok := dayOf(schema.Date(want.Format(time.DateOnly))); !ok || got != day {
			t.Errorf("dayOf(%s) = %d %v, want %d", want.Format(time.DateOnly), got, ok, day)
		}
	}
	for _, d := range []schema.Date{"2026-02-29", "2026-00-10", "2026-04-31", "20261123", "2026-11-2x"} {
		_, err := time.Parse(time.DateOnly, string(d))
		if _, ok := dayOf(d); ok != (err == nil) {
			t.Errorf("dayOf(%s): ok %v, time.Parse: %v", d, ok, err)
		}
	}
}
