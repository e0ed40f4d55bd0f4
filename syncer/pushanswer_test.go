package syncer

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"doorstep/schema"
)

var pushAnswerSamples = []string{
	`{"results":[{"mutation_id":"m1","status":"applied","receipt":{"entity":"visit","id":"v1","version":3,"received_at":"2026-11-20T14:02:13.12Z","updated_at":"2026-11-20T14:05:40Z"}}],"server_time":"2026-11-23T10:00:05.123456789Z"}`,
	` { "results" : [ ] , "server_time" : "2026-11-23T10:00:05+01:00" } `,
	`{"results":null,"server_time":null}`,
	`{"results":[null]}`,
	`{"results":[{"mutation_id":"m2","status":"duplicate","original":"conflict","lost":["notes"],"current":{"notes":"x \"y\"","n":[1,{"a":null}]},"receipt":null}]}`,
	`{"results":[{"mutation_id":"m3","status":"rejected","error":{"code":"invalid","field":"fields.rosh","message":"caf\u00e9"}}]}`,
	`{"results":[{"mutation_id":"m4","status":"applied","receipt":{"entity":"case","id":"c","version":-0,"received_at":"2026-11-20T14:02:13Z","updated_at":"2026-11-20T14:02:13Z"}}]}`,
	`{"results":[{"mutation_id":"m4","status":"applied","receipt":{"version":1.5}}]}`,
	`{"results":[{"mutation_id":"m4","status":"applied","receipt":{"version":1e3}}]}`,
	`{"results":[{"mutation_id":"m4","status":"applied","receipt":{"version":"1"}}]}`,
	`{"results":[{"mutation_id":"m4","status":"applied","receipt":{"version":99999999999999999999}}]}`,
	`{"results":[{"mutation_id":"m4","status":7}]}`,
	`{"results":[{"Mutation_ID":"m5","STATUS":"applied"}],"Server_Time":"2026-11-23T10:00:05Z"}`,
	`{"results":[{"mutation_id":"m6","mutation_id":"m7"}]}`,
	`{"results":[{"mutation_id":"m6"}],"results":[{"status":"applied"}]}`,
	`{"results":[{"mutation_id":"m6","receipt":{"id":"a"},"receipt":{"entity":"b"}}]}`,
	`{"results":[{"mutation_id":"m8","status":"applied","extra":{"a":[1,2]}}],"more":true}`,
	`{"results":[{"mutation_id":"st\u0061tus","st\u0061tus":"applied"}]}`,
	`{"results":[{"mutation_id":"m9","status":"applied","receipt":{"received_at":"2026-13-40T00:00:00Z"}}]}`,
	`{"results":[{"mutation_id":"m9","status":"applied","receipt":{"received_at":"2026-11-20 14:02:13Z"}}]}`,
	`{"results":[{"mutation_id":"m9","status":"applied"},]}`,
	`{"results":[{"mutation_id":"m9","status":"applied"}]} trailing`,
	`{"results":{},"server_time":"2026-11-23T10:00:05Z"}`,
	`[]`, `null`, ``, `{}`,
}

// checkPushAnswer: decodePushAnswer gives what json.Unmarshal gives, the
// same results or an error as it does.
func checkPushAnswer(t *testing.T, doc string) {
	t.Helper()
	var want, got schema.PushResponse
	werr := json.Unmarshal([]byte(doc), &want)
	gerr := decodePushAnswer([]byte(doc), &got)
	if (werr == nil) != (gerr == nil) || werr != nil && werr.Error() != gerr.Error() {
		t.Fatalf("decodePushAnswer(%s): error %v, json.Unmarshal %v", doc, gerr, werr)
	}
	if werr == nil && !reflect.DeepEqual(got, want) {
		t.Fatalf("decodePushAnswer(%s)\n = %#v\nwant %#v", doc, got, want)
	}
}

// TestDecodePushAnswerIsUnmarshal holds the fast decode of a push's answer
// to json.Unmarshal: on the samples, on answers the server's encoding of
// random results makes, and on each with one byte changed.
func TestDecodePushAnswerIsUnmarshal(t *testing.T) {
	docs := append([]string(nil), pushAnswerSamples...)
	rnd := rand.New(rand.NewPCG(7, 8))
	at := time.Date(2026, 12, 7, 10, 0, 0, 123456789, time.UTC)
	for n := range 300 {
		resp := schema.PushResponse{ServerTime: at.Add(time.Duration(n) * time.Millisecond)}
		for i := range rnd.IntN(6) {
			r := schema.MutationResult{MutationID: fmt.Sprintf("m-%d-%d", n, i),
				Status: []string{"applied", "conflict", "duplicate", "rejected"}[rnd.IntN(4)]}
			if rnd.IntN(3) > 0 {
				loc := []*time.Location{time.UTC, time.FixedZone("", 3600)}[rnd.IntN(2)]
				r.Receipt = &schema.Receipt{Entity: "visit", ID: fmt.Sprintf("v\"%d", i), Version: rnd.Int64N(1 << 40),
					ReceivedAt: at.In(loc), UpdatedAt: at.Add(time.Duration(rnd.IntN(1e9))).In(loc)}
			}
			switch rnd.IntN(5) {
			case 0:
				r.Error = &schema.Error{Code: "invalid", Field: "fields.x", Message: "no <good> \u00e9"}
			case 1:
				r.Lost = []string{"notes", "location"}
				r.Current = map[string]json.RawMessage{"notes": json.RawMessage(`"kept"`), "location": json.RawMessage(`null`)}
			case 2:
				r.Original = "applied"
			}
			resp.Results = append(resp.Results, r)
		}
		b, err := json.Marshal(resp)
		if err != nil {
			t.Fatal(err)
		}
		docs = append(docs, string(b))
	}
	for _, doc := range docs {
		checkPushAnswer(t, doc)
		if doc == "" {
			continue
		}
		for range 20 {
			b := []byte(doc)
			b[rnd.IntN(len(b))] = "{}[]\":,0123456789-.eEnulltrue xZ"[rnd.IntN(32)]
			checkPushAnswer(t, string(b))
		}
	}
}

func FuzzDecodePushAnswer(f *testing.F) {
	for _, doc := range pushAnswerSamples {
		f.Add(doc)
	}
	f.Fuzz(func(t *testing.T, doc string) { checkPushAnswer(t, doc) })
}

// BenchmarkDecodePushAnswer decodes the answer to a push of 100 changed
// records: json.Unmarshal (before decision 0128) and decodePushAnswer.
func BenchmarkDecodePushAnswer(b *testing.B) {
	at := time.Date(2026, 12, 7, 10, 0, 0, 123456789, time.UTC)
	resp := schema.PushResponse{ServerTime: at}
	for i := range 100 {
		resp.Results = append(resp.Results, schema.MutationResult{MutationID: fmt.Sprintf("0190f0a8-7c41-7a66-9d3e-5b2d0c1e%04d", i),
			Status: "applied", Receipt: &schema.Receipt{Entity: "visit", ID: fmt.Sprintf("0190f0a8-7c41-7a66-9d3e-5b2d0c1f%04d", i),
				Version: 7, ReceivedAt: at, UpdatedAt: at.Add(time.Second)}})
	}
	doc, _ := json.Marshal(resp)
	b.Run("json.Unmarshal", func(b *testing.B) {
		for b.Loop() {
			var r schema.PushResponse
			if err := json.Unmarshal(doc, &r); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("decodePushAnswer", func(b *testing.B) {
		for b.Loop() {
			var r schema.PushResponse
			if err := decodePushAnswer(doc, &r); err != nil {
				b.Fatal(err)
			}
		}
	})
}
