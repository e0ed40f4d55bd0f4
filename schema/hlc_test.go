package schema_test

import (
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"doorstep/schema"
)

func TestHLCCompare(t *testing.T) {
	t.Parallel()
	tests := []struct {
		a, b schema.HLC
		want int
	}{
		{schema.HLC{Wall: 1, Node: "a"}, schema.HLC{Wall: 2, Node: "a"}, -1},
		{schema.HLC{Wall: 2, Node: "a"}, schema.HLC{Wall: 1, Logical: 9, Node: "z"}, 1},
		{schema.HLC{Wall: 5, Logical: 1, Node: "z"}, schema.HLC{Wall: 5, Logical: 2, Node: "a"}, -1},
		{schema.HLC{Wall: 5, Logical: 2, Node: "a"}, schema.HLC{Wall: 5, Logical: 2, Node: "b"}, -1},
		{schema.HLC{Wall: 5, Logical: 2, Node: "b"}, schema.HLC{Wall: 5, Logical: 2, Node: "b"}, 0},
		{schema.HLC{}, schema.HLC{Wall: 1, Node: "a"}, -1},
	}
	for _, tt := range tests {
		if got := tt.a.Compare(tt.b); got != tt.want {
			t.Errorf("%v.Compare(%v): expected %d, got %d", tt.a, tt.b, tt.want, got)
		}
		if got := tt.b.Compare(tt.a); got != -tt.want {
			t.Errorf("%v.Compare(%v): expected %d, got %d", tt.b, tt.a, -tt.want, got)
		}
	}
}

// fakeWall is a wall clock the test moves by hand.
type fakeWall struct{ t time.Time }

func (f *fakeWall) now() time.Time { return f.t }

func TestClockMonotonicWhenWallGoesBack(t *testing.T) {
	t.Parallel()
	w := &fakeWall{t: time.UnixMilli(1_763_892_000_000)}
	c := schema.NewClock("dev-1", w.now)
	if c.Node() != "dev-1" {
		t.Fatalf("Node: expected dev-1, got %q", c.Node())
	}
	prev := c.Now()
	if prev.Wall != w.t.UnixMilli() || prev.Logical != 0 || prev.Node != "dev-1" {
		t.Fatalf("first stamp: expected wall %d, logical 0, node dev-1; got %+v", w.t.UnixMilli(), prev)
	}
	steps := []time.Duration{0, time.Millisecond, -time.Hour, 0, -time.Millisecond, 2 * time.Hour, -24 * time.Hour, time.Millisecond}
	for i, d := range steps {
		w.t = w.t.Add(d)
		next := c.Now()
		if next.Compare(prev) <= 0 {
			t.Fatalf("step %d (wall %+v): expected a stamp after %v, got %v", i, d, prev, next)
		}
		if next.String() <= prev.String() {
			t.Fatalf("step %d: expected text %q after %q", i, next, prev)
		}
		prev = next
	}
	// After the wall clock went back an hour the stamps keep the old wall
	// time and count up, rather than jumping back.
	w.t = w.t.Add(-time.Hour)
	s := c.Now()
	if s.Wall != prev.Wall || s.Logical != prev.Logical+1 {
		t.Errorf("wall behind: expected wall %d logical %d, got %+v", prev.Wall, prev.Logical+1, s)
	}
}

func TestClockLogicalOverflow(t *testing.T) {
	t.Parallel()
	w := &fakeWall{t: time.UnixMilli(1_000)}
	c := schema.NewClock("n", w.now)
	prev := c.Now()
	for i := 0; i < 0xffff; i++ {
		next := c.Now()
		if next.Compare(prev) <= 0 {
			t.Fatalf("stamp %d: expected after %v, got %v", i, prev, next)
		}
		prev = next
	}
	if prev.Wall != 1_000 || prev.Logical != 0xffff {
		t.Fatalf("expected the counter to reach ffff at wall 1000, got %+v", prev)
	}
	next := c.Now()
	if next.Wall != 1_001 || next.Logical != 0 {
		t.Errorf("on overflow: expected wall 1001 logical 0, got %+v", next)
	}
	if next.Compare(prev) <= 0 || next.String() <= prev.String() {
		t.Errorf("on overflow: expected %v after %v", next, prev)
	}
}

func TestClockObserve(t *testing.T) {
	t.Parallel()
	w := &fakeWall{t: time.UnixMilli(1_763_892_000_000)}
	c := schema.NewClock("server", w.now)
	local := c.Now()

	// A remote stamp an hour ahead is followed: our next stamp orders after it.
	remote := schema.HLC{Wall: local.Wall + int64(time.Hour/time.Millisecond), Logical: 7, Node: "dev-9"}
	if !c.Observe(remote) {
		t.Fatalf("Observe(%v): expected followed (an hour ahead), got refused", remote)
	}
	if s := c.Now(); s.Compare(remote) <= 0 || s.Node != "server" {
		t.Errorf("after Observe: expected a server stamp after %v, got %v", remote, s)
	}

	// An older remote stamp changes nothing.
	before := c.Now()
	if !c.Observe(schema.HLC{Wall: 1, Node: "old"}) {
		t.Errorf("Observe(old stamp): expected true (followed, harmlessly), got false")
	}
	if s := c.Now(); s.Wall != before.Wall || s.Logical != before.Logical+1 {
		t.Errorf("after an old stamp: expected wall %d logical %d, got %+v", before.Wall, before.Logical+1, s)
	}

	// A stamp more than 24 hours ahead of our wall clock is not followed.
	c2 := schema.NewClock("server", w.now)
	far := schema.HLC{Wall: w.t.Add(24*time.Hour + time.Millisecond).UnixMilli(), Node: "fast-tablet"}
	if c2.Observe(far) {
		t.Errorf("Observe(%v): expected refused (over 24h ahead), got followed", far)
	}
	if s := c2.Now(); s.Compare(far) >= 0 || s.Wall != w.t.UnixMilli() {
		t.Errorf("after a refused stamp: expected our own wall time %d, got %v", w.t.UnixMilli(), s)
	}
	// Exactly 24 hours ahead is still followed.
	edge := schema.HLC{Wall: w.t.Add(24 * time.Hour).UnixMilli(), Node: "tablet"}
	if !c2.Observe(edge) {
		t.Errorf("Observe(%v): expected followed (exactly 24h ahead), got refused", edge)
	}
	if s := c2.Now(); s.Compare(edge) <= 0 {
		t.Errorf("after the 24h stamp: expected after %v, got %v", edge, s)
	}
}

func TestHLCTextSortsLikeCompare(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(1, 2))
	nodes := []string{"a", "b", "server", "019a4f2d-dev", "019a4f2d-dew", "z-z"}
	gen := func() schema.HLC {
		return schema.HLC{
			Wall:    1_700_000_000_000 + r.Int64N(5), // few values, so ties happen
			Logical: uint16(r.IntN(3)) * 0x7fff,
			Node:    nodes[r.IntN(len(nodes))],
		}
	}
	for i := 0; i < 5000; i++ {
		a, b := gen(), gen()
		if i%7 == 0 {
			a.Wall = r.Int64N(1e15) // also far apart, and digits of other lengths
		}
		if got, want := strings.Compare(a.String(), b.String()), a.Compare(b); got != want {
			t.Fatalf("%q vs %q: expected text order %d (as Compare), got %d", a, b, want, got)
		}
	}
}

func TestHLCTextForm(t *testing.T) {
	t.Parallel()
	h := schema.HLC{Wall: 1_763_892_000_000, Logical: 0x1a, Node: "019a4f2d-dev"}
	const want = "0001763892000000-001a-019a4f2d-dev"
	if h.String() != want {
		t.Fatalf("String: expected %q, got %q", want, h.String())
	}
	got, err := schema.ParseHLC(want)
	if err != nil || got != h {
		t.Fatalf("ParseHLC(%q): expected %+v, got %+v, %v", want, h, got, err)
	}
	if !h.Time().Equal(time.UnixMilli(h.Wall)) || h.Time().Location() != time.UTC {
		t.Errorf("Time: expected %v UTC, got %v", time.UnixMilli(h.Wall).UTC(), h.Time())
	}
	// The zero stamp is the empty string, both ways, and JSON carries the text.
	if z, err := schema.ParseHLC(""); err != nil || !z.IsZero() || z.String() != "" {
		t.Errorf(`ParseHLC(""): expected the zero stamp, got %+v, %v`, z, err)
	}
	b, err := json.Marshal(struct{ C schema.HLC }{h})
	if err != nil || string(b) != `{"C":"`+want+`"}` {
		t.Fatalf("json.Marshal: expected the text form, got %s, %v", b, err)
	}
	var back struct{ C schema.HLC }
	if err := json.Unmarshal(b, &back); err != nil || back.C != h {
		t.Errorf("json.Unmarshal: expected %+v, got %+v, %v", h, back.C, err)
	}
	if err := json.Unmarshal([]byte(`{"C":"nonsense"}`), &back); schema.ErrorCode(err) != schema.ECodeInvalid {
		t.Errorf("json.Unmarshal(nonsense): expected an invalid error, got %v", err)
	}
}

func TestParseHLCErrors(t *testing.T) {
	t.Parallel()
	for _, s := range []string{
		"x",
		"0001763892000000",
		"0001763892000000-0000",
		"0001763892000000-0000-",          // no node
		"1763892000000-0000-n",            // wall too short
		"00001763892000000-0000-n",        // wall too long
		"0001763892000000-000-n",          // counter too short
		"0001763892000000-00000-n",        // counter too long
		"000176389200000x-0000-n",         // wall not decimal
		"0001763892000000-zzzz-n",         // counter not hex
		"-001763892000000-0000-n",         // negative
		"+001763892000000-0000-n",         // a sign: parses as a number but does not sort
		"0001763892000000-00AB-n",         // upper-case hex: would not sort with lower case
		" 0001763892000000-0000-n",        // space
		"0001763892000000-+0ab-n",         // a sign in the counter
		"0001763892000000--000-n",         // a sign in the counter
		"0001763892000000-0x0a-n",         // a prefix in the counter
		"00017638920_0000-0000-n",         // underscores
		"0001763892000000 -0000-n-server", // space
	} {
		h, err := schema.ParseHLC(s)
		if err == nil {
			t.Errorf("ParseHLC(%q): expected an error, got %+v", s, h)
			continue
		}
		if code := schema.ErrorCode(err); code != schema.ECodeInvalid {
			t.Errorf("ParseHLC(%q): expected code invalid, got %s (%v)", s, code, err)
		}
	}
}

// FuzzParseHLC: whatever parses prints back as the same text (so stored
// text compares as the clock does) and parses again to the same stamp.
func FuzzParseHLC(f *testing.F) {
	for _, s := range []string{"", "0001763892000000-001a-019a4f2d-dev", "0000000000000000-0000-x", "9999999999999999-ffff-a-b-c", "+001763892000000-0000-n", "0001763892000000-00AB-n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		h, err := schema.ParseHLC(s)
		if err != nil {
			return
		}
		if h.String() != s {
			t.Fatalf("ParseHLC(%q) = %+v, which prints as %q: expected the same text", s, h, h.String())
		}
		again, err := schema.ParseHLC(h.String())
		if err != nil || again != h {
			t.Fatalf("round trip of %q: expected %+v, got %+v, %v", s, h, again, err)
		}
	})
}
