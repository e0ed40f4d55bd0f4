package schema

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
)

// HLC is a hybrid logical clock timestamp: physical milliseconds, a logical
// counter for events within the same millisecond (or when the wall clock went
// backwards), and the node (device or server id) that made it, which breaks
// ties so that two nodes never produce equal stamps.
//
// Its text form, "0001732370000000-0000-node", sorts as the clock does, so
// stores may compare stamps as strings. That form is what travels on the wire.
type HLC struct {
	Wall    int64  // milliseconds since the Unix epoch
	Logical uint16 // counter within Wall
	Node    string // who stamped it; may contain '-': parsing splits at the first two
}

// hlcWallDigits keeps the text form sortable until the year 5138.
const hlcWallDigits = 16

// String returns the sortable text form.
func (h HLC) String() string {
	if h.IsZero() {
		return ""
	}
	if h.Wall < 0 || h.Wall >= hlcWallLimit {
		return fmt.Sprintf("%0*d-%04x-%s", hlcWallDigits, h.Wall, h.Logical, h.Node)
	}
	// The bytes Sprintf prints, in one allocation rather than five: a
	// push formats every mutation's stamp (decision 0128).
	var buf [64]byte
	return string(h.appendText(buf[:0]))
}

// hlcWallLimit: a wall time below it prints in hlcWallDigits digits.
const hlcWallLimit = 1e16

// appendText appends the text form of h, whose Wall is in [0,
// hlcWallLimit).
func (h HLC) appendText(b []byte) []byte {
	var t [hlcWallDigits + 6]byte
	w := h.Wall
	for i := hlcWallDigits - 1; i >= 0; i-- {
		t[i] = byte('0' + w%10)
		w /= 10
	}
	t[hlcWallDigits] = '-'
	const hex = "0123456789abcdef"
	for i, l := 0, h.Logical; i < 4; i, l = i+1, l>>4 {
		t[hlcWallDigits+4-i] = hex[l&0xf]
	}
	t[hlcWallDigits+5] = '-'
	return append(append(b, t[:]...), h.Node...)
}

// IsZero reports whether h is the zero stamp (older than every real one).
func (h HLC) IsZero() bool { return h.Wall == 0 && h.Logical == 0 && h.Node == "" }

// Compare returns -1, 0 or +1 as h is before, equal to or after o.
func (h HLC) Compare(o HLC) int {
	switch {
	case h.Wall != o.Wall:
		return cmpInt(h.Wall, o.Wall)
	case h.Logical != o.Logical:
		return cmpInt(int64(h.Logical), int64(o.Logical))
	default:
		return strings.Compare(h.Node, o.Node)
	}
}

func cmpInt(a, b int64) int {
	if a < b {
		return -1
	}
	if a > b {
		return 1
	}
	return 0
}

// Time returns the physical part as a time.
func (h HLC) Time() time.Time { return time.UnixMilli(h.Wall).UTC() }

// ParseHLC parses the text form. The empty string is the zero stamp.
func ParseHLC(s string) (HLC, error) {
	if s == "" {
		return HLC{}, nil
	}
	if h, ok := parseCanonicalHLC(s); ok {
		return h, nil
	}
	parts := strings.SplitN(s, "-", 3)
	if len(parts) != 3 || len(parts[0]) != hlcWallDigits || len(parts[1]) != 4 || parts[2] == "" {
		return HLC{}, Errorf(ECodeInvalid, "", "clock %q is not of the form WALL-LOGICAL-NODE", s)
	}
	wall, err := strconv.ParseInt(parts[0], 10, 64)
	if err != nil || wall < 0 {
		return HLC{}, Errorf(ECodeInvalid, "", "clock %q has a bad wall time", s)
	}
	logical, err := strconv.ParseUint(parts[1], 16, 16)
	if err != nil {
		return HLC{}, Errorf(ECodeInvalid, "", "clock %q has a bad counter", s)
	}
	h := HLC{Wall: wall, Logical: uint16(logical), Node: parts[2]}
	// strconv accepts a sign and upper-case hex; such text would not sort
	// as the clock does, so only the form String prints is a stamp.
	if h.String() != s {
		return HLC{}, Errorf(ECodeInvalid, "", "clock %q is not in canonical form (want %q)", s, h.String())
	}
	return h, nil
}

// parseCanonicalHLC parses the one form ParseHLC accepts, String's: 16
// decimal digits, '-', 4 lower-case hex digits, '-', a node of at least
// one byte. It reports false for anything else, which ParseHLC then
// refuses with its reason. Without the split, the parse of each part and
// the stamp printed again to compare, a mutation's stamp decodes in no
// allocation beyond the text's (decision 0128).
func parseCanonicalHLC(s string) (HLC, bool) {
	if len(s) < hlcWallDigits+7 || s[hlcWallDigits] != '-' || s[hlcWallDigits+5] != '-' {
		return HLC{}, false
	}
	var wall int64
	for i := range hlcWallDigits {
		c := s[i]
		if c < '0' || c > '9' {
			return HLC{}, false
		}
		wall = wall*10 + int64(c-'0')
	}
	var logical uint16
	for _, c := range []byte(s[hlcWallDigits+1 : hlcWallDigits+5]) {
		switch {
		case c >= '0' && c <= '9':
			logical = logical<<4 | uint16(c-'0')
		case c >= 'a' && c <= 'f':
			logical = logical<<4 | uint16(c-'a'+10)
		default:
			return HLC{}, false
		}
	}
	return HLC{Wall: wall, Logical: logical, Node: s[hlcWallDigits+6:]}, true
}

// MarshalText implements encoding.TextMarshaler.
func (h HLC) MarshalText() ([]byte, error) { return []byte(h.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (h *HLC) UnmarshalText(b []byte) error {
	v, err := ParseHLC(string(b))
	if err != nil {
		return err
	}
	*h = v
	return nil
}

// MaxClockAhead is how far ahead of the server's wall clock a device's
// stamp may be (docs/sync-protocol.md §3). The server applies a mutation
// stamped later than that with a stamp of its own, issued when it applies
// it, and never lets its clock follow the device's: one tablet whose clock
// runs fast (or a forged stamp of 2099) cannot make a field immune to every
// later correction. Five minutes is far more than a tablet whose clock is
// corrected by the measured skew is ever off, and less than anyone waits
// to correct a value.
const MaxClockAhead = 5 * time.Minute

// AheadOf reports whether h is more than d ahead of the wall time now.
func (h HLC) AheadOf(now time.Time, d time.Duration) bool {
	return h.Wall > now.Add(d).UnixMilli()
}

// maxClockDrift bounds how far into the future a remote stamp may pull our
// clock. A device whose clock is a year ahead must not make every later edit
// on the server look older than its own.
const maxClockDrift = 24 * time.Hour

// Clock issues HLC stamps for one node. It is safe for concurrent use.
type Clock struct {
	mu   sync.Mutex
	node string
	now  func() time.Time
	last HLC
}

// NewClock returns a clock for node reading physical time from now
// (time.Now when nil).
func NewClock(node string, now func() time.Time) *Clock {
	if now == nil {
		now = time.Now
	}
	return &Clock{node: node, now: now}
}

// Node returns the node id stamps carry.
func (c *Clock) Node() string { return c.node }

// Now returns a stamp after every stamp this clock has issued or observed.
func (c *Clock) Now() HLC {
	c.mu.Lock()
	defer c.mu.Unlock()
	wall := c.now().UnixMilli()
	next := HLC{Wall: wall, Node: c.node}
	if wall <= c.last.Wall {
		next.Wall = c.last.Wall
		if c.last.Logical == 0xffff {
			next.Wall++
		} else {
			next.Logical = c.last.Logical + 1
		}
	}
	c.last = next
	return next
}

// Observe moves the clock past a stamp received from another node, so that
// the next local stamp orders after it. Stamps more than a day ahead of the
// local wall clock are not followed (see maxClockDrift); it reports whether h
// was followed.
func (c *Clock) Observe(h HLC) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if h.Wall > c.now().Add(maxClockDrift).UnixMilli() {
		return false
	}
	if h.Wall > c.last.Wall || (h.Wall == c.last.Wall && h.Logical > c.last.Logical) {
		c.last = HLC{Wall: h.Wall, Logical: h.Logical, Node: c.node}
	}
	return true
}
