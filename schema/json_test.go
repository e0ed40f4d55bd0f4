package schema

import (
	"encoding/json"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestEachMemberSharesKnownNames: the members of a record's fields and of
// a mutation that name a field or a wire member are not copied out of the
// text (decision 0117): decoding them allocates nothing, and they read as
// encoding/json reads them, an escaped or unknown name included.
func TestEachMemberSharesKnownNames(t *testing.T) {
	doc := []byte(`{"status":"draft","next_visit_on":"2026-12-01","observation_notes":"x","record_id":"r","clock":"c",` +
		`"device_time":"2026-12-01T00:00:00Z","case_id":"k","fields":{"a":1}}`)
	if !raceEnabled {
		allocs := testing.AllocsPerRun(100, func() {
			if err := EachMember(doc, func(string, []byte) error { return nil }); err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 0 {
			t.Errorf("EachMember over known names allocated %v times a run, want 0", allocs)
		}
	}
	for _, text := range []string{string(doc), `{"st\u0061tus":1,"status ":2,"unknown_name":3,"\"status\"":4}`, `{"sta\"tus":1}`} {
		got := map[string]string{}
		err := EachMember([]byte(text), func(k string, v []byte) error {
			got[k] = string(v)
			return nil
		})
		var want map[string]json.RawMessage
		if jerr := json.Unmarshal([]byte(text), &want); (err != nil) != (jerr != nil) {
			t.Fatalf("%s: EachMember %v, json.Unmarshal %v", text, err, jerr)
		}
		if err != nil {
			continue
		}
		if !maps.EqualFunc(got, want, func(a string, b json.RawMessage) bool { return a == string(b) }) {
			t.Errorf("%s: EachMember read %v, json.Unmarshal %s", text, got, want)
		}
	}
}

// skipStringByteScan is SkipJSON's reading of a string as it was before
// skipString: a byte at a time, a backslash passing over the byte after
// it. (Its reading of objects and arrays is unchanged, and reads each
// string in them with skipString.)
func skipStringByteScan(b []byte, i int) int {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return -1
}

// TestSkipJSONIsTheByteScan: SkipJSON (skipString's quotes found many
// bytes a step, the backslashes before one counted) ends every string
// where the byte-at-a-time scan did: the documents at the edges of
// JSON's grammar cut at every byte, and random runs of backslashes and
// quotes.
func TestSkipJSONIsTheByteScan(t *testing.T) {
	check := func(doc string) {
		t.Helper()
		for i := 0; i < len(doc); i++ {
			if doc[i] != '"' {
				continue
			}
			if got, want := SkipJSON([]byte(doc), i), skipStringByteScan([]byte(doc), i); got != want {
				t.Fatalf("SkipJSON(%q, %d) = %d, the byte scan %d", doc, i, got, want)
			}
		}
	}
	for _, doc := range validCases {
		for n := 0; n <= len(doc); n++ {
			check(doc[:n])
		}
	}
	rnd := rand.New(rand.NewPCG(3, 4))
	alphabet := []byte(`"\\\\\\ab{}[],:`)
	for range 20000 {
		b := make([]byte, 1+rnd.IntN(40))
		for i := range b {
			b[i] = alphabet[rnd.IntN(len(alphabet))]
		}
		check(string(b))
	}
}

func FuzzSkipJSON(f *testing.F) {
	for _, doc := range validCases {
		f.Add([]byte(doc))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		for i := 0; i < len(b); i++ {
			if b[i] != '"' {
				continue
			}
			if got, want := SkipJSON(b, i), skipStringByteScan(b, i); got != want {
				t.Fatalf("SkipJSON(%q, %d) = %d, the byte scan %d", b, i, got, want)
			}
		}
	})
}

// TestEachMemberAtEndsWhereSkipJSONDoes: an object read member by member
// where it stands ends where SkipJSON says it ends, with the same
// members as EachMember gives, whatever follows it.
func TestEachMemberAtEndsWhereSkipJSONDoes(t *testing.T) {
	for _, doc := range validCases {
		for _, tail := range []string{"", ",", "]}", ` {"x":1}`} {
			b := []byte(doc + tail)
			i := SkipSpace(b, 0)
			var keys []string
			end, err := EachMemberAt(b, i, func(key string, b []byte, i int) (int, error) {
				keys = append(keys, key)
				return SkipJSON(b, i), nil
			})
			if err != nil {
				continue
			}
			if want := SkipJSON(b, i); end != want {
				t.Errorf("EachMemberAt(%q) ended at %d, SkipJSON at %d", b, end, want)
			}
			var want []string
			if err := EachMember(b[:end], func(key string, v []byte) error { want = append(want, key); return nil }); err != nil {
				t.Errorf("EachMember(%q): %v after EachMemberAt read it", b[:end], err)
			}
			if !slices.Equal(keys, want) {
				t.Errorf("EachMemberAt(%q) gave %q, EachMember %q", b, keys, want)
			}
		}
	}
}
