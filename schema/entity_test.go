package schema_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"doorstep/schema"
)

// F builds a field map from JSON texts.
type F map[string]string

func (f F) raw() map[string]json.RawMessage {
	out := make(map[string]json.RawMessage, len(f))
	for k, v := range f {
		out[k] = json.RawMessage(v)
	}
	return out
}

func spec(t *testing.T, name string) *schema.EntitySpec {
	t.Helper()
	s, ok := schema.Entity(name)
	if !ok {
		t.Fatalf("Entity(%q): expected a spec, got none", name)
	}
	return s
}

// wantErr checks err has code and field ("" code: no error expected).
func wantErr(t *testing.T, what string, err error, code, field string) {
	t.Helper()
	if code == "" {
		if err != nil {
			t.Errorf("%s: expected no error, got %v", what, err)
		}
		return
	}
	e := schema.AsError(err)
	if e == nil {
		t.Errorf("%s: expected %s error on %q, got %v", what, code, field, err)
		return
	}
	if e.Code != code || e.Field != field {
		t.Errorf("%s: expected %s on %q, got %s on %q (%s)", what, code, field, e.Code, e.Field, e.Message)
	}
	if e.Message == "" {
		t.Errorf("%s: expected a message for a person, got none", what)
	}
}

func TestEntities(t *testing.T) {
	t.Parallel()
	var names []string
	for _, s := range schema.Entities() {
		names = append(names, s.Name)
		byPath, ok := schema.EntityByPath(s.Path)
		if !ok || byPath != s {
			t.Errorf("EntityByPath(%q): expected %s, got %v", s.Path, s.Name, byPath)
		}
		if _, ok := s.Fields["id"]; ok {
			t.Errorf("%s: expected id to be the envelope's, not a field", s.Name)
		}
	}
	want := "amendment case conflict enquiry flag household_member oversight referral safety_assessment visit"
	if got := strings.Join(names, " "); got != want {
		t.Errorf("Entities: expected %s, got %s", want, got)
	}
	if _, ok := schema.Entity("nope"); ok {
		t.Error(`Entity("nope"): expected none, got a spec`)
	}
}

func TestValidateFields(t *testing.T) {
	t.Parallel()
	long := func(n int, s string) string { return `"` + strings.Repeat(s, n) + `"` }
	tests := []struct {
		name, entity string
		fields       F
		code, field  string
	}{
		{"valid case fields", "case", F{"crn": `"X123456"`, "rosh": `"high"`, "date_of_birth": `"1990-01-31"`, "no_fixed_abode": "false"}, "", ""},
		{"empty map", "visit", F{}, "", ""},
		{"unknown field", "case", F{"shoe_size": `"10"`}, schema.ECodeUnknownField, "shoe_size"},
		{"id is identity", "case", F{"id": `"x"`}, schema.ECodeInvalid, "id"},
		{"case_id is identity", "visit", F{"case_id": `"x"`}, schema.ECodeInvalid, "case_id"},
		{"string given a number", "case", F{"given_name": "12"}, schema.ECodeWrongType, "given_name"},
		{"bool given a string", "visit", F{"face_to_face": `"yes"`}, schema.ECodeWrongType, "face_to_face"},
		{"int given a string", "household_member", F{"age": `"ten"`}, schema.ECodeWrongType, "age"},
		{"int given a fraction", "household_member", F{"age": `10.5`}, schema.ECodeWrongType, "age"},
		{"list given a string", "visit", F{"observations": `"fear"`}, schema.ECodeWrongType, "observations"},
		{"object list with unknown key", "visit", F{"children": `[{"member_id":"m","present":"yes","seen":"yes","shoe":1}]`}, schema.ECodeWrongType, "children"},
		{"date given a number", "case", F{"date_of_birth": `19900131`}, schema.ECodeWrongType, "date_of_birth"},
		{"enum", "case", F{"rosh": `"severe"`}, schema.ECodeInvalid, "rosh"},
		{"enum is case-sensitive", "case", F{"rosh": `"High"`}, schema.ECodeInvalid, "rosh"},
		{"optional enum empty", "case", F{"mappa_category": `""`}, "", ""},
		{"required enum empty", "visit", F{"status": `""`}, schema.ECodeInvalid, "status"},
		{"enum list", "visit", F{"observations": `["fear","ghosts"]`}, schema.ECodeInvalid, "observations"},
		{"enum list fine", "visit", F{"actions": `["police_informed","manager_informed"]`}, "", ""},
		{"max length", "case", F{"crn": `"X1234567"`}, schema.ECodeInvalid, "crn"},
		{"max length in characters", "household_member", F{"name": long(200, "é")}, "", ""},
		{"max length over in characters", "household_member", F{"name": long(201, "é")}, schema.ECodeInvalid, "name"},
		{"default max 500", "referral", F{"identified_by": long(65, "x")}, schema.ECodeInvalid, "identified_by"},
		{"bad date", "case", F{"date_of_birth": `"31/01/1990"`}, schema.ECodeInvalid, "date_of_birth"},
		{"impossible date", "case", F{"supervision_start": `"2026-02-30"`}, schema.ECodeInvalid, "supervision_start"},
		{"empty optional date", "case", F{"rosh_date": `""`}, "", ""},
		{"bad timestamp", "visit", F{"signed_at": `"yesterday"`}, schema.ECodeInvalid, "signed_at"},
		{"timestamp without zone", "visit", F{"started_at": `"2026-11-20T14:02:11"`}, schema.ECodeInvalid, "started_at"},
		{"good timestamp", "visit", F{"started_at": `"2026-11-20T14:02:11.5+01:00"`}, "", ""},
		{"null clears optional", "case", F{"address": `null`}, "", ""},
		{"null cannot clear required", "case", F{"crn": `null`}, schema.ECodeRequired, "crn"},
		{"age below 0", "household_member", F{"age": `-1`}, schema.ECodeInvalid, "age"},
		{"age above 200", "household_member", F{"age": `201`}, schema.ECodeInvalid, "age"},
		{"child entry checked", "visit", F{"children": `[{"member_id":"m","present":"yes","seen":"yes"},{"present":"yes","seen":"no"}]`}, schema.ECodeRequired, "children[1].member_id"},
		{"child entry enum", "visit", F{"children": `[{"member_id":"m","present":"maybe","seen":"yes"}]`}, schema.ECodeInvalid, "children[0].present"},
		{"too many children", "visit", F{"children": `[` + strings.TrimSuffix(strings.Repeat(`{"member_id":"m","present":"yes","seen":"yes"},`, 51), ",") + `]`}, schema.ECodeInvalid, "children"},
		{"first bad field by name", "case", F{"rosh": `"x"`, "crn": `"X12345678"`}, schema.ECodeInvalid, "crn"},
		{"malformed JSON value", "case", F{"crn": `"X12`}, schema.ECodeWrongType, "crn"},
		// PostgreSQL's jsonb holds neither a NUL nor half a surrogate pair.
		{"NUL in text", "visit", F{"action_notes": `"nul\u0000byte"`}, schema.ECodeInvalid, "action_notes"},
		{"NUL in a list", "visit", F{"actions": `["police_informed\u0000"]`}, schema.ECodeInvalid, "actions"},
		{"NUL in a child entry", "visit", F{"children": `[{"member_id":"m\u0000","present":"yes","seen":"yes"}]`}, schema.ECodeInvalid, "children"},
		{"lone high surrogate", "visit", F{"action_notes": `"a\ud83d"`}, schema.ECodeInvalid, "action_notes"},
		{"high surrogate then text", "visit", F{"action_notes": `"\ud83dx"`}, schema.ECodeInvalid, "action_notes"},
		{"lone low surrogate", "visit", F{"action_notes": `"\ude00 a"`}, schema.ECodeInvalid, "action_notes"},
		{"surrogate pair", "visit", F{"action_notes": `"smile \ud83d\ude00"`}, "", ""},
		{"escaped backslash before u0000", "visit", F{"action_notes": `"C:\\u0000 and \" \n \u00e9"`}, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := spec(t, tt.entity).ValidateFields(tt.fields.raw())
			wantErr(t, tt.entity+" "+tt.name, err, tt.code, tt.field)
		})
	}
}

func TestCheckCreate(t *testing.T) {
	t.Parallel()
	full := F{"relation": `"partner"`, "residence": `"lives_here"`, "name": `"Sam"`}
	tests := []struct {
		name        string
		entity      string
		fields      F
		code, field string
	}{
		{"all required present", "household_member", full, "", ""},
		{"missing", "household_member", F{"relation": `"partner"`}, schema.ECodeRequired, "residence"},
		{"empty string", "household_member", F{"relation": `""`, "residence": `"visits"`}, schema.ECodeRequired, "relation"},
		{"null", "household_member", F{"relation": `null`, "residence": `"visits"`}, schema.ECodeRequired, "relation"},
		{"empty list", "amendment", F{"visit_id": `"v"`, "reason": `"r"`, "changes": `{}`, "amended_by": `"u"`, "amended_at": `"2026-01-01T00:00:00Z"`}, schema.ECodeRequired, "changes"},
		{"first in struct order", "case", F{}, schema.ECodeRequired, "crn"},
		{"visit needs status", "visit", F{"type": `"phone"`}, schema.ECodeRequired, "status"},
		{"no required fields", "enquiry", F{"agency": `"police"`, "stage": `"review"`}, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantErr(t, tt.name, spec(t, tt.entity).CheckCreate(tt.fields.raw()), tt.code, tt.field)
		})
	}
}

func TestCheckWriter(t *testing.T) {
	t.Parallel()
	const (
		officer    = schema.RoleOfficer
		supervisor = schema.RoleSupervisor
		admin      = schema.RoleAdmin
		auditor    = schema.RoleAuditor
	)
	tests := []struct {
		name        string
		entity      string
		role        schema.Role
		fields      F
		creating    bool
		code, field string
	}{
		{"officer creates a visit", "visit", officer, F{"status": `"draft"`}, true, "", ""},
		{"officer edits a visit", "visit", officer, F{"outcome": `"completed"`}, false, "", ""},
		{"officer creates a household member", "household_member", officer, F{"relation": `"partner"`}, true, "", ""},
		{"officer cannot create a case", "case", officer, F{"crn": `"X123456"`}, true, schema.ECodeForbidden, "entity"},
		{"officer cannot create a flag", "flag", officer, F{"type": `"marac"`}, true, schema.ECodeForbidden, "entity"},
		{"officer cannot create an oversight", "oversight", officer, F{"decision": `"approved"`}, true, schema.ECodeForbidden, "entity"},
		{"officer edits a case address", "case", officer, F{"address": `"1 New Row"`, "no_fixed_abode": "false"}, false, "", ""},
		{"officer cannot change rosh", "case", officer, F{"address": `"1 New Row"`, "rosh": `"low"`}, false, schema.ECodeForbidden, "rosh"},
		{"officer cannot change a flag type", "flag", officer, F{"type": `"marac"`}, false, schema.ECodeForbidden, "type"},
		{"officer reviews a flag", "flag", officer, F{"last_reviewed": `"2026-01-01"`, "notes": `"ok"`}, false, "", ""},
		{"officer cannot decide an assessment", "safety_assessment", officer, F{"decision": `"approved"`}, false, schema.ECodeForbidden, "decision"},
		{"officer cannot create an assessment already decided", "safety_assessment", officer, F{"address": `"1 Row"`, "decision": `"approved"`}, true, schema.ECodeForbidden, "decision"},
		{"officer creates an assessment with empty admin fields", "safety_assessment", officer, F{"address": `"1 Row"`, "decision": `""`, "decided_by": `null`}, true, "", ""},
		{"supervisor decides an assessment", "safety_assessment", supervisor, F{"decision": `"approved"`}, false, "", ""},
		{"supervisor creates a case", "case", supervisor, F{"crn": `"X123456"`}, true, "", ""},
		{"supervisor changes rosh", "case", supervisor, F{"rosh": `"low"`}, false, "", ""},
		{"admin creates a flag", "flag", admin, F{"type": `"marac"`}, true, "", ""},
		{"auditor cannot write", "visit", auditor, F{"outcome": `"completed"`}, false, schema.ECodeForbidden, ""},
		{"auditor cannot create", "visit", auditor, F{"status": `"draft"`}, true, schema.ECodeForbidden, ""},
		{"officer resolves a conflict", "conflict", officer, F{"status": `"resolved"`, "resolution": `"kept mine"`}, false, "", ""},
		{"officer cannot create a conflict", "conflict", officer, F{"status": `"open"`}, true, schema.ECodeForbidden, "entity"},
		{"server-only field (officer)", "conflict", officer, F{"status": `"resolved"`, "winning_value": `"x"`}, false, schema.ECodeForbidden, "winning_value"},
		{"server-only field (admin)", "conflict", admin, F{"field": `"x"`}, true, schema.ECodeForbidden, "field"},
		{"unknown fields are ValidateFields' business", "visit", officer, F{"shoe": `1`}, false, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := spec(t, tt.entity).CheckWriter(tt.role, tt.fields.raw(), tt.creating)
			wantErr(t, tt.name, err, tt.code, tt.field)
		})
	}
}

func TestServerOnlyFields(t *testing.T) {
	t.Parallel()
	// Every field of a conflict is the server's; the tag makes it so.
	s := spec(t, "conflict")
	for _, name := range []string{"record_entity", "record_id", "field", "reason", "losing_value", "winning_value"} {
		if !s.Fields[name].ServerOnly {
			t.Errorf("conflict.%s: expected server-only, got writable", name)
		}
	}
	if s.Fields["status"].ServerOnly || s.Fields["resolution"].ServerOnly {
		t.Error("conflict status and resolution: expected writable by people, got server-only")
	}
	if s.OfficerCreates {
		t.Error("conflict: expected only the server to create them, got OfficerCreates")
	}
}

func TestSigned(t *testing.T) {
	t.Parallel()
	tests := []struct {
		entity string
		fields F
		want   bool
	}{
		{"visit", F{"status": `"signed"`, "signed_at": `"2026-11-20T14:02:11Z"`}, true},
		{"visit", F{"status": `"signed"`}, false}, // the sign field decides, not the status
		{"visit", F{"signed_at": `""`}, false},
		{"visit", F{"signed_at": `null`}, false},
		{"amendment", F{"amended_at": `"2026-11-20T14:02:11Z"`}, true},
		{"case", F{"crn": `"X123456"`, "signed_at": `"2026-11-20T14:02:11Z"`}, false}, // cases have no sign field
	}
	for _, tt := range tests {
		s := spec(t, tt.entity)
		if got := s.IsSigned(tt.fields.raw()); got != tt.want {
			t.Errorf("%s IsSigned(%v): expected %v, got %v", tt.entity, tt.fields, tt.want, got)
		}
		r := schema.Record{Entity: tt.entity, Fields: tt.fields.raw()}
		if got := r.Signed(); got != tt.want {
			t.Errorf("Record{%s %v}.Signed: expected %v, got %v", tt.entity, tt.fields, tt.want, got)
		}
	}
	if (schema.Record{Entity: "nope", Fields: F{"signed_at": `"x"`}.raw()}).Signed() {
		t.Error("a record of an unknown entity: expected not signed, got signed")
	}
}

func TestEntityValidateCrossField(t *testing.T) {
	t.Parallel()
	hm := spec(t, "household_member")
	wantErr(t, "member with neither name nor description", hm.Validate("id", "case", F{"relation": `"partner"`}.raw()), schema.ECodeRequired, "name")
	wantErr(t, "member with a description", hm.Validate("id", "case", F{"description": `"a man"`}.raw()), "", "")
	c := spec(t, "case")
	wantErr(t, "case with a bad CRN", c.Validate("id", "id", F{"crn": `"123"`, "address": `"x"`}.raw()), schema.ECodeInvalid, "crn")
	wantErr(t, "case without address", c.Validate("id", "id", F{"crn": `"X123456"`}.raw()), schema.ECodeRequired, "address")
	wantErr(t, "case of no fixed abode", c.Validate("id", "id", F{"crn": `"X123456"`, "no_fixed_abode": "true"}.raw()), "", "")
	wantErr(t, "fields that do not decode", c.Validate("id", "id", F{"crn": `12`}.raw()), schema.ECodeMalformed, "")
	wantErr(t, "entity without rules", spec(t, "enquiry").Validate("id", "c", F{}.raw()), "", "")
}

func TestFieldsOfRoundTrip(t *testing.T) {
	t.Parallel()
	v := schema.Visit{ID: "v1", CaseID: "c1", Status: "signed", Type: "home_announced",
		Children: []schema.VisitChild{{MemberID: "m1", Present: "yes", Seen: "yes"}}, Actions: []string{"police_informed"}}
	f := schema.FieldsOf(v)
	if _, ok := f["id"]; ok {
		t.Error("FieldsOf: expected no id field")
	}
	if _, ok := f["case_id"]; ok {
		t.Error("FieldsOf: expected no case_id field")
	}
	s := spec(t, "visit")
	if len(f) != len(s.Fields) {
		t.Errorf("FieldsOf: expected %d fields (every field), got %d", len(s.Fields), len(f))
	}
	if err := s.ValidateFields(f); err != nil {
		t.Errorf("ValidateFields(FieldsOf(valid visit)): expected no error, got %v", err)
	}
	var back schema.Visit
	if err := (schema.Record{Entity: "visit", ID: "v1", CaseID: "c1", Fields: f}).Decode(&back); err != nil {
		t.Fatal(err)
	}
	if back.ID != "v1" || back.CaseID != "c1" || back.Children[0].MemberID != "m1" || back.Actions[0] != "police_informed" {
		t.Errorf("Decode(FieldsOf(v)): expected %+v, got %+v", v, back)
	}
}

// FuzzValidateFields: no field map, however odd, makes validation panic.
func FuzzValidateFields(f *testing.F) {
	for _, s := range []string{
		`{}`, `{"crn":"X123456"}`, `{"children":[{"member_id":"m","present":"yes","seen":"no"}]}`,
		`{"age":1e309}`, `{"changes":{"outcome":"x"}}`, `{"date_of_birth":null,"signed_at":""}`,
		`{"observations":[1,2]}`, `{"children":[null]}`, `{"id":1}`, `{"age":-0}`,
	} {
		f.Add(s)
	}
	specs := schema.Entities()
	f.Fuzz(func(t *testing.T, body string) {
		var fields map[string]json.RawMessage
		if json.Unmarshal([]byte(body), &fields) != nil {
			return
		}
		for _, s := range specs {
			err := s.ValidateFields(fields)
			if err != nil && schema.AsError(err) == nil {
				t.Errorf("%s ValidateFields(%s): expected a *schema.Error, got %T %v", s.Name, body, err, err)
			}
			_ = s.CheckCreate(fields)
			_ = s.CheckWriter(schema.RoleOfficer, fields, true)
			_ = s.IsSigned(fields)
			if err == nil {
				_ = s.Validate("id", "case", fields)
			}
		}
	})
}

func TestOversightAspect(t *testing.T) {
	t.Parallel()
	o := spec(t, "oversight")
	base := func(extra F) map[string]json.RawMessage {
		f := F{"subject_entity": `"case"`, "subject_id": `"c"`}
		for k, v := range extra {
			f[k] = v
		}
		return f.raw()
	}
	for _, tc := range []struct {
		name        string
		fields      F
		code, field string
	}{
		{"an old record: no aspect", F{"subject_entity": `"visit"`, "decision": `"approved"`}, "", ""},
		{"general aspect", F{"aspect": `"general"`, "decision": `"noted"`}, "", ""},
		{"rated sufficient", F{"aspect": `"da_risk_assessment"`, "decision": `"sufficient"`}, "", ""},
		{"rated insufficient with a reason", F{"aspect": `"da_risk_assessment"`, "decision": `"insufficient"`, "reason": `"no police check"`}, "", ""},
		{"insufficient without a reason", F{"aspect": `"da_risk_assessment"`, "decision": `"insufficient"`, "reason": `" "`}, schema.ECodeRequired, "reason"},
		{"sufficient without the aspect", F{"decision": `"sufficient"`}, schema.ECodeInvalid, "decision"},
		{"sufficient on a visit", F{"subject_entity": `"visit"`, "aspect": `"general"`, "decision": `"sufficient"`}, schema.ECodeInvalid, "decision"},
		{"the aspect on a visit", F{"subject_entity": `"visit"`, "aspect": `"da_risk_assessment"`, "decision": `"sufficient"`}, schema.ECodeInvalid, "aspect"},
		{"the aspect with approved", F{"aspect": `"da_risk_assessment"`, "decision": `"approved"`}, schema.ECodeInvalid, "decision"},
	} {
		wantErr(t, tc.name, o.Validate("id", "c", base(tc.fields)), tc.code, tc.field)
	}
	wantErr(t, "unknown aspect", o.ValidateFields(F{"aspect": `"thoroughness"`}.raw()), schema.ECodeInvalid, "aspect")
	wantErr(t, "known aspect", o.ValidateFields(F{"aspect": `"da_risk_assessment"`, "decision": `"insufficient"`}.raw()), "", "")
}

// StampPeople writes the caller into the fields that name who made a
// record or a decision, and refuses another's name.
func TestStampPeople(t *testing.T) {
	t.Parallel()
	spec, _ := schema.Entity("safety_assessment")
	in := map[string]json.RawMessage{"address": json.RawMessage(`"1 Row"`), "decided_by": json.RawMessage(`null`)}
	out, stamped, err := spec.StampPeople("u1", in, true)
	if err != nil || !stamped || string(out["assessed_by"]) != `"u1"` || out["decided_by"] != nil && string(out["decided_by"]) != "null" {
		t.Errorf("create = %s, %v, %v; want assessed_by u1 and no decider", out, stamped, err)
	}
	if _, ok := in["assessed_by"]; ok {
		t.Errorf("StampPeople changed its argument: %s", in)
	}
	out, stamped, err = spec.StampPeople("u2", map[string]json.RawMessage{"decision": json.RawMessage(`"approved"`)}, false)
	if err != nil || !stamped || string(out["decided_by"]) != `"u2"` || out["assessed_by"] != nil {
		t.Errorf("decision = %s, %v, %v; want decided_by u2 only", out, stamped, err)
	}
	if _, stamped, err = spec.StampPeople("u2", map[string]json.RawMessage{"notes": json.RawMessage(`"dog"`)}, false); err != nil || stamped {
		t.Errorf("a change of notes stamped someone (%v, %v)", stamped, err)
	}
	_, _, err = spec.StampPeople("u2", map[string]json.RawMessage{"decision": json.RawMessage(`"approved"`), "decided_by": json.RawMessage(`"u1"`)}, false)
	if e := schema.AsError(err); e == nil || e.Code != schema.ECodeInvalid || e.Field != "decided_by" {
		t.Errorf("deciding in another's name = %v, want invalid decided_by", err)
	}
}

// A list of strings has at most schema.MaxListEntries entries, as a list of
// objects has: a visit with 110,000 observations was stored (issue 11,
// defect 8).
func TestStringListsAreCapped(t *testing.T) {
	t.Parallel()
	spec, _ := schema.Entity("visit")
	list := func(n int) map[string]json.RawMessage {
		b, _ := json.Marshal(slicesRepeat("fear", n))
		return map[string]json.RawMessage{"observations": b}
	}
	if err := spec.ValidateFields(list(schema.MaxListEntries)); err != nil {
		t.Errorf("%d observations: %v, want accepted", schema.MaxListEntries, err)
	}
	err := spec.ValidateFields(list(schema.MaxListEntries + 1))
	if e := schema.AsError(err); e == nil || e.Code != schema.ECodeInvalid || e.Field != "observations" {
		t.Errorf("%d observations: %v, want invalid observations", schema.MaxListEntries+1, err)
	}
}

func slicesRepeat(s string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = s
	}
	return out
}

func TestCheckPast(t *testing.T) {
	t.Parallel()
	const today = schema.Date("2026-11-23")
	tests := []struct {
		name, entity string
		fields       F
		code, field  string
	}{
		{"born today", "household_member", F{"date_of_birth": `"2026-11-23"`}, "", ""},
		{"born yesterday", "household_member", F{"date_of_birth": `"2026-11-22"`}, "", ""},
		{"born tomorrow", "household_member", F{"date_of_birth": `"2026-11-24"`}, schema.ECodeInvalid, "date_of_birth"},
		{"born in 2099", "household_member", F{"date_of_birth": `"2099-01-01"`}, schema.ECodeInvalid, "date_of_birth"},
		{"cleared", "household_member", F{"date_of_birth": `null`}, "", ""},
		{"a case's date of birth", "case", F{"date_of_birth": `"2030-05-01"`}, schema.ECodeInvalid, "date_of_birth"},
		{"another date may be in the future", "flag", F{"next_review_date": `"2030-05-01"`}, "", ""},
		{"not a date: left to ValidateFields", "household_member", F{"date_of_birth": `"soon"`}, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := spec(t, tt.entity).CheckPast(tt.fields.raw(), today)
			wantErr(t, tt.name, err, tt.code, tt.field)
			if err != nil && !strings.Contains(err.Error(), "cannot be in the future") {
				t.Errorf("want a message saying the date is in the future, got %v", err)
			}
		})
	}
	if got := schema.LatestToday(time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)); got != "2026-11-24" {
		t.Errorf("LatestToday at 10:00 UTC: want 2026-11-24 (already tomorrow at UTC+14), got %s", got)
	}
}

func TestProblemsListsEveryProblemAtOnce(t *testing.T) {
	t.Parallel()
	const today = schema.Date("2026-11-23")
	fields := func(p []*schema.Error) []string {
		var out []string
		for _, e := range p {
			out = append(out, e.Field+":"+e.Code)
		}
		return out
	}
	tests := []struct {
		name     string
		fields   F
		existing F
		creating bool
		want     []string
	}{
		{"a relation only", F{"relation": `"partner"`}, nil, true,
			[]string{"residence:required", "name:required"}},
		{"bad values and a future date", F{"relation": `"aunt"`, "residence": `"lives_here"`, "name": `"Kim"`, "date_of_birth": `"2027-01-01"`, "age": `-3`}, nil, true,
			[]string{"relation:invalid", "date_of_birth:invalid", "age:invalid"}},
		{"nothing wrong", F{"relation": `"partner"`, "residence": `"lives_here"`, "name": `"Kim"`}, nil, true, nil},
		{"a change: required fields are the stored ones", F{"name": `null`}, F{"relation": `"partner"`, "residence": `"lives_here"`, "name": `"Kim"`}, false,
			[]string{"name:required"}},
		{"an unknown field", F{"shoe_size": `9`, "relation": `"partner"`}, nil, true,
			[]string{"shoe_size:unknown_field", "residence:required", "name:required"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := fields(spec(t, "household_member").Problems("", "", tt.fields.raw(), tt.existing.raw(), tt.creating, today))
			if strings.Join(got, " ") != strings.Join(tt.want, " ") {
				t.Errorf("want the problems %v, got %v", tt.want, got)
			}
		})
	}
}
