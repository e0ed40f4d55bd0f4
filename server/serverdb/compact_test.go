package serverdb

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"testing"
)

// TestIsCompactAsBefore: for every JSON value (appendFields' values are
// checked JSON), isCompact answers what it answered when it read strings
// too (scanCompact, every byte), and that is whether json.Compact would
// leave the value as it is.
func TestIsCompactAsBefore(t *testing.T) {
	values := []string{`""`, `" "`, `"a b"`, `"\" "`, `"\\"`, `" \" , \" "`, `"\u0020"`, `1`, `-1.5e3`, `true`, `null`,
		`[]`, `[ ]`, `[1,2]`, `[1, 2]`, `["a","b"]`, `["a", "b"]`, `{"a":"b"}`, `{"a": "b"}`, `{"a":" b "}`, "[\n1]", `[" "," "]`}
	rnd := rand.New(rand.NewPCG(5, 6))
	pieces := []string{`"x"`, `" y "`, `"\""`, `1`, `null`, `true`, `[]`, `{}`}
	var gen func(depth int) string
	gen = func(depth int) string {
		sp := func() string { return []string{"", "", " ", "\n", "\t"}[rnd.IntN(5)] }
		if depth > 2 || rnd.IntN(3) == 0 {
			return pieces[rnd.IntN(len(pieces))]
		}
		if rnd.IntN(2) == 0 {
			s := "[" + sp()
			for i := range rnd.IntN(3) + 1 {
				if i > 0 {
					s += sp() + "," + sp()
				}
				s += gen(depth + 1)
			}
			return s + sp() + "]"
		}
		s := "{" + sp()
		for i := range rnd.IntN(3) + 1 {
			if i > 0 {
				s += sp() + "," + sp()
			}
			s += `"k` + string(rune('a'+i)) + `"` + sp() + ":" + sp() + gen(depth+1)
		}
		return s + sp() + "}"
	}
	for range 5000 {
		values = append(values, gen(0))
	}
	for _, v := range values {
		if !json.Valid([]byte(v)) {
			t.Fatalf("test value %q is not JSON", v)
		}
		var c bytes.Buffer
		_ = json.Compact(&c, []byte(v))
		got, old := isCompact([]byte(v)), scanCompact([]byte(v))
		if got != old || got != (c.String() == v) {
			t.Fatalf("isCompact(%q) = %v, before %v, compact as it is %v", v, got, old, c.String() == v)
		}
	}
}
