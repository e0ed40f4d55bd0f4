package serverdb

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"doorstep/schema"
)

// TestRefusedChangeLeavesTheRecordAsItWas: the apply merges a change into
// the stored record's own maps (mergeInto, decision 0104); a change the
// merged record then fails (its status "signed" with no signed_at) is
// refused, and the refusal's current values, the record, its stamps and
// the next change of the batch see it as stored: the stored text is what
// the next change alone gives.
func TestRefusedChangeLeavesTheRecordAsItWas(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	a := f.actor(f.asha, f.ashaDev)
	id := schema.NewID()
	f.push(t, a, mutation("visit", id, f.ashaCase, stamp(1000, f.ashaDev), visitFields("draft")))
	res := f.push(t, a,
		mutation("visit", id, f.ashaCase, stamp(2000, f.ashaDev), raw("status", "signed", "type", "doorstep")),
		mutation("visit", id, f.ashaCase, stamp(3000, f.ashaDev), raw("next_visit_on", "2026-12-01")))
	if res[0].Status != schema.StatusRejected || res[1].Status != schema.StatusApplied {
		t.Fatalf("results %+v, %+v; want the first rejected, the second applied", res[0], res[1])
	}
	if got := string(res[0].Current["status"]); got != `"draft"` {
		t.Errorf("the refusal's current status is %s; want the stored \"draft\"", got)
	}
	var fields, clocks string
	if err := f.db.r.QueryRowContext(context.Background(), `SELECT fields, clocks FROM records WHERE id = ?`, id).Scan(&fields, &clocks); err != nil {
		t.Fatal(err)
	}
	wantFields := `{"next_visit_on":"2026-12-01","planned_type":"home_unannounced","status":"draft","type":"home_unannounced"}`
	wantClocks := `{"":"` + stamp(1000, f.ashaDev).String() + `","next_visit_on":"` + stamp(3000, f.ashaDev).String() + `"}`
	if fields != wantFields || clocks != wantClocks {
		t.Errorf("stored fields %s clocks %s; want %s and %s", fields, clocks, wantFields, wantClocks)
	}
}

// TestChangeDetailIsJSONMarshals: the audit detail of a change is the
// bytes json.Marshal gave for it (decision 0104), escapes included.
func TestChangeDetailIsJSONMarshals(t *testing.T) {
	for _, c := range []struct {
		id      string
		names   []string
		version int64
	}{
		{schema.NewID(), []string{"next_visit_on"}, 2},
		{schema.NewID(), []string{"a", "b<c>", "d&e", "é", "q\"\\", "tab\t"}, 1234567890123},
		{"", nil, 0},
		{"<id>", []string{}, -1},
	} {
		want, _ := json.Marshal(map[string]any{"mutation_id": c.id, "fields": c.names, "version": c.version})
		if got := changeDetail(nil, c.id, c.names, c.version); string(got) != string(want) {
			t.Errorf("changeDetail(%q, %q, %d) = %s; json.Marshal gives %s", c.id, c.names, c.version, got, want)
		}
	}
}

// TestEncodeMergesTheKnownNames: a record decoded from its stored text
// keeps its names in order (row.names), and encode after a merge merges
// them with the change's names rather than sorting the fields again
// (decision 0104). Over random records and changes (new fields, fields
// cleared, fields set again, several changes in a row, a stored text out
// of order) it writes the bytes the sorting encode writes.
func TestEncodeMergesTheKnownNames(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 104))
	pool := []string{"a", "b", "c", "date", "next_visit_on", "notes", "status", "type", "z", "é"}
	value := func() json.RawMessage {
		switch rng.IntN(4) {
		case 0:
			return json.RawMessage("null")
		case 1:
			return json.RawMessage(fmt.Sprintf(`"v%d"`, rng.IntN(5)))
		case 2:
			return json.RawMessage(fmt.Sprintf(`%d`, rng.IntN(5)))
		}
		return json.RawMessage(`{"x":[1,2]}`)
	}
	for round := range 500 {
		stored := map[string]json.RawMessage{}
		for _, k := range pool {
			if rng.IntN(2) == 0 {
				stored[k] = value()
				if string(stored[k]) == "null" {
					delete(stored, k)
				}
			}
		}
		text, _ := appendFields(nil, sortedNames(stored), stored)
		if round%7 == 0 && len(stored) > 1 {
			// An older writer's order: the names are then not known.
			text, _ = json.Marshal(stored)
			names := sortedNames(stored)
			slices.Reverse(names)
			b := []byte{'{'}
			for i, k := range names {
				if i > 0 {
					b = append(b, ',')
				}
				b = appendJSONString(b, k)
				b = append(b, ':')
				b = append(b, stored[k]...)
			}
			text = append(b, '}')
		}
		fast := &row{id: "r", fieldsText: string(text), clocksText: `{"":"` + stamp(1, "d").String() + `"}`}
		slow := &row{id: "r", fieldsText: fast.fieldsText, clocksText: fast.clocksText}
		for step := range 1 + rng.IntN(3) {
			for _, r := range []*row{fast, slow} {
				if err := r.decode(); err != nil {
					t.Fatal(err)
				}
			}
			in := map[string]json.RawMessage{}
			for range 1 + rng.IntN(4) {
				in[pool[rng.IntN(len(pool))]] = value()
			}
			names := sortedNames(in)
			st := stamp(int64(10+step), "d").String()
			fast.merge(in, names, st, "~", false, Actor{})
			slow.merge(in, names, st, "~", false, Actor{})
			slow.names = nil
			if _, err := fast.encode(nil, names); err != nil {
				t.Fatal(err)
			}
			if _, err := slow.encode(nil, nil); err != nil {
				t.Fatal(err)
			}
			if fast.fieldsText != slow.fieldsText || fast.clocksText != slow.clocksText {
				t.Fatalf("round %d step %d: from %s with %v: encode wrote %s %s; sorting gives %s %s",
					round, step, text, in, fast.fieldsText, fast.clocksText, slow.fieldsText, slow.clocksText)
			}
			if !slices.Equal(fast.names, sortedNames(fast.fields)) {
				t.Fatalf("round %d step %d: names %v; the fields' are %v", round, step, fast.names, sortedNames(fast.fields))
			}
			if round%2 == 0 { // decoded again from the text, or kept in memory
				fast.fields, fast.clocks, fast.names = nil, nil, nil
				slow.fields, slow.clocks = nil, nil
			}
		}
	}
}
