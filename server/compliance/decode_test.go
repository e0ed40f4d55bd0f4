package compliance

import (
	"fmt"
	"reflect"
	"testing"

	"doorstep/schema"
	"doorstep/schema/synth"
)

// decodeBoth decodes r as Group does (decode) and as schema does
// (RawRecord.Decode) into a new T each, and fails unless both give the
// same value and the same error.
func decodeBoth[T any](t *testing.T, r schema.RawRecord, ids func(*T) (*string, *string)) {
	t.Helper()
	var fast, slow T
	ferr, serr := decode(r, &fast, ids), r.Decode(&slow)
	if fmt.Sprint(ferr) != fmt.Sprint(serr) {
		t.Errorf("%s %s %s: decode error %v, schema's %v", r.Entity, r.ID, r.Fields, ferr, serr)
	}
	if !reflect.DeepEqual(fast, slow) {
		t.Errorf("%s %s %s:\ndecode %+v\nschema %+v", r.Entity, r.ID, r.Fields, fast, slow)
	}
}

// decodeEach decodes r as its entity's type, both ways.
func decodeEach(t *testing.T, r schema.RawRecord) {
	t.Helper()
	switch r.Entity {
	case "case":
		decodeBoth(t, r, func(v *schema.Case) (*string, *string) { return &v.ID, &v.CaseID })
	case "flag":
		decodeBoth(t, r, func(v *schema.Flag) (*string, *string) { return &v.ID, &v.CaseID })
	case "household_member":
		decodeBoth(t, r, func(v *schema.HouseholdMember) (*string, *string) { return &v.ID, &v.CaseID })
	case "visit":
		decodeBoth(t, r, func(v *schema.Visit) (*string, *string) { return &v.ID, &v.CaseID })
	case "amendment":
		decodeBoth(t, r, func(v *schema.Amendment) (*string, *string) { return &v.ID, &v.CaseID })
	case "enquiry":
		decodeBoth(t, r, func(v *schema.Enquiry) (*string, *string) { return &v.ID, &v.CaseID })
	case "safety_assessment":
		decodeBoth(t, r, func(v *schema.SafetyAssessment) (*string, *string) { return &v.ID, &v.CaseID })
	case "referral":
		decodeBoth(t, r, func(v *schema.Referral) (*string, *string) { return &v.ID, &v.CaseID })
	}
}

// TestDecodeSameAsSchema: Group's decoding gives what schema.RawRecord's
// Decode gives, value and error, for every record of a synthetic service
// (each entity Group reads) and for stored fields the fast path leaves to
// encoding/json: a name in another case, a name twice, an unknown name,
// id among the fields, invalid UTF-8, nulls, malformed JSON, a value of
// another type, numbers an integer does not take.
func TestDecodeSameAsSchema(t *testing.T) {
	t.Parallel()
	ds := synth.Generate(synth.Options{Teams: 1, OfficersPerTeam: 2, CasesPerOfficer: 10, HistoryDays: 400, Seed: 7})
	// The synthetic service amends no visit: one amendment, its changes
	// spaced as a tablet may send them (kept as they came).
	raws := []schema.RawRecord{{Entity: "amendment", ID: "am-1", CaseID: "case-1", Fields: []byte(
		`{"visit_id":"v-1","reason":"typo","changes":{"outcome": "completed" ,"children":[ {"name":"A"} ]},"amended_by":"u-1","amended_at":"2026-01-02T10:00:00Z"}`)}}
	for _, rec := range ds.Records {
		r, err := rec.Raw()
		if err != nil {
			t.Fatal(err)
		}
		raws = append(raws, r)
	}
	seen := map[string]int{}
	for _, r := range raws {
		seen[r.Entity]++
		decodeEach(t, r)
	}
	for _, e := range Entities {
		if seen[e] == 0 {
			t.Errorf("the synthetic service has no %s to decode", e)
		}
	}
	odd := []string{
		`{"Status":"signed","signed_at":"2026-01-02T10:00:00Z"}`,
		`{"status":"draft","status":"signed"}`,
		`{"status":"signed","shoe_size":42}`,
		`{"id":"other","status":"signed"}`,
		`{"case_id":"other"}`,
		"{\"outcome_reason\":\"caf\xe9\"}",
		`{"status":null,"children":null,"observations":[],"face_to_face":null}`,
		`{"children":[{"name":"A"}],"observations":["fear"]}`,
		`  {"status":"signed"}  `,
		`{}`,
		`{"status":`,
		`[1,2]`,
		`"x"`,
		``,
		`{"face_to_face":"yes"}`,
		`{"children":{"name":"A"}}`,
	}
	for _, f := range odd {
		for _, e := range []string{"visit", "case", "amendment"} {
			decodeEach(t, schema.RawRecord{Entity: e, ID: "rec-1", CaseID: "case-1", Fields: []byte(f)})
		}
	}
	// Numbers: a household member's age is the one integer Group decodes.
	for _, f := range []string{`{"age":42}`, `{"age":-0}`, `{"age":1e2}`, `{"age":12.0}`, `{"age":"12"}`, `{"age":99999999999999999999}`, `{"age":null}`} {
		decodeEach(t, schema.RawRecord{Entity: "household_member", ID: "rec-1", CaseID: "case-1", Fields: []byte(f)})
	}
}
