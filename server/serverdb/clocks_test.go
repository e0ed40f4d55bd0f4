package serverdb

import (
	"encoding/json"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"

	"doorstep/schema"
)

// TestClocksRoundTrip: whatever the stamps, the stored text of a record's
// clocks reads back to the same stamp per field (decision 0059), and the
// text of a record written by the code before (a key per field) still
// reads as it did.
func TestClocksRoundTrip(t *testing.T) {
	t.Parallel()
	stamps := []string{"0001-0000-a", "0002-0000-a", "0002-0000-b", ""}
	names := []string{"a", "b", "c", "d", "e"}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 2000; i++ {
		fields, clocks := randomStamped(rng, names, stamps, func() json.RawMessage { return json.RawMessage(`1`) })
		text := string(appendClocks(nil, sortedNames(fields), fields, clocks))
		got, err := decodeClocks(text, fields)
		if err != nil {
			t.Fatalf("decode %s: %v", text, err)
		}
		if !maps.Equal(got, clocks) {
			t.Fatalf("fields %v, clocks %v: stored %s, read back %v", fields, clocks, text, got)
		}
	}
	old := `{"a":"0001-0000-a","b":"0002-0000-a"}`
	got, err := decodeClocks(old, map[string]json.RawMessage{"a": json.RawMessage(`1`)})
	if err != nil || !maps.Equal(got, map[string]string{"a": "0001-0000-a", "b": "0002-0000-a"}) {
		t.Fatalf("a key per field %s: read %v, %v", old, got, err)
	}
}

// TestStoredClocksCarryOneStamp: a record made by one mutation stores
// one stamp for its fields and a key only for a field set to null; a later
// change of one field adds that field's key only; and the merge reads
// the stamps back per field (a write older than the change loses on the
// changed field only).
func TestStoredClocksCarryOneStamp(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	a := f.actor(f.asha, f.ashaDev)
	id := schema.NewID()
	fields := visitFields("draft")
	fields["outcome"] = json.RawMessage(`null`)
	first := stamp(1000, f.ashaDev)
	f.push(t, a, mutation("visit", id, f.ashaCase, first, fields))
	want := `{"":"` + first.String() + `","outcome":"` + first.String() + `"}`
	if got := f.storedClocks(t, id); got != want {
		t.Fatalf("clocks of a new record: %s; want %s", got, want)
	}

	later := stamp(3000, f.ashaDev)
	f.push(t, a, mutation("visit", id, f.ashaCase, later, raw("location", "doorstep")))
	want = `{"":"` + first.String() + `","location":"` + later.String() + `","outcome":"` + first.String() + `"}`
	if got := f.storedClocks(t, id); got != want {
		t.Fatalf("clocks after one field changed: %s; want %s", got, want)
	}

	// Between the two: loses on location, wins on type.
	res := f.push(t, a, mutation("visit", id, f.ashaCase, stamp(2000, f.ashaDev), raw("location", "elsewhere", "type", "office")))
	if res[0].Status != schema.StatusConflict {
		t.Fatalf("a write between the stamps: %+v; want a conflict on location", res[0])
	}
	rec, err := f.db.Get(t.Context(), f.admin, "visit", id)
	if err != nil {
		t.Fatal(err)
	}
	if got := string(rec.Fields["location"]) + string(rec.Fields["type"]); got != `"doorstep""office"` {
		t.Fatalf("location and type after the merge: %s; want the later location and the new type", got)
	}
}

// randomStamped is a record's fields and the stamps of its own of a
// random few of names: each never written, set to null (a stamp, no
// value), a value (of unstamped) with no stamp of its own (a record stored
// without one, or the base's), or "x" with a stamp. An unstamped null is
// left out.
func randomStamped(rng *rand.Rand, names, stamps []string, unstamped func() json.RawMessage) (map[string]json.RawMessage, map[string]string) {
	fields := map[string]json.RawMessage{}
	clocks := map[string]string{}
	for _, n := range names {
		switch rng.IntN(4) {
		case 0: // never written
		case 1: // set to null: stamped, absent from fields
			clocks[n] = stamps[rng.IntN(len(stamps))]
		case 2:
			if v := unstamped(); string(v) != "null" {
				fields[n] = v
			}
		default:
			fields[n] = json.RawMessage(`"x"`)
			clocks[n] = stamps[rng.IntN(len(stamps))]
		}
	}
	return fields, clocks
}

func (f *fixture) storedClocks(t *testing.T, id string) string {
	t.Helper()
	var s string
	if err := f.db.r.QueryRow(`SELECT clocks FROM records WHERE id = ?`, id).Scan(&s); err != nil {
		t.Fatalf("clocks of %s: %v", id, err)
	}
	return s
}

// TestStoredTextDecodesAsUnmarshal: the push's scanner of a stored
// record's fields and clocks (decodeStoredFields, decodeClocks, decision
// 0073) reads every text as json.Unmarshal into a map does, value bytes
// and all, and fails where it fails.
func TestStoredTextDecodesAsUnmarshal(t *testing.T) {
	t.Parallel()
	texts := []string{
		`{}`, ` { } `, `null`, `{"a":1}`, `{"a":1,"a":2}`, `{"a" : "x" , "b":[1,{"c":"}"}] }`,
		`{"a\"b":"\\"","é":"ü","\u00e9x":null}`, `{"a":{"b":{"c":[true,false,null]}},"d":-1.5e3}`,
		`{"s":"a\nb","t":"\ud83d\ude00"}`, "{\"k\xff\":\"v\xfe\"}",
		`{"a":1,}`, `{"a"}`, `[1]`, `{"a":1}x`, `"x"`, ``, `{"a":`,
	}
	visit, err := appendFields(nil, sortedNames(benchVisit(1)), benchVisit(1))
	if err != nil {
		t.Fatal(err)
	}
	texts = append(texts, string(visit))
	for _, text := range texts {
		var want map[string]json.RawMessage
		wantErr := json.Unmarshal([]byte(text), &want)
		got, names, err := decodeStoredFields(text)
		if (err != nil) != (wantErr != nil) {
			t.Errorf("fields %q: error %v; json.Unmarshal's %v", text, err, wantErr)
			continue
		}
		if names != nil && !slices.Equal(names, sortedNames(got)) {
			t.Errorf("fields %q: names %q; the fields' sorted are %q", text, names, sortedNames(got))
		}
		if wantErr == nil && !maps.EqualFunc(got, want, func(a, b json.RawMessage) bool { return string(a) == string(b) }) {
			t.Errorf("fields %q: %q; json.Unmarshal %q", text, got, want)
		}
	}
	clocks := []string{
		`{}`, `{"":"0001-0000-a"}`, `{"":"0001-0000-a","b":"0002-0000-b"}`, `{"a":"x","a":"y"}`,
		`{"a":null}`, `{"a":1}`, `{"a\u0062":"x"}`, `null`, `{"a":"x"`, `[]`,
	}
	for _, text := range clocks {
		want := map[string]string{}
		wantErr := json.Unmarshal([]byte(text), &want)
		got, err := decodeClocks(text, nil)
		if (err != nil) != (wantErr != nil) {
			t.Errorf("clocks %q: error %v; json.Unmarshal's %v", text, err, wantErr)
			continue
		}
		delete(want, baseClockKey)
		if wantErr == nil && !maps.Equal(got, want) {
			t.Errorf("clocks %q: %q; json.Unmarshal %q", text, got, want)
		}
	}
}

// decodeClocks reads a stored clocks text into a map of every stamped
// field, given the record's fields: the stamps spelled out, the tests'
// oracle (the store keeps them apart, decodeOwnClocks).
func decodeClocks(text string, fields map[string]json.RawMessage) (map[string]string, error) {
	clocks, base, ok, err := decodeOwnClocks(text)
	if err != nil || !ok {
		return clocks, err
	}
	for k := range fields {
		if _, own := clocks[k]; !own {
			clocks[k] = base
		}
	}
	return clocks, nil
}

// appendClocks is appendClocksBase for clocks that name every stamped
// field (decodeClocks's), as the tests spell them out.
func appendClocks(b []byte, names []string, fields map[string]json.RawMessage, clocks map[string]string) []byte {
	return appendClocksBase(b, names, fields, clocks, "", false)
}
