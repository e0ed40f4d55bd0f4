package syncer

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"doorstep/schema"
)

var pageSamples = []string{
	`{"records":[{"entity":"visit","id":"a","case_id":"c","fields":{"status":"signed","notes":"say \"hi\" \\ {[","n":[1,{"x":null}]},"version":3,"received_at":"2026-11-20T14:02:13.12Z","updated_at":"2026-11-20T14:05:40Z","device_time":"2026-11-20T13:58:01Z","created_by":"u","updated_by":"u","extra":{"a":[1,2]}}],"removed":[{"case_id":"c2","reason":"out_of_scope"}],"cursor":"c:1042","has_more":true,"server_time":"2026-11-23T10:00:05Z"}`,
	` { "records" : [ ] , "removed" : null , "cursor" : "", "has_more" : false , "server_time" : "2026-11-23T10:00:05.123456789+01:00" } `,
	`{"records":null,"cursor":"caf\u00e9 \ud83d\ude00","has_more":false,"server_time":"2026-11-23T10:00:05Z"}`,
	`{"records":[{"entity":"case","id":"x","fields":null,"version":null}],"cursor":"é","server_time":"2026-11-23T10:00:05Z"}`,
	`{"records":[{"entity":"case","id":"x","fields":{"a":tru}}],"cursor":"c"}`,
	`{"records":[{"entity":"case","id":"x","fields":{"a":1}}],"cursor":"c","x":tru}`,
	`{"records":[{"entity":"case","id":"x","fields":{"a":1}},],"cursor":"c"}`,
	`{"records":[{"entity":"case","id":"x","fields":{"a":1}}],"cursor":"c"} trailing`,
	`{"Records":[{"Entity":"case","ID":"x"}],"Cursor":"c"}`,
	`{"records":[{"entity":"case","id":"x","version":1.5}]}`,
	`{"people":[{"id":"u1","name":"Jo Bloggs","role":"supervisor"},{"id":"u2","name":"Zo\u00eb \"Z\" Ng","role":"officer"}],"people_tag":"p:ab12","records":[],"removed":[],"cursor":"c:9","has_more":false,"server_time":"2026-11-23T10:00:05Z"}`,
	`{"records":[],"cursor":"c:9","people":[],"people_tag":"p:00"}`,
	`{"records":[],"cursor":"c:9","people":null}`,
	`{"records":[],"cursor":"c:9","people":[{"id":1}]}`,
	`{"records":[],"cursor":"c:9","people_tag":7}`,
	`{"records":[],"cursor":"c:9","People_Tag":"p:1","PEOPLE":[{"ID":"u1"}]}`,
	// A member this build does not know yet is passed over, as an older
	// build passes over people and people_tag.
	`{"records":[],"cursor":"c:9","future":[{"id":"u1","name":"Jo"}],"future_tag":"f:1"}`,
	`[]`, `null`, `{`, `{"records":[{"entity":"case","id":"x"`,
}

// TestDecodePageAgreesWithEncodingJSON: the fast decoder and encoding/json
// give the same page, or both an error.
func TestDecodePageAgreesWithEncodingJSON(t *testing.T) {
	t.Parallel()
	for _, s := range pageSamples {
		checkPageDecode(t, []byte(s))
	}
}

func checkPageDecode(t *testing.T, b []byte) {
	t.Helper()
	var want, got pullPage
	wantErr := json.Unmarshal(b, &want)
	gotErr := decodePage(b, &got)
	if (wantErr == nil) != (gotErr == nil) {
		t.Fatalf("%s:\nencoding/json error %v, decodePage error %v", b, wantErr, gotErr)
	}
	if wantErr != nil {
		return
	}
	if len(want.Records) != len(got.Records) {
		t.Fatalf("%s:\nencoding/json %d records, decodePage %d", b, len(want.Records), len(got.Records))
	}
	for i := range want.Records {
		want.Records[i].Fields, got.Records[i].Fields = compact(want.Records[i].Fields), compact(got.Records[i].Fields)
	}
	if !reflect.DeepEqual(want, got) {
		t.Fatalf("%s:\nencoding/json %+v\ndecodePage    %+v", b, want, got)
	}
}

func compact(b json.RawMessage) json.RawMessage {
	if b == nil {
		return nil
	}
	var out []byte
	out, _ = json.Marshal(b)
	return out
}

func FuzzDecodePage(f *testing.F) {
	for _, s := range pageSamples {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) { checkPageDecode(t, b) })
}

// TestFastPageReadsTheServersPages: a page as the server writes it (and
// spaced out) is read by fastPage itself, each record where it stands
// (schema.EachMemberAt), not sent to encoding/json, and reads as
// encoding/json reads it; a page whose records array is not closed where
// it should be goes to encoding/json.
func TestFastPageReadsTheServersPages(t *testing.T) {
	t.Parallel()
	body := benchPage(3, strings.Repeat(`a "quoted" note \ `, 3))
	var spaced bytes.Buffer
	if err := json.Indent(&spaced, body, " ", "\t"); err != nil {
		t.Fatal(err)
	}
	for _, b := range [][]byte{body, spaced.Bytes(), []byte(`{"records":null,"cursor":"c","has_more":false}`),
		[]byte(`{"records":[],"removed":[],"cursor":"c"}`)} {
		var page pullPage
		if err := fastPage(b, &page); err != nil {
			t.Fatalf("fastPage(%s): %v, want it read without encoding/json", b, err)
		}
		checkPageDecode(t, b)
	}
	for _, b := range []string{`{"records":[{"entity":"visit","id":"a"}]]}`, `{"records":[{"entity":"visit","id":"a"},]}`,
		`{"records":[{"entity":"visit","id":"a"}}`, `{"records":nullx}`, `{"records":[{"entity":"visit","id":"a"}`, `{"records":`} {
		var page pullPage
		if err := fastPage([]byte(b), &page); err == nil {
			t.Errorf("fastPage(%s) read it; want encoding/json to", b)
		}
		checkPageDecode(t, []byte(b))
	}
}

// benchPage is a page of n visits of about 1 KB with the given notes, as
// the server writes it.
func benchPage(n int, notes string) []byte {
	resp := schema.PullResponse{Cursor: "c:1:2000", ServerTime: time.Now(), Removed: []schema.Removal{{CaseID: "c2", Reason: "out_of_scope"}}}
	for range n {
		resp.Records = append(resp.Records, schema.Record{Entity: "visit", ID: schema.NewID(), CaseID: "case", Version: 1,
			ReceivedAt: time.Now(), UpdatedAt: time.Now(), CreatedBy: "officer", UpdatedBy: "officer",
			Fields: map[string]json.RawMessage{"status": raw("signed"), "observation_notes": raw(notes),
				"started_at": raw("2026-11-20T13:58:01Z"), "signed_at": raw("2026-11-20T14:02:11Z"), "signed_by": raw("officer")}})
	}
	body, _ := json.Marshal(resp)
	return body
}

// BenchmarkDecodePage decodes a page of 2,000 visits of about 1 KB, as
// the initial pull's pages come.
func BenchmarkDecodePage(b *testing.B) {
	body := benchPage(2000, strings.Repeat("The officer saw the person at home and all was well. ", 12))
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		var page pullPage
		if err := decodePage(body, &page); err != nil {
			b.Fatal(err)
		}
	}
}
