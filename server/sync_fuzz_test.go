package server

import (
	"encoding/json"
	"reflect"
	"testing"

	"doorstep/schema"
)

// FuzzDecodePush: any push body decodes to an error naming what is wrong,
// or to mutations and rejections that together account for every
// mutation of the request, each once, in order; never a panic.
func FuzzDecodePush(f *testing.F) {
	for _, s := range []string{
		`{"mutations": []}`,
		`{"mutations": [{"id": "m1", "entity": "visit", "record_id": "r1", "case_id": "c1", "fields": {"status": "planned"}, "clock": "0000000000001000-0000-dev"}], "cursor": "x"}`,
		`{"mutations": [{"id": "m1", "fields": 5}, {"id": "m2", "entity": "visit"}]}`,
		`{"mutations": [7, "x", null, {"id": ["m"]}]}`,
		`{"mutations": 5}`,
		`{"mutations": [`,
		``,
		`[]`,
		`{"mutations": [{"id": "m1", "clock": "not a clock"}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		d, err := decodePush(body)
		if err != nil {
			if e := schema.AsError(err); e == nil || e.Code == "" || e.Message == "" {
				t.Fatalf("decodePush(%q) = %v, want a schema.Error with a code and a message", body, err)
			}
			return
		}
		if d.at == nil {
			var whole schema.PushRequest
			if json.Unmarshal(body, &whole) != nil || len(whole.Mutations) != len(d.muts) {
				t.Fatalf("decodePush(%q) decoded %d mutations in one pass, which json does not", body, len(d.muts))
			}
			return
		}
		if len(d.at) != len(d.muts) {
			t.Fatalf("%d places for %d mutations", len(d.at), len(d.muts))
		}
		placed := map[int]bool{}
		for k, i := range d.at {
			if i < 0 || i >= len(d.results) || (k > 0 && i <= d.at[k-1]) {
				t.Fatalf("place %d of mutation %d out of order or range (%d results)", i, k, len(d.results))
			}
			placed[i] = true
		}
		for i, r := range d.results {
			if placed[i] {
				continue
			}
			if r.Status != schema.StatusRejected || r.Error == nil || r.Error.Code == "" {
				t.Fatalf("mutation %d neither decoded nor rejected with an error: %+v", i, r)
			}
		}
	})
}

// pushBodies are push bodies for fastPush to read as encoding/json does,
// or to leave to it.
var pushBodies = []string{
	`{"mutations": [{"id": "m1", "entity": "visit", "record_id": "r1", "case_id": "c1", "fields": {"status": "planned", "notes": "a \"b\" \u00e9 Ã©", "n": [1, {"a": null}], "x": null}, "clock": "0000000000001000-0000-dev", "device_time": "2026-11-23T09:00:00.5+01:00"}], "cursor": "x"}`,
	`{"mutations":[{"id":"m1","fields":{"a":1,"a":2},"device_signature":{"key_id":"k","signature":"s"},"sealed":"abc","other":[1,2]}],"extra":{"y":1}}`,
	`{"mutations": [{"id": "m1", "Fields": {"a": 1}}]}`,
	`{"Mutations": []}`,
	`{"mutations": [{"id": "m1", "fields": {"a": 1}, "fields": {"b": 2}}]}`,
	`{"mutations": [{"id": "m1", "fields": null, "clock": null, "device_time": null, "device_signature": null, "id": null}]}`,
	`{"mutations": [{"id": null, "fields": null, "clock": null, "device_time": null, "device_signature": null}]}`,
	`{"mutations": null, "cursor": null}`,
	`{"mutations": [{"id": 5}]}`,
	`{"mutations": [{"id": "m1", "device_time": "yesterday"}]}`,
	`{"mutations": [{"id": "m1", "clock": 5}]}`,
	`{"mutations": [{"id": "\ud800", "fields": {"\u0061": "\ud800", "b\n": 1}}]}`,
	` { "mutations" : [ { "id" : "m1" , "fields" : { "a" : [ 1 , 2 ] } } ] , "cursor" : "" } `,
	`{"mutations": [{}], "cursor": "c", "cursor": "d"}`,
	`{"mutations": [{"id": "m1"}]} x`,
}

// TestFastPushMatchesEncodingJSON: what fastPush decodes is what
// json.Unmarshal decodes, and a tablet's ordinary batch takes the fast
// path.
func TestFastPushMatchesEncodingJSON(t *testing.T) {
	t.Parallel()
	for _, body := range pushBodies {
		checkFastPush(t, []byte(body))
	}
	muts := []schema.Mutation{{ID: schema.NewID(), Entity: "visit", RecordID: schema.NewID(), CaseID: schema.NewID(),
		Fields: map[string]json.RawMessage{"status": json.RawMessage(`"draft"`), "observations": json.RawMessage(`["fear"]`)},
		Clock:  schema.HLC{Wall: 1_700_000_000_000, Node: "dev-1"}}}
	body, err := json.Marshal(schema.PushRequest{Mutations: muts, Cursor: "abc"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fastPush(body); err != nil {
		t.Fatalf("fastPush of an ordinary batch: %v, want the fast path", err)
	}
	checkFastPush(t, body)
}

// FuzzFastPush: fastPush either leaves a body to encoding/json or
// decodes it exactly as json.Unmarshal does; never a panic.
func FuzzFastPush(f *testing.F) {
	for _, s := range pushBodies {
		f.Add([]byte(s))
	}
	f.Fuzz(checkFastPush)
}

func checkFastPush(t *testing.T, body []byte) {
	got, err := fastPush(body)
	if err != nil {
		if err != schema.ErrSlowJSON {
			t.Fatalf("fastPush(%q) = %v, want schema.ErrSlowJSON", body, err)
		}
		return
	}
	var want schema.PushRequest
	if err := json.Unmarshal(body, &want); err != nil {
		t.Fatalf("fastPush(%q) decoded what json.Unmarshal refuses: %v", body, err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("fastPush(%q) =\n%+v\njson.Unmarshal:\n%+v", body, got, want)
	}
}
