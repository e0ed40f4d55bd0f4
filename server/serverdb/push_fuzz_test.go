package serverdb

import (
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"

	"doorstep/schema"
)

// mergeSeeds are the fuzz target's seed corpus, and the inputs with which
// TestStoreMergesByTheRule drives the store.
var mergeSeeds = [][]byte{
	{3, 0, 1, 1, 0, 1, 2, 1, 1, 2, 3, 7, 2, 9},
	{4, 0, 5, 3, 4, 1, 5, 3, 4, 2, 2, 7, 5, 0, 0, 0, 0, 1},
	{2, 1, 0, 2, 2, 2, 0, 2, 2, 4},                   // same wall time, same values
	{2, 0, 5, 6, 0, 1, 1, 6, 1, 9},                   // every field, the later first
	{4, 2, 3, 1, 5, 2, 3, 2, 5, 2, 3, 4, 5, 0, 0, 3}, // nulls
	{5, 0, 7, 7, 1, 1, 6, 7, 2, 2, 5, 7, 3, 0, 4, 7, 4, 1, 3, 7, 5, 8},
	{6, 0, 1, 7, 0, 1, 1, 7, 1, 2, 1, 7, 2, 0, 1, 7, 3, 1, 1, 7, 4, 2, 1, 7, 5, 42},
}

// FuzzMergeConverges drives the server's per-field merge (mergeFields, which
// applier.change applies; §6 step 6) with a few mutations of one record,
// decoded from the input, applied in three orders: as given, reversed, and
// shuffled. In every order:
//
//   - the record ends with the same values and the same per-field stamps
//     (the value of the latest stamp of each field; null clears it);
//   - every mutation's value of each field either was applied when it
//     arrived (no later stamp was stored) or is kept as a conflict (reason
//     lww_lost), and the conflicts are exactly those: none is missing, none
//     is extra, and equal values never conflict.
//
// Which writes end as conflicts depends on arrival order by design: a write
// that arrives after a later one is kept as a conflict, one that arrives
// before it is an ordinary update the later one overwrites (the server has
// no way to tell concurrent edits from successive ones). So the conflicts
// are checked against that rule, order by order, not against each other.
// TestStoreMergesByTheRule checks that the store applies the merge so.
//
// Plain `go test` runs the seeds; `go test -fuzz FuzzMergeConverges
// ./server/serverdb` searches further.
func FuzzMergeConverges(f *testing.F) {
	for _, seed := range mergeSeeds {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		muts, seed := decodeMerge(data)
		var first *mergeOutcome
		for _, order := range mergeOrders(len(muts), seed) {
			got, want := pureMerge(muts, order), modelMerge(muts, order)
			if got.fields != want.fields || got.clocks != want.clocks || !slices.Equal(got.conflicts, want.conflicts) {
				t.Fatalf("order %v: record %s stamps %s conflicts %v; the rule gives %s stamps %s conflicts %v",
					order, got.fields, got.clocks, got.conflicts, want.fields, want.clocks, want.conflicts)
			}
			if first == nil {
				first = &got
			} else if got.fields != first.fields || got.clocks != first.clocks {
				t.Fatalf("orders disagree: %s / %s against %s / %s", got.fields, got.clocks, first.fields, first.clocks)
			}
		}
	})
}

// TestStoreMergesByTheRule pushes the seeds' mutations to a real store, in
// the three orders (the first as one batch, the others one push each), and
// checks the stored record and conflict records against the rule.
func TestStoreMergesByTheRule(t *testing.T) {
	t.Parallel()
	fx := newFixture(t)
	for _, data := range mergeSeeds {
		muts, seed := decodeMerge(data)
		for n, order := range mergeOrders(len(muts), seed) {
			got, want := fx.applyMerge(t, muts, order, n == 0), modelMerge(muts, order)
			if got.fields != want.fields || got.clocks != want.clocks || !slices.Equal(got.conflicts, want.conflicts) {
				t.Fatalf("seed %v, order %v: stored %s stamps %s conflicts %v; the rule gives %s stamps %s conflicts %v",
					data, order, got.fields, got.clocks, got.conflicts, want.fields, want.clocks, want.conflicts)
			}
		}
	}
}

// mergeOrders is the three orders of n updates: as given, reversed, and
// shuffled with seed.
func mergeOrders(n int, seed uint64) [][]int {
	given, reversed := make([]int, n), make([]int, n)
	for i := range n {
		given[i], reversed[i] = i, n-1-i
	}
	shuffled := slices.Clone(given)
	rand.New(rand.NewPCG(seed, 1)).Shuffle(n, func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	return [][]int{given, reversed, shuffled}
}

// pureMerge applies the updates in order with mergeFields alone, from the
// record mergeBase creates.
func pureMerge(muts []mergeMutation, order []int) mergeOutcome {
	fields := map[string]json.RawMessage{}
	clocks := map[string]string{}
	for f, v := range mergeBase.fields {
		fields[f], clocks[f] = v, mergeBase.clock.String()
	}
	var conflicts []string
	for _, i := range order {
		m := muts[i]
		mg := mergeFields(fields, clocks, m.fields, sortedNames(m.fields), m.clock.String(), "~", false, Actor{UserID: "u", DeviceID: "d"})
		// The apply merges into the record's own maps, and puts them
		// back when the change is then refused (decision 0104).
		inF, inC := maps.Clone(fields), maps.Clone(clocks)
		in := mergeInto(inF, inC, m.fields, sortedNames(m.fields), m.clock.String(), "~", false, Actor{UserID: "u", DeviceID: "d"})
		if !maps.EqualFunc(inF, mg.fields, func(a, b json.RawMessage) bool { return string(a) == string(b) }) ||
			!maps.Equal(inC, mg.clocks) || in.applied != mg.applied || len(in.conflicts) != len(mg.conflicts) {
			conflicts = append(conflicts, fmt.Sprintf("%d: mergeInto gives %v %v, mergeFields %v %v", i, inF, inC, mg.fields, mg.clocks))
		}
		undoMerge(inF, inC, in)
		if !maps.EqualFunc(inF, fields, func(a, b json.RawMessage) bool { return string(a) == string(b) }) || !maps.Equal(inC, clocks) {
			conflicts = append(conflicts, fmt.Sprintf("%d: undone, the maps are %v %v, not %v %v", i, inF, inC, fields, clocks))
		}
		for _, c := range mg.conflicts {
			conflicts = append(conflicts, fmt.Sprintf("%d/%s=%s", i, c.field, compactJSON(c.losing)))
		}
		if len(mg.lost) != len(mg.conflicts) {
			conflicts = append(conflicts, fmt.Sprintf("%d: %d lost, %d conflicts", i, len(mg.lost), len(mg.conflicts)))
		}
		fields, clocks = mg.fields, mg.clocks
	}
	fb, _ := json.Marshal(fields)
	cb, _ := json.Marshal(clocks)
	sort.Strings(conflicts)
	return mergeOutcome{fields: string(fb), clocks: string(cb), conflicts: conflicts}
}

// mergeMutation is one decoded update: its stamp and fields.
type mergeMutation struct {
	clock  schema.HLC
	fields map[string]json.RawMessage
}

// mergeBase is the record's creation, stamped before every update.
var mergeBase = mergeMutation{clock: schema.HLC{Wall: 1, Node: "dev-asha"},
	fields: raw("relation", "lodger", "residence", "lives_here", "name", "Ann", "description", "tall")}

var mergeNodes = []string{"dev-asha", "dev-ben", "server"}

// mergeValues are the values a field takes: few, so that equal values and
// nulls come up often. residence is required, and a member needs a name or
// a description, so only the description is ever null (a rejection would
// depend on the order, and is not the merge's business).
var mergeValues = []struct {
	field  string
	values []string
}{
	{"name", []string{`"Ann"`, `"Bob"`, `"Cy"`}},
	{"description", []string{`"tall"`, `null`, `"short"`}},
	{"residence", []string{`"lives_here"`, `"visits"`}},
}

// decodeMerge reads up to 6 updates of 4 bytes each (node, wall time,
// which fields, which values) after a count byte, and a shuffle seed.
func decodeMerge(data []byte) ([]mergeMutation, uint64) {
	if len(data) < 1 {
		return nil, 0
	}
	n := 1 + int(data[0])%6
	data = data[1:]
	var out []mergeMutation
	for i := 0; i < n && len(data) >= 4; i++ {
		b := data[:4]
		data = data[4:]
		m := mergeMutation{clock: schema.HLC{Wall: 2 + int64(b[1]%8), Logical: uint16(i), Node: mergeNodes[int(b[0])%len(mergeNodes)]},
			fields: map[string]json.RawMessage{}}
		mask := 1 + int(b[2])%7
		for k, fv := range mergeValues {
			if mask&(1<<k) != 0 {
				m.fields[fv.field] = json.RawMessage(fv.values[(int(b[3])+k)%len(fv.values)])
			}
		}
		out = append(out, m)
	}
	var seed uint64
	for _, b := range data {
		seed = seed*31 + uint64(b)
	}
	return out, seed
}

// mergeOutcome is a record's end state and its conflict records, as text
// that compares across orders: fields and stamps as JSON objects, and each
// conflict as "update index/field=losing value", sorted.
type mergeOutcome struct {
	fields, clocks string
	conflicts      []string
}

// applyMerge creates a record and pushes the updates in order (all in one
// batch, or one push each), then reads what the server stored.
func (fx *fixture) applyMerge(t *testing.T, muts []mergeMutation, order []int, oneBatch bool) mergeOutcome {
	t.Helper()
	asha := fx.actor(fx.asha, fx.ashaDev)
	id := schema.NewID()
	fx.push(t, asha, mutation("household_member", id, fx.ashaCase, mergeBase.clock, mergeBase.fields))
	index := map[string]int{}
	var batch []schema.Mutation
	for _, i := range order {
		m := mutation("household_member", id, "", muts[i].clock, muts[i].fields)
		index[m.ID] = i
		batch = append(batch, m)
	}
	var results []schema.MutationResult
	if oneBatch {
		results = fx.push(t, asha, batch...)
	} else {
		for _, m := range batch {
			results = append(results, fx.push(t, asha, m)...)
		}
	}
	for _, r := range results {
		if r.Status != schema.StatusApplied && r.Status != schema.StatusConflict {
			t.Fatalf("update %d: %+v; want applied or conflict", index[r.MutationID], r)
		}
	}
	var fields, clocks string
	if err := fx.db.r.QueryRow(`SELECT fields, clocks FROM records WHERE id = ?`, id).Scan(&fields, &clocks); err != nil {
		t.Fatal(err)
	}
	// The stored clocks, expanded to a stamp per field (decodeClocks).
	var fm map[string]json.RawMessage
	if err := json.Unmarshal([]byte(fields), &fm); err != nil {
		t.Fatalf("stored fields %q: %v", fields, err)
	}
	cm, err := decodeClocks(clocks, fm)
	if err != nil {
		t.Fatalf("stored clocks %q: %v", clocks, err)
	}
	cb, _ := json.Marshal(cm)
	out := mergeOutcome{fields: canonicalJSON(t, fields), clocks: string(cb)}
	for _, c := range fx.conflicts(t, id) {
		if field(c, "reason") != "lww_lost" {
			t.Fatalf("conflict record %s: reason %q", c.Fields, field(c, "reason"))
		}
		i, ok := index[field(c, "mutation_id")]
		if !ok {
			t.Fatalf("conflict record %s names no update", c.Fields)
		}
		out.conflicts = append(out.conflicts, fmt.Sprintf("%d/%s=%s", i, field(c, "field"), field(c, "losing_value")))
	}
	sort.Strings(out.conflicts)
	return out
}

// modelMerge is the rule of §6 step 6, written plainly: per field, the
// latest stamp wins; an update whose stamp is earlier than the stored one
// and whose value differs is kept as a conflict.
func modelMerge(muts []mergeMutation, order []int) mergeOutcome {
	type cell struct {
		v json.RawMessage
		c schema.HLC
	}
	state := map[string]cell{}
	for f, v := range mergeBase.fields {
		state[f] = cell{v, mergeBase.clock}
	}
	var conflicts []string
	for _, i := range order {
		m := muts[i]
		for f, v := range m.fields {
			s := state[f]
			switch {
			case m.clock.Compare(s.c) > 0:
				state[f] = cell{v, m.clock}
			case !schema.SameJSON(s.v, v):
				conflicts = append(conflicts, fmt.Sprintf("%d/%s=%s", i, f, compactJSON(v)))
			}
		}
	}
	fields := map[string]json.RawMessage{}
	clocks := map[string]string{}
	for f, s := range state {
		if !isNullJSON(s.v) {
			fields[f] = s.v
		}
		clocks[f] = s.c.String()
	}
	fb, _ := json.Marshal(fields)
	cb, _ := json.Marshal(clocks)
	sort.Strings(conflicts)
	return mergeOutcome{fields: string(fb), clocks: string(cb), conflicts: conflicts}
}

func canonicalJSON(t *testing.T, s string) string {
	t.Helper()
	var v map[string]json.RawMessage
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("stored %q: %v", s, err)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func compactJSON(v json.RawMessage) string {
	if isNullJSON(v) {
		return "null"
	}
	return string(v)
}
