package server

import (
	"encoding/json"
	"fmt"
	"testing"

	"doorstep/schema"
)

// TestFastPushMakesEachFieldsMapAtItsSize: a batch of visits of seventeen
// fields decodes with one map made for each mutation's fields, at its size
// (decision 0117), and the reads one mutation's fields leave for the next
// change nothing of it (mutations of other sizes in a row read as
// json.Unmarshal reads them).
func TestFastPushMakesEachFieldsMapAtItsSize(t *testing.T) {
	const n = 40
	visit, _ := schema.Entity("visit")
	muts := make([]schema.Mutation, n)
	for i := range muts {
		fields := map[string]json.RawMessage{}
		for _, name := range visit.Order[:17-i%3*7] {
			fields[name] = json.RawMessage(fmt.Sprintf(`"value %d"`, i))
		}
		muts[i] = schema.Mutation{ID: schema.NewID(), Entity: "visit", RecordID: schema.NewID(), CaseID: schema.NewID(),
			Fields: fields, Clock: schema.HLC{Wall: 1_700_000_000_000 + int64(i), Node: "dev-1"}}
	}
	body, err := json.Marshal(schema.PushRequest{Mutations: muts, Cursor: "abc"})
	if err != nil {
		t.Fatal(err)
	}
	checkFastPush(t, body)
	if raceEnabled {
		return
	}
	// Per mutation: its fields' map, made once (a table and its groups),
	// the strings of its id, entity, record id and case id, and its
	// clock's parse (schema.HLC.UnmarshalText, five). The fields' names
	// are not copied (schema.EachMember's known names). Grown a field at
	// a time and with its names copied, a mutation made 33.
	allocs := testing.AllocsPerRun(20, func() {
		if _, err := fastPush(body); err != nil {
			t.Fatal(err)
		}
	})
	if perMutation := allocs / n; perMutation > 16 {
		t.Errorf("fastPush made %v allocations a mutation, want at most 16: the fields' map grown, or its names copied", perMutation)
	}
}
