package serverdb

import (
	"context"
	"encoding/json"
	"testing"

	"doorstep/schema"
)

// TestRefusedChangeLeavesTheRecordAsItWas: the apply merges a change into
// the stored record's own maps (mergeInto, decision 0104); a change the
// merged record then fails (its status "signed" with no signed_at) is refused, and the
// record, its stamps and the next change of the batch see it as stored:
// the stored text is what the next change alone gives.
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
