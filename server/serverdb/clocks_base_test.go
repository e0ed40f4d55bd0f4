package serverdb

import (
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestRowKeepsItsBaseStampApart: a record decoded from its stored text
// holds its own stamps only, the base's fields read through it (decision
// 0117), and over random records (a base or none, own stamps equal to the
// base or not, fields set to null) and random changes in a row (merged
// with row.merge, some refused and undone, encoded, decoded again or kept
// in memory) it gives what the stamps spelled out per field give: the same
// merge (conflicts, lost, applied), the same stored fields and clocks
// text, and the same stamp per field.
func TestRowKeepsItsBaseStampApart(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(11, 117))
	pool := []string{"a", "b", "c", "next_visit_on", "notes", "status", "z"}
	stamps := []string{stamp(1, "d").String(), stamp(2, "d").String(), stamp(3, "e").String(), stamp(9, "d").String()}
	value := func() json.RawMessage {
		switch rng.IntN(4) {
		case 0:
			return json.RawMessage("null")
		case 1:
			return json.RawMessage(fmt.Sprintf(`"v%d"`, rng.IntN(3)))
		}
		return json.RawMessage(fmt.Sprintf(`%d`, rng.IntN(3)))
	}
	decoded := &row{id: "r", fieldsText: `{"a":1,"b":2}`, clocksText: `{"":"` + stamps[0] + `","b":"` + stamps[1] + `"}`}
	if err := decoded.decode(); err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(decoded.clocks, map[string]string{"b": stamps[1]}) || decoded.base != stamps[0] || decoded.clock("a") != stamps[0] || decoded.clock("c") != "" {
		t.Fatalf("decoded clocks %v, base %q (%v), a %q, c %q; want b's own, a the base, c none",
			decoded.clocks, decoded.base, decoded.hasBase, decoded.clock("a"), decoded.clock("c"))
	}
	for round := range 1000 {
		fields, own := randomStamped(rng, pool, stamps, value) // value: the base's
		ftext, _ := appendFields(nil, sortedNames(fields), fields)
		ctext := []byte(`{`)
		if rng.IntN(5) > 0 {
			ctext = append(append(append(ctext, `"":`...), appendJSONString(nil, stamps[rng.IntN(len(stamps))])...), ',')
		}
		for _, k := range slices.Sorted(maps.Keys(own)) {
			ctext = append(append(append(appendJSONString(ctext, k), ':'), appendJSONString(nil, own[k])...), ',')
		}
		if ctext[len(ctext)-1] == ',' {
			ctext = ctext[:len(ctext)-1]
		}
		ctext = append(ctext, '}')

		r := &row{id: "r", fieldsText: string(ftext), clocksText: string(ctext)}
		sFields := maps.Clone(fields)
		sClocks, err := decodeClocks(string(ctext), sFields)
		if err != nil {
			t.Fatal(err)
		}
		for step := range 1 + rng.IntN(3) {
			if err := r.decode(); err != nil {
				t.Fatal(err)
			}
			in := map[string]json.RawMessage{}
			for range 1 + rng.IntN(3) {
				in[pool[rng.IntN(len(pool))]] = value()
			}
			names := sortedNames(in)
			st := stamps[rng.IntN(len(stamps))]
			signing := rng.IntN(5) == 0
			got := r.merge(in, names, st, "~", signing, Actor{})
			want := mergeInto(sFields, sClocks, in, names, st, "~", signing, Actor{})
			if got.applied != want.applied || !slices.Equal(got.lost, want.lost) || fmt.Sprint(got.conflicts) != fmt.Sprint(want.conflicts) {
				t.Fatalf("round %d step %d: %s %s with %v at %s: merge gave %d applied, lost %v, conflicts %v; spelled out %d, %v, %v",
					round, step, ftext, ctext, in, st, got.applied, got.lost, got.conflicts, want.applied, want.lost, want.conflicts)
			}
			if rng.IntN(4) == 0 { // refused
				undoMerge(r.fields, r.clocks, got)
				undoMerge(sFields, sClocks, want)
			}
			if _, err := r.encode(nil, names); err != nil {
				t.Fatal(err)
			}
			wantFields, _ := appendFields(nil, sortedNames(sFields), sFields)
			if r.fieldsText != string(wantFields) {
				t.Fatalf("round %d step %d: fields stored %s; spelled out %s", round, step, r.fieldsText, wantFields)
			}
			wantClocks := string(appendClocks(nil, sortedNames(sFields), sFields, sClocks))
			if r.clocksText != wantClocks {
				t.Fatalf("round %d step %d: from %s %s with %v at %s: clocks stored %s; spelled out %s",
					round, step, ftext, ctext, in, st, r.clocksText, wantClocks)
			}
			for _, k := range pool {
				if w := sClocks[k]; r.clock(k) != w {
					t.Fatalf("round %d step %d: %s's stamp %q; spelled out %q", round, step, k, r.clock(k), w)
				}
			}
			if rng.IntN(2) == 0 {
				r.fields, r.clocks, r.names = nil, nil, nil
			}
		}
	}
}
