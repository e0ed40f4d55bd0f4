package devicedb

import (
	"encoding/json"
	"testing"

	"doorstep/schema"
)

// TestIsSignedReadsAsTheDecodedFields: isSigned, which reads the sign
// field's value out of the text (no map, no search of the whole text
// first), answers what the fields decoded answer (schema.Record.Signed)
// for every entity: the field set, empty in each way, absent, nested
// deeper only, named inside a string, spaced. (A name written with an
// escape is compared as written, before as now: the server's stored text
// never escapes one.)
func TestIsSignedReadsAsTheDecodedFields(t *testing.T) {
	values := []string{`"2026-11-20T14:02:11Z"`, `null`, `""`, `[]`, `{}`, ` "" `, `"x"`, `0`, `false`, `[1]`, `{"a":1}`, `" "`}
	var docs []string
	for _, name := range []string{"signed_at", "amended_at"} {
		for _, v := range values {
			docs = append(docs,
				`{"`+name+`":`+v+`}`,
				`{"status":"signed","notes":"say \"signed_at\" \\","`+name+`":`+v+`,"n":[1,{"x":null}]}`,
				`{ "notes" : "a\\\"b" , "`+name+`" : `+v+` }`,
				`{"nested":{"`+name+`":`+v+`},"notes":"\"`+name+`\":`+jsonQuote(v)+`"}`,
			)
		}
	}
	docs = append(docs, `{}`, `{"notes":"signed_at"}`, `{"signed_atx":"y"}`, `{"xsigned_at":"y"}`,
		`{"status":"draft","observation_notes":""}`)
	entities := []string{"visit", "amendment", "case", "household_member", "no_such_entity"}
	for _, e := range entities {
		for _, doc := range docs {
			var m map[string]json.RawMessage
			if err := json.Unmarshal([]byte(doc), &m); err != nil {
				t.Fatalf("%s: %v", doc, err)
			}
			want := schema.Record{Entity: e, Fields: m}.Signed()
			if got := isSigned(e, []byte(doc)); got != want {
				t.Errorf("isSigned(%s, %s) = %v, the decoded fields say %v", e, doc, got, want)
			}
		}
	}
}

func jsonQuote(s string) string {
	b, _ := json.Marshal(s)
	return string(b[1 : len(b)-1])
}
