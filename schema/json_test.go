package schema

import (
	"encoding/json"
	"maps"
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
