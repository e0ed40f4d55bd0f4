package syncer

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/klauspost/compress/gzip"

	"doorstep/syncer/devicedb"
)

// encodedJSON is a request body already encoded: call sends it as it is.
type encodedJSON []byte

// gzippedJSON is a request body already encoded and compressed (a push
// batch, compressed while the batch before it is on the wire): call sends
// it as it is, as gzip.
type gzippedJSON []byte

// gzipWriters are reused (decision 0081): a new writer's tables took about
// 550 KB a push, more than a push of 100 compresses, and their garbage was
// collected during the syncs after.
var gzipWriters = sync.Pool{New: func() any {
	zw, _ := gzip.NewWriterLevel(nil, gzip.BestSpeed)
	return zw
}}

// gzipReaders are the readers of the server's gzipped answers, reset for
// each (decision 0104), where every answer made a new one (its window
// and tables, tens of KB).
var gzipReaders sync.Pool

// gunzipper returns a reader of r's gzip stream, reused when one is free;
// the caller closes it and puts it back in gzipReaders.
func gunzipper(r io.Reader) (*gzip.Reader, error) {
	if zr, _ := gzipReaders.Get().(*gzip.Reader); zr != nil {
		if err := zr.Reset(r); err != nil {
			return nil, err
		}
		return zr, nil
	}
	return gzip.NewReader(r)
}

// gzipJSON compresses a request body as call sends it.
func gzipJSON(b []byte) ([]byte, error) {
	var buf bytes.Buffer
	buf.Grow(len(b)/4 + 64)
	zw := gzipWriters.Get().(*gzip.Writer)
	zw.Reset(&buf)
	zw.Write(b)
	err := zw.Close()
	zw.Reset(nil) // holds nothing of buf while pooled
	gzipWriters.Put(zw)
	if err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// pushBody is the push request as encoding/json writes it:
// {"mutations":[wireMutation…],"cursor":…}.
type pushBody struct {
	Mutations []wireMutation `json:"mutations"`
	Cursor    string         `json:"cursor,omitempty"`
}

// encodePush writes the push request for entries, byte for byte what
// json.Marshal(pushBody{…}) writes, without its pass over every field
// value: encoding/json validates and compacts each json.RawMessage, and a
// push is almost all field values, which the outbox stored as
// json.Marshal wrote them (compact and valid). A stored value that does
// not look like such an object goes through json.Compact, which refuses
// one that is not JSON.
func encodePush(entries []devicedb.OutboxEntry, cursor string) (encodedJSON, error) {
	size := 64
	for _, e := range entries {
		size += len(e.Fields) + 320
		if e.Opaque {
			size += len(e.ServerBox)
		}
	}
	b := make([]byte, 0, size)
	b = append(b, `{"mutations":[`...)
	for i, e := range entries {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"id":`...)
		b = appendJSONString(b, e.MutationID)
		b = append(b, `,"entity":`...)
		b = appendJSONString(b, e.Entity)
		b = append(b, `,"record_id":`...)
		b = appendJSONString(b, e.RecordID)
		b = append(b, `,"case_id":`...)
		b = appendJSONString(b, e.CaseID)
		b = append(b, `,"fields":`...)
		var err error
		if b, err = appendFields(b, e.Fields); err != nil {
			return nil, fmt.Errorf("push: mutation %s: %w", e.MutationID, err)
		}
		b = append(b, `,"clock":`...)
		b = appendJSONString(b, e.Clock)
		b = append(b, `,"device_time":`...)
		if b, err = appendTime(b, e.DeviceTime); err != nil {
			return nil, fmt.Errorf("push: mutation %s: %w", e.MutationID, err)
		}
		if e.DeviceSignature != nil {
			sig, err := json.Marshal(e.DeviceSignature)
			if err != nil {
				return nil, fmt.Errorf("push: mutation %s: %w", e.MutationID, err)
			}
			b = append(b, `,"device_signature":`...)
			b = append(b, sig...)
		}
		if e.Opaque && e.ServerBox != "" {
			b = append(b, `,"sealed":`...)
			b = appendJSONString(b, e.ServerBox)
		}
		b = append(b, '}')
	}
	b = append(b, ']')
	if cursor != "" {
		b = append(b, `,"cursor":`...)
		b = appendJSONString(b, cursor)
	}
	return append(b, '}'), nil
}

// appendFields appends a stored field map: as it is when it is an object
// as json.Marshal writes one, through json.Marshal otherwise (which checks
// and compacts it), null when there is none (json.RawMessage's nil).
func appendFields(b []byte, fields json.RawMessage) ([]byte, error) {
	if len(fields) == 0 {
		return append(b, "null"...), nil
	}
	if plainObject(fields) {
		return append(b, fields...), nil
	}
	q, err := json.Marshal(fields)
	if err != nil {
		return nil, fmt.Errorf("stored fields: %w", err)
	}
	return append(b, q...), nil
}

// plainObject reports whether v needs nothing of json.Marshal's pass over
// a json.RawMessage: braces at both ends and none of the bytes it would
// change (a control character, which valid JSON holds only as white space
// between tokens, which it removes; '<', '>', '&' and the first byte of
// U+2028 and U+2029, which it escapes inside strings). The outbox holds
// json.Marshal's own output, so in practice every value passes.
func plainObject(v []byte) bool {
	if len(v) < 2 || v[0] != '{' || v[len(v)-1] != '}' {
		return false
	}
	for _, c := range v {
		if c < ' ' || c == '<' || c == '>' || c == '&' || c == 0xE2 {
			return false
		}
	}
	return true
}

// appendJSONString appends s quoted as json.Marshal quotes it.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < ' ' || c > '~' || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s) // a string always encodes
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// appendTime appends t as time.Time's MarshalJSON does.
func appendTime(b []byte, t time.Time) ([]byte, error) {
	q, err := t.MarshalJSON()
	if err != nil {
		return nil, err
	}
	return append(b, q...), nil
}
