package schema

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
)

// oldParseHLC is ParseHLC as it was before decision 0128: the split, the
// parse of each part, and the stamp printed again with fmt to compare.
func oldParseHLC(s string) (HLC, bool) {
	if s == "" {
		return HLC{}, true
	}
	parts := strings.SplitN(s, "-", 3)
	if len(parts) != 3 || len(parts[0]) != hlcWallDigits || len(parts[1]) != 4 || parts[2] == "" {
		return HLC{}, false
	}
	wall, err := strconv.ParseInt(parts[0], 10, 64)
	if err != nil || wall < 0 {
		return HLC{}, false
	}
	logical, err := strconv.ParseUint(parts[1], 16, 16)
	if err != nil {
		return HLC{}, false
	}
	h := HLC{Wall: wall, Logical: uint16(logical), Node: parts[2]}
	return h, fmt.Sprintf("%0*d-%04x-%s", hlcWallDigits, h.Wall, h.Logical, h.Node) == s
}

// TestHLCTextIsFmts holds String and ParseHLC to the fmt forms they had:
// the same text for every stamp, the same stamps accepted and refused.
func TestHLCTextIsFmts(t *testing.T) {
	rnd := rand.New(rand.NewPCG(3, 4))
	walls := []int64{0, 1, 9, 1733500000000, 9999999999999999, 1e16, 1e16 + 7, -1, -1733500000000, 1<<63 - 1, -1 << 63}
	nodes := []string{"", "n", "019a4f2d-dev", "a-b-c", "é", "x y"}
	for range 20000 {
		walls = append(walls, rnd.Int64N(1e16), rnd.Int64())
	}
	for i, w := range walls {
		h := HLC{Wall: w, Logical: uint16(rnd.IntN(1 << 16)), Node: nodes[i%len(nodes)]}
		if i < 40 {
			h.Logical = []uint16{0, 1, 0xa, 0xffff}[i%4]
		}
		want := ""
		if !h.IsZero() {
			want = fmt.Sprintf("%0*d-%04x-%s", hlcWallDigits, h.Wall, h.Logical, h.Node)
		}
		if got := h.String(); got != want {
			t.Fatalf("%+v prints %q, fmt %q", h, got, want)
		}
		texts := []string{want}
		for range 4 { // the text with one byte changed
			if want == "" {
				break
			}
			b := []byte(want)
			b[rnd.IntN(len(b))] = "0123456789abcdefABCDEF-+ x\x00"[rnd.IntN(27)]
			texts = append(texts, string(b), want[:rnd.IntN(len(want))])
		}
		for _, s := range texts {
			old, oldOK := oldParseHLC(s)
			got, err := ParseHLC(s)
			if (err == nil) != oldOK || err == nil && got != old {
				t.Fatalf("ParseHLC(%q) = %+v, %v; before %+v, %v", s, got, err, old, oldOK)
			}
		}
	}
}

// TestHLCTextAllocations: a stamp prints in one allocation and a
// mutation's clock decodes (UnmarshalText) in one, the text's (5 before).
func TestHLCTextAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	h := HLC{Wall: 1733500000000, Logical: 0x1a, Node: "019a4f2d-7c41-7a66-9d3e-5b2d0c1e2f3a"}
	text := []byte(h.String())
	if n := testing.AllocsPerRun(100, func() { _ = h.String() }); n > 1 {
		t.Errorf("String: %v allocations, want 1", n)
	}
	var got HLC
	if n := testing.AllocsPerRun(100, func() {
		if err := got.UnmarshalText(text); err != nil {
			t.Fatal(err)
		}
	}); n > 1 {
		t.Errorf("UnmarshalText: %v allocations, want 1", n)
	}
	if got != h {
		t.Errorf("UnmarshalText gave %+v, want %+v", got, h)
	}
}

// BenchmarkHLCText prints a stamp and decodes it as a push's mutation
// clock is (UnmarshalText).
func BenchmarkHLCText(b *testing.B) {
	h := HLC{Wall: 1733500000000, Logical: 0x1a, Node: "019a4f2d-7c41-7a66-9d3e-5b2d0c1e2f3a"}
	text := []byte(h.String())
	b.Run("String", func(b *testing.B) {
		for b.Loop() {
			_ = h.String()
		}
	})
	b.Run("UnmarshalText", func(b *testing.B) {
		var got HLC
		for b.Loop() {
			_ = got.UnmarshalText(text)
		}
	})
	b.Run("before/String", func(b *testing.B) {
		for b.Loop() {
			_ = fmt.Sprintf("%0*d-%04x-%s", hlcWallDigits, h.Wall, h.Logical, h.Node)
		}
	})
	b.Run("before/UnmarshalText", func(b *testing.B) {
		for b.Loop() {
			_, _ = oldParseHLC(string(text))
		}
	})
}
