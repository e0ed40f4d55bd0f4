package server

import (
	"encoding/json"
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
