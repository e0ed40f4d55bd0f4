package serverdb

import (
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"testing"

	"doorstep/schema"
)

// TestDecodeFieldsIsUnmarshal: the read model's decode of a record the
// apply holds (decodeFields, with decodePlain's strings and booleans)
// gives what json.Unmarshal of the stored object gives, or fails where it
// fails, whatever the values: escapes, other scripts, bytes that are not
// UTF-8, nulls, values of another type.
func TestDecodeFieldsIsUnmarshal(t *testing.T) {
	t.Parallel()
	values := []string{`"home"`, `"a \"quoted\" word"`, `"tab\there"`, `"\u00e9t\u00e9"`, `"été"`, "\"\xff\xfe\"",
		`null`, `true`, `false`, `1`, `""`, `["fear"]`, `{"x":1}`, `"2026-11-23T09:00:00Z"`, `"line\nbreak"`, "\"raw\x01ctl\""}
	names := []string{"status", "location", "face_to_face", "started_at", "observations", "partner_present"}
	rng := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 3000; i++ {
		fields := map[string]json.RawMessage{}
		for _, n := range names {
			if rng.IntN(5) > 0 {
				fields[n] = json.RawMessage(values[rng.IntN(len(values))])
			}
		}
		text := `{`
		for j, n := range sortedNames(fields) {
			if j > 0 {
				text += ","
			}
			text += `"` + n + `":` + string(fields[n])
		}
		text += `}`
		var want rmVisit
		werr := json.Unmarshal([]byte(text), &want)
		w := &rmWriter{t: &wtx{written: map[string]*row{"v": {id: "v", fields: fields}}}}
		var got rmVisit
		gerr := w.decodeFields(schema.RawRecord{ID: "v", Fields: json.RawMessage(text)}, &got)
		if (werr != nil) != (gerr != nil) {
			t.Fatalf("%s: json.Unmarshal error %v, decodeFields error %v", text, werr, gerr)
		}
		if werr == nil && !reflect.DeepEqual(got, want) {
			t.Fatalf("%s: decodeFields %+v; json.Unmarshal %+v", text, got, want)
		}
	}
}
