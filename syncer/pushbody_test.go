package syncer

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"

	"doorstep/schema"
	"doorstep/syncer/devicedb"
)

// The hand-built push body is json.Marshal's, byte for byte, whatever the
// entries hold: strings encoding/json escapes, field maps it would compact
// or escape, a signature, an opaque change, no fields, no cursor.
func TestEncodePushIsJSONMarshal(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 12, 5, 3, 4, 5, 123456789, time.FixedZone("", 3600))
	entries := []devicedb.OutboxEntry{
		{MutationID: "m1", Entity: "visit", RecordID: "r1", CaseID: "c1", Clock: "0001:0002:dev",
			Fields: json.RawMessage(`{"status":"draft","notes":"a b\u00e9 \"q\" \\ x"}`), DeviceTime: at},
		{MutationID: "m<2>&", Entity: "visit", RecordID: "r\u2028", CaseID: "c\"1\\\n", Clock: "é",
			Fields: json.RawMessage("{ \"notes\" : \"<b>&amp;</b>\u2028\u2029\", \"n\": [1, 2]\n}"), DeviceTime: at.UTC(),
			DeviceSignature: &schema.DeviceSignature{ContentHash: "ab<>", Signature: "c&d=="}},
		{MutationID: "m3", Entity: "case", RecordID: "r3", CaseID: "c3", Clock: "k",
			Opaque: true, ServerBox: "sealed+box/==", Fields: nil},
		{MutationID: "m4", Entity: "visit", RecordID: "r4", CaseID: "c4", Clock: "k",
			ServerBox: "not sent: the tablet can read the change", Fields: json.RawMessage(`{}`)},
		{MutationID: "m5", Entity: "visit", RecordID: "r5", CaseID: "c5", Clock: "k",
			Fields: json.RawMessage(`{"a":"\u0001","b":"’"}`)},
	}
	for _, cursor := range []string{"", "cursor<1>", "plain-cursor"} {
		got, err := encodePush(entries, cursor)
		if err != nil {
			t.Fatal(err)
		}
		want, err := json.Marshal(oldPushBody(entries, cursor))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("cursor %q:\ngot  %s\nwant %s", cursor, got, want)
		}
	}
}

// A stored field map that is not shaped as an object is checked, and
// refused when it is not JSON, as json.Marshal refused it. (One shaped as
// an object is copied unchecked: the outbox holds json.Marshal's output,
// sealed, so a changed byte fails to open before it gets here.)
func TestEncodePushRefusesBrokenFields(t *testing.T) {
	t.Parallel()
	for _, fields := range []string{`{"a":1`, `[1]x`, "{\"a\":\n}", `nul`} {
		_, err := encodePush([]devicedb.OutboxEntry{{MutationID: "m", Fields: json.RawMessage(fields)}}, "")
		if err == nil {
			t.Errorf("fields %s: encoded, want an error", fields)
		}
	}
}

// oldPushBody is the body as push built it before encodePush.
func oldPushBody(entries []devicedb.OutboxEntry, cursor string) pushBody {
	muts := make([]wireMutation, 0, len(entries))
	for _, e := range entries {
		m := wireMutation{ID: e.MutationID, Entity: e.Entity, RecordID: e.RecordID,
			CaseID: e.CaseID, Fields: e.Fields, Clock: e.Clock, DeviceTime: e.DeviceTime, DeviceSignature: e.DeviceSignature}
		if e.Opaque {
			m.Sealed = e.ServerBox
		}
		muts = append(muts, m)
	}
	return pushBody{Mutations: muts, Cursor: cursor}
}

func BenchmarkEncodePush(b *testing.B) {
	fields := json.RawMessage(`{"status":"draft","observation_notes":"` + string(bytes.Repeat([]byte("seen at home, "), 60)) + `"}`)
	entries := make([]devicedb.OutboxEntry, 500)
	for i := range entries {
		entries[i] = devicedb.OutboxEntry{MutationID: schema.NewID(), Entity: "visit", RecordID: schema.NewID(),
			CaseID: "c", Clock: "0001:0002:dev", Fields: fields, DeviceTime: time.Now()}
	}
	b.Run("encodePush", func(b *testing.B) {
		for b.Loop() {
			if _, err := encodePush(entries, "cursor"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("json.Marshal", func(b *testing.B) {
		for b.Loop() {
			if _, err := json.Marshal(oldPushBody(entries, "cursor")); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestGzipJSONReusesItsWriter: a push body is compressed by a writer the
// pushes share (decision 0081), so compressing one costs about the body,
// not a writer's half-megabyte of tables; and what it writes is what a
// new writer writes, whatever was compressed before, and decompresses to
// the body.
func TestGzipJSONReusesItsWriter(t *testing.T) {
	bodies := [][]byte{
		[]byte(`{"mutations":[]}`),
		[]byte(`{"mutations":[` + strings.Repeat(`{"id":"x","fields":{"notes":"abc"}},`, 300) + `{}]}`),
		[]byte(`{"cursor":"` + strings.Repeat("é", 5000) + `"}`),
		{},
	}
	for round := range 3 {
		for i, b := range bodies {
			got, err := gzipJSON(b)
			if err != nil {
				t.Fatal(err)
			}
			var want bytes.Buffer
			zw, _ := gzip.NewWriterLevel(&want, gzip.BestSpeed)
			zw.Write(b)
			zw.Close()
			if !bytes.Equal(got, want.Bytes()) {
				t.Fatalf("round %d, body %d: compressed differently from a new writer", round, i)
			}
			zr, err := gzip.NewReader(bytes.NewReader(got))
			if err != nil {
				t.Fatal(err)
			}
			if back, err := io.ReadAll(zr); err != nil || !bytes.Equal(back, b) {
				t.Fatalf("round %d, body %d: decompresses to %d bytes (%v), want %d", round, i, len(back), err, len(b))
			}
		}
	}
	body := []byte(fmt.Sprintf(`{"mutations":[%s{}]}`, strings.Repeat(`{"id":"x","fields":{"next_visit_on":"2026-12-01"}},`, 100)))
	n := testing.AllocsPerRun(50, func() { gzipJSON(body) })
	if raceEnabled {
		// The race detector makes sync.Pool drop a share of what is put
		// back, and instruments allocations: the bound holds in the plain
		// pass, where this runs too.
		t.Logf("gzipJSON allocates %.0f times a call under the race detector (bound not checked)", n)
		return
	}
	if n > 4 {
		t.Fatalf("gzipJSON allocates %.0f times a call; want at most 4 (its buffer), not a new writer's tables", n)
	}
}

// TestGunzipperReusesItsReaders: the server's gzipped answers are read by
// readers the calls share (decision 0104); each answer, read one after
// another through them, gives its own bytes, a damaged one between good
// ones included, and a reader taken from the pool makes no new tables.
func TestGunzipperReusesItsReaders(t *testing.T) {
	bodies := [][]byte{
		[]byte(`{"results":[]}`),
		[]byte(`{"records":[` + strings.Repeat(`{"id":"y","fields":{"notes":"xyz"}},`, 300) + `{}]}`),
		nil, // damaged: cut short
		[]byte(`{"cursor":"` + strings.Repeat("é", 5000) + `"}`),
		{},
	}
	read := func(z []byte) ([]byte, error) {
		zr, err := gunzipper(bytes.NewReader(z))
		if err != nil {
			return nil, err
		}
		defer func() {
			zr.Close()
			gzipReaders.Put(zr)
		}()
		return io.ReadAll(zr)
	}
	for round := range 3 {
		for i, b := range bodies {
			z, _ := gzipJSON(b)
			if b == nil {
				z, _ = gzipJSON(bodies[1])
				z = z[:len(z)/2]
			}
			got, err := read(z)
			if b == nil {
				if err == nil {
					t.Fatalf("round %d, answer %d: a damaged answer read without error", round, i)
				}
				continue
			}
			if err != nil || !bytes.Equal(got, b) {
				t.Fatalf("round %d, answer %d: read %d bytes (%v), want %d", round, i, len(got), err, len(b))
			}
		}
	}
	if _, err := gunzipper(bytes.NewReader([]byte("not gzip"))); err == nil {
		t.Fatal("an answer that is not gzip was taken for gzip")
	}
	z, _ := gzipJSON(bodies[0])
	n := testing.AllocsPerRun(50, func() {
		zr, _ := gunzipper(bytes.NewReader(z))
		zr.Close()
		gzipReaders.Put(zr)
	})
	if raceEnabled {
		t.Logf("gunzipper allocates %.0f times a call under the race detector (bound not checked)", n)
		return
	}
	if n > 4 {
		t.Fatalf("gunzipper allocates %.0f times a call; want at most 4, not a new reader's tables", n)
	}
}
