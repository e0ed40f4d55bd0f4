package schema

import (
	"encoding/json"
	"maps"
	"reflect"
	"testing"
)

// slowValidateFields is ValidateFields as it was: the names sorted per call.
func slowValidateFields(s *EntitySpec, fields map[string]json.RawMessage) error {
	for _, name := range sortedKeys(fields) {
		fs, ok := s.Fields[name]
		if !ok {
			if name == "id" || name == "case_id" {
				return Errorf(ECodeInvalid, name, "%s is the record's identity and is not changed through fields", name)
			}
			return Errorf(ECodeUnknownField, name, "%s has no field %q", s.Name, name)
		}
		if err := fs.check(fields[name]); err != nil {
			return err
		}
	}
	return nil
}

var decodeSamples = []string{
	`true`, `false`, ` true`, `true `, `True`, `1`, `0`, `"x"`, `""`, `"a\"b"`, `"é"`, "\"\xff\"", "\"a\tb\"",
	`[]`, `[ ]`, `[]x`, `["a"]`, `["a","b"]`, `["a", "b"]`, `["a",]`, `[,"a"]`, `["a""b"]`, `["a\"b"]`,
	`["a\u0041"]`, "[\"\xff\"]", "[\"a\nb\"]", `["é","c,d"]`, `[1]`, `["a",1]`, `[null]`, `["a"`, `"a"]`,
	`[{"member_id":"m","present":"yes"}]`, `[{"x":1}]`, `{}`, `null`, `2026-12-05`, `"2026-12-05"`,
	`"2026-12-05T04:00:00Z"`, `12`, `-1`, `1e3`, `[""]`, `["",""]`,
}

// The fast paths of decode give what the reflective decoder gives, value
// and failure alike, for every field of every entity.
func TestDecodeFastPathsMatchTheDecoder(t *testing.T) {
	t.Parallel()
	for _, raw := range decodeSamples {
		sameDecode(t, raw)
	}
}

// sameDecode fails t when decode and decodeReflect disagree on raw for a
// field of any entity.
func sameDecode(t *testing.T, raw string) {
	t.Helper()
	for _, s := range Entities() {
		for _, fs := range s.Fields {
			got, gerr := fs.decode(json.RawMessage(raw))
			want, werr := fs.decodeReflect(json.RawMessage(raw))
			if (gerr == nil) != (werr == nil) {
				t.Fatalf("%s.%s %q: error %v, want %v", s.Name, fs.Name, raw, gerr, werr)
			}
			if gerr == nil && !reflect.DeepEqual(got.Interface(), want.Interface()) {
				t.Fatalf("%s.%s %q: %#v, want %#v", s.Name, fs.Name, raw, got.Interface(), want.Interface())
			}
		}
	}
}

// ValidateFields without a sort per call answers as with one: the same
// error (the first in name order) or none.
func TestValidateFieldsOrderWithoutSort(t *testing.T) {
	t.Parallel()
	maps := []map[string]json.RawMessage{
		{},
		{"status": json.RawMessage(`"draft"`), "outcome": json.RawMessage(`"nope"`), "type": json.RawMessage(`"bad"`)},
		{"zzz": json.RawMessage(`1`), "outcome": json.RawMessage(`"nope"`)},
		{"aaa": json.RawMessage(`1`), "outcome": json.RawMessage(`"nope"`)},
		{"id": json.RawMessage(`"x"`), "status": json.RawMessage(`1`)},
		{"status": json.RawMessage(`null`), "actions": json.RawMessage(`["police_informed","nope"]`)},
		{"face_to_face": json.RawMessage(`"yes"`), "children": json.RawMessage(`[]`), "observations": json.RawMessage(`[]`)},
	}
	for _, s := range Entities() {
		for _, m := range maps {
			got, want := s.ValidateFields(m), slowValidateFields(s, m)
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("%s %v: %v, want %v", s.Name, m, got, want)
			}
		}
		// Every field of the entity set to each sample, one at a time
		// and all at once.
		all := map[string]json.RawMessage{}
		for _, raw := range decodeSamples {
			for name := range s.Fields {
				one := map[string]json.RawMessage{name: json.RawMessage(raw)}
				if got, want := s.ValidateFields(one), slowValidateFields(s, one); !reflect.DeepEqual(got, want) {
					t.Fatalf("%s %s=%s: %v, want %v", s.Name, name, raw, got, want)
				}
				all[name] = json.RawMessage(raw)
			}
			if got, want := s.ValidateFields(all), slowValidateFields(s, all); !reflect.DeepEqual(got, want) {
				t.Fatalf("%s all=%s: %v, want %v", s.Name, raw, got, want)
			}
		}
	}
}

// FuzzDecodeFastPaths: for any value, decode's fast paths agree with the
// reflective decoder on every field of every entity.
func FuzzDecodeFastPaths(f *testing.F) {
	for _, s := range decodeSamples {
		f.Add(s)
	}
	f.Fuzz(sameDecode)
}

// SortedNames is the names of any map in sorted order, known or not.
func TestSortedNames(t *testing.T) {
	t.Parallel()
	for _, s := range Entities() {
		for _, m := range []map[string]json.RawMessage{
			{}, {"zzz": nil}, {"status": nil, "aaa": nil}, {"outcome": nil, "status": nil, "type": nil},
		} {
			all := map[string]json.RawMessage{}
			for name := range s.Fields {
				all[name] = nil
			}
			for _, fields := range []map[string]json.RawMessage{m, all} {
				if got, want := s.SortedNames(fields), sortedKeys(fields); !reflect.DeepEqual(got, want) {
					t.Fatalf("%s %v: %v, want %v", s.Name, fields, got, want)
				}
			}
		}
	}
}

// oldValidate is EntitySpec.Validate as it was: the record through
// Record.Decode, whose json.Marshal encoded every value again.
func oldValidate(s *EntitySpec, id, caseID string, fields map[string]json.RawMessage) error {
	if rule := fieldRules[s.Name]; rule != nil {
		if err := rule(fields); err != nil {
			return err
		}
	}
	if !s.Type.Implements(validatorType) {
		return nil
	}
	ptr := reflect.New(s.Type)
	if err := (Record{Entity: s.Name, ID: id, CaseID: caseID, Fields: fields}).Decode(ptr.Interface()); err != nil {
		return Errorf(ECodeMalformed, "", "%s fields do not decode: %v", s.Name, err)
	}
	return ptr.Elem().Interface().(interface{ Validate() error }).Validate()
}

// Validate decodes the record without encoding its values again, and
// answers as before: the same rule broken, or none; a value that is not
// one JSON value (which could otherwise add a member) still refused.
func TestValidateWithoutReencoding(t *testing.T) {
	t.Parallel()
	for _, s := range Entities() {
		if !s.HasRules() {
			continue
		}
		base := FieldsOf(reflect.New(s.Type).Interface())
		variants := []map[string]json.RawMessage{base}
		for name := range s.Fields {
			for _, raw := range []string{`""`, `"x"`, `"2026-12-05"`, `null`, `true`, `[]`, `"x","id":"other"`, ` "x" `, `1 2`} {
				m := maps.Clone(base)
				m[name] = json.RawMessage(raw)
				variants = append(variants, m)
			}
		}
		withID := maps.Clone(base)
		withID["id"] = json.RawMessage(`"not-the-id"`)
		variants = append(variants, withID)
		for _, m := range variants {
			got, want := s.Validate("the-id", "the-case", m), oldValidate(s, "the-id", "the-case", m)
			if (got == nil) != (want == nil) || got != nil && (AsError(got).Code != AsError(want).Code || AsError(got).Field != AsError(want).Field) {
				t.Fatalf("%s %v: %v, want %v", s.Name, m, got, want)
			}
		}
	}
}

// FuzzValidateSameAnswer: ValidateFields and Validate answer any field map
// as they did with a sort per map and json.Marshal's encoding.
func FuzzValidateSameAnswer(f *testing.F) {
	for _, s := range []string{
		`{}`, `{"status":"draft","outcome":"nope"}`, `{"zzz":1,"outcome":"x"}`, `{"actions":["police_informed"],"face_to_face":true}`,
		`{"children":[{"member_id":"m","present":"yes","seen":"no"}]}`, `{"id":"x"}`, `{"crn":"X123456","date_of_birth":"2000-01-01"}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		var fields map[string]json.RawMessage
		if json.Unmarshal([]byte(body), &fields) != nil {
			return
		}
		for _, s := range Entities() {
			got, want := s.ValidateFields(fields), slowValidateFields(s, fields)
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("%s ValidateFields(%s): %v, want %v", s.Name, body, got, want)
			}
			if got != nil {
				continue
			}
			got, want = s.Validate("id", "case", fields), oldValidate(s, "id", "case", fields)
			if (got == nil) != (want == nil) || got != nil && (AsError(got).Code != AsError(want).Code || AsError(got).Field != AsError(want).Field) {
				t.Fatalf("%s Validate(%s): %v, want %v", s.Name, body, got, want)
			}
		}
	})
}
