package schema_test

import (
	"encoding/json"
	"testing"

	"doorstep/schema"
)

func TestNULMember(t *testing.T) {
	t.Parallel()
	type inner struct {
		Name string `json:"name"`
	}
	type embedded struct {
		Note string `json:"note"`
	}
	type body struct {
		embedded
		Username string                     `json:"username"`
		Tags     []string                   `json:"tags"`
		Kids     []inner                    `json:"kids"`
		Ptr      *inner                     `json:"ptr"`
		Labels   map[string]string          `json:"labels"`
		Fields   map[string]json.RawMessage `json:"fields"`
		Raw      json.RawMessage            `json:"raw"`
		Skip     string                     `json:"-"`
		Plain    string
	}
	for _, tc := range []struct {
		name string
		v    any
		want string
	}{
		{"none", &body{Username: "asha", Tags: []string{"a"}, Kids: []inner{{"b"}}}, ""},
		{"nil", nil, ""},
		{"top", &body{Username: "a\x00b"}, "username"},
		{"list", body{Tags: []string{"ok", "x\x00"}}, "tags[1]"},
		{"object in a list", &body{Kids: []inner{{"ok"}, {"\x00"}}}, "kids[1].name"},
		{"pointer", &body{Ptr: &inner{"\x00"}}, "ptr.name"},
		{"embedded", &body{embedded: embedded{Note: "\x00"}}, "note"},
		{"map value", &body{Labels: map[string]string{"k": "\x00"}}, "labels.k"},
		{"map key", &body{Labels: map[string]string{"\x00": "v"}}, "labels"},
		{"untagged", &body{Plain: "\x00"}, "Plain"},
		{"fields are ValidateFields'", &body{Fields: map[string]json.RawMessage{"x": json.RawMessage(`"\u0000"`)}, Raw: json.RawMessage(`"\u0000"`)}, ""},
		{"json:\"-\" is not read", &body{Skip: "\x00"}, ""},
		{"a mutation", &schema.Mutation{Clock: schema.HLC{Node: "dev\x00"}}, "clock"},
	} {
		if got := schema.NULMember(tc.v); got != tc.want {
			t.Errorf("%s: NULMember = %q, want %q", tc.name, got, tc.want)
		}
	}
}
