package compliance

import (
	"fmt"
	"reflect"
	"testing"
	"time"

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
// id among the fields (even empty), invalid UTF-8, nulls, malformed JSON, a value of
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
		`{"id":"","status":"signed"}`,
		`{"case_id":""}`,
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

// visitSeeds are visits' stored fields for TestDecodeVisitSameAsDecode and
// FuzzDecodeVisit: of the forms decodeVisit reads itself, and of those it
// leaves to decode.
var visitSeeds = []string{
	`{"ended_at":"2024-11-27T13:20:00Z","face_to_face":false,"officer_id":"u-1","outcome":"completed","planned_at":"2024-11-27T12:11:00Z","planned_type":"phone","safeguarding_concern":false,"signed_at":"2024-11-27T13:42:00Z","signed_by":"u-1","started_at":"2024-11-27T12:11:00Z","status":"signed","type":"phone"}`,
	`{"actions":["police_informed","marac_referral"],"children":[{"member_id":"m-1","present":"yes","seen":"yes","spoken_to":"no"},{"member_id":"m-2","present":"no","reason_not_seen":"at school"},{}],"children_present":"yes","face_to_face":true,"observations":[],"status":"draft"}`,
	`{"observation_notes":"caf` + "\u00e9 \u2028" + ` \u2028 ok","action_notes":"","next_visit_on":"2026-01-02","outcome_reason":"x","place_type":"cafe","elsewhere_reason":"y","location":"elsewhere","person_seen":"yes","partner_present":"yes","partner_seen_alone":"no","partner_concerns":"z","others_present":"a","no_action_reason":"b"}`,
	`{}`,
	`{"children":[],"actions":[]}`,
	`{"status":"signed","status":"draft"}`,
	`{"children":[{"member_id":"m-1","member_id":"m-2"}]}`,
	`{"children":[{"name":"A"}]}`,
	`{"children":{"member_id":"m-1"}}`,
	`{"children":null}`,
	`{"status":null}`,
	`{"face_to_face":"yes"}`,
	`{"face_to_face":1}`,
	`{"face_to_face":tru}`,
	`{"observations":["fear",1]}`,
	`{"observations":"fear"}`,
	`{"id":"v-2","status":"signed"}`,
	`{"id":""}`,
	`{"id":"v-1"}`,
	"{\"type\":\"home_announced\",\"observation_notes\":\"caf\u00e9 \u2028 \U0001F600\"}",
	`{"case_id":"c-2"}`,
	`{"Status":"signed"}`,
	`{"shoe_size":42}`,
	`{"status":"sig\"ned"}`,
	`{"status":"sig\u006eed"}`,
	"{\"status\":\"caf\xe9\"}",
	"{\"status\":\"a\tb\"}",
	` {"status":"signed"}`,
	`{ "status":"signed"}`,
	`{"status" : "signed"}`,
	`{"status":"signed",}`,
	`{"status":"signed"}x`,
	`{"status":"signed"`,
	`{"status":"signed"}}`,
	`{"status"}`,
	`[]`,
	`""`,
	``,
	`{"children":[{"member_id":"m-1"},]}`,
	`{"observations":["a",]}`,
}

// TestDecodeVisitSameAsDecode: decodeVisit gives what decode and
// schema.RawRecord.Decode give, value and error, for every visit of a
// synthetic service and for the seeds (FuzzDecodeVisit runs them too), and
// it reads the synthetic service's visits itself (not through decode).
func TestDecodeVisitSameAsDecode(t *testing.T) {
	t.Parallel()
	ds := synth.Generate(synth.Options{Teams: 1, OfficersPerTeam: 2, CasesPerOfficer: 10, HistoryDays: 400, Seed: 7})
	n, own := 0, 0
	for _, rec := range ds.Records {
		if rec.Entity != "visit" {
			continue
		}
		r, err := rec.Raw()
		if err != nil {
			t.Fatal(err)
		}
		n++
		var v schema.Visit
		if visitFields(r.Fields, &v, &stringArena{}) {
			own++
		}
		decodeVisitBoth(t, r)
	}
	if n < 100 || own != n {
		t.Errorf("decodeVisit read %d of the synthetic service's %d visits itself, want all (and more than 100)", own, n)
	}
	for _, f := range visitSeeds {
		decodeVisitBoth(t, schema.RawRecord{Entity: "visit", ID: "v-1", CaseID: "c-1", Fields: []byte(f)})
	}
}

// decodeVisitBoth fails unless decodeVisit, decode and schema's Decode
// give r the same visit and the same error.
func decodeVisitBoth(t *testing.T, r schema.RawRecord) {
	t.Helper()
	var fast, mid, slow schema.Visit
	ferr := decodeVisit(r, &fast, &stringArena{})
	merr := decode(r, &mid, func(v *schema.Visit) (*string, *string) { return &v.ID, &v.CaseID })
	serr := r.Decode(&slow)
	if fmt.Sprint(ferr) != fmt.Sprint(serr) || fmt.Sprint(merr) != fmt.Sprint(serr) {
		t.Errorf("%s: decodeVisit error %v, decode's %v, schema's %v", r.Fields, ferr, merr, serr)
	}
	if !reflect.DeepEqual(fast, slow) || !reflect.DeepEqual(mid, slow) {
		t.Errorf("%s:\ndecodeVisit %+v\ndecode      %+v\nschema      %+v", r.Fields, fast, mid, slow)
	}
}

// FuzzDecodeVisit: for any stored fields, decodeVisit gives the visit and
// the error schema's Decode gives.
func FuzzDecodeVisit(f *testing.F) {
	for _, s := range visitSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, fields []byte) {
		decodeVisitBoth(t, schema.RawRecord{Entity: "visit", ID: "v-1", CaseID: "c-1", Fields: fields})
	})
}

// TestVisitDayAsFormatted: visitDay gives the day time.Format gives of
// the time time.Parse reads, for timestamps it reads and those it does
// not.
func TestVisitDayAsFormatted(t *testing.T) {
	t.Parallel()
	stamps := []string{"2026-11-23T10:00:00Z", "2026-11-23T23:30:00-05:00", "2026-11-24T00:30:00+14:00",
		"2026-02-28T12:00:00.123456789+01:00", "0001-01-01T00:00:00Z", "9999-12-31T23:59:59.9Z", "2024-02-29T00:00:00Z",
		"2026-02-29T00:00:00Z", "2026-11-23", "2026-11-23T10:00:00", "2026-11-23 10:00:00Z", "26-11-23T10:00:00Z",
		"+2026-11-23T10:00:00Z", "2026-11-23T24:00:00Z", "2026-11-23t10:00:00z", " 2026-11-23T10:00:00Z", "", "x"}
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 2000 { // every hour of many days, in offsets from -12 to +14 hours
		at := base.Add(time.Duration(i*37) * time.Hour).In(time.FixedZone("", (i%27-12)*3600))
		stamps = append(stamps, at.Format(time.RFC3339Nano))
	}
	for _, s := range stamps {
		want, wantOK := schema.Date(""), false
		if at, err := time.Parse(time.RFC3339Nano, s); err == nil {
			want, wantOK = schema.Date(at.Format(time.DateOnly)), true
		}
		if got, ok := visitDay(schema.Timestamp(s)); got != want || ok != wantOK {
			t.Errorf("visitDay(%q) = %q %v, want %q %v", s, got, ok, want, wantOK)
		}
	}
}
