package server

import (
	"bufio"
	"cmp"
	"encoding"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"

	jsonv2 "github.com/go-json-experiment/json"
	jsonv1 "github.com/go-json-experiment/json/v1"
	"github.com/gofiber/fiber/v2"
	"github.com/klauspost/compress/gzip"
)

// A service-wide report is hundreds of megabytes of JSON, and encoding it
// on one core cost as much as computing it (docs/performance.md).
// marshalReport gives the bytes json.Marshal gives, encoded on every core:
// the report's fields, its totals' fields and every long list in chunks
// are encoded apart, at once, then joined.

// marshalChunk is how many elements of a list one piece encodes.
var marshalChunk = 512

// marshalDepth is how deep structs are taken apart (the report, its
// totals).
const marshalDepth = 2

var (
	jsonMarshalerType = reflect.TypeFor[json.Marshaler]()
	textMarshalerType = reflect.TypeFor[encoding.TextMarshaler]()
)

// piece is a part of the output: lit, or v encoded (with its brackets
// trimmed when inner: a chunk of a list).
type piece struct {
	lit   []byte
	v     reflect.Value
	job   bool
	inner bool
	out   []byte
	err   error
}

// sendReport answers a report as JSON, byte for byte what json.Marshal
// makes of it, without ever holding the whole answer: a service's counts
// answer is tens of megabytes of JSON at 25,000 cases and grows with them
// (decision 0074). An answer of at most reportHeadBytes is sent as
// sendJSONBytes sends it (a Content-Length, gzipped over 8 KiB when the
// client accepts it); a larger one is encoded again, as the connection
// takes it, into the response (chunked, gzipped when the client accepts
// it), through the encoder's small buffer. The report is held until it
// is written: the answer's memory is the report's, not its JSON's too.
//
// The report's types encode without error (no NaN: the percentages
// divide by a count above zero); should one fail once the answer is
// streaming, its status is sent already: the error is logged and the
// body cut short, so the client's JSON decoder fails rather than read a
// wrong answer.
func (s *Server) sendReport(c *fiber.Ctx, v any) error {
	head := &headWriter{max: cmp.Or(s.cfg.reportHeadBytes, reportHeadBytes)}
	err := jsonv2.MarshalWrite(head, v, jsonv1.DefaultOptionsV1())
	if err == nil {
		return sendJSONBytes(c, head.buf)
	}
	if !head.over {
		return err
	}
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
	gz := acceptsGzip(c)
	if gz {
		c.Set(fiber.HeaderContentEncoding, "gzip")
		c.Set(fiber.HeaderVary, fiber.HeaderAcceptEncoding)
	}
	log := s.log
	end, _ := c.Locals(streamEndKey{}).(*streamEnd)
	c.Response().SetBodyStreamWriter(func(w *bufio.Writer) {
		cw := &countingWriter{w: w}
		if err := writeReport(w, cw, v, gz); err != nil {
			log.Warn("a report's answer was cut short", "err", err)
		}
		if end != nil {
			end.wrote(cw.n)
		}
	})
	return nil
}

// reportHeadBytes is the most of a report's JSON sendReport holds whole.
const reportHeadBytes = 64 << 10

// writeReport writes v's JSON to w through out (w itself, or a writer
// over it), gzipped when gz, and flushes w.
func writeReport(w *bufio.Writer, out io.Writer, v any, gz bool) error {
	var zw *gzip.Writer
	if gz {
		zw = gzipWriters.Get().(*gzip.Writer)
		zw.Reset(out)
		out = zw
	}
	err := jsonv2.MarshalWrite(out, v, jsonv1.DefaultOptionsV1())
	if zw != nil {
		if err == nil {
			err = zw.Close()
		}
		zw.Reset(io.Discard)
		gzipWriters.Put(zw)
	}
	if err == nil {
		err = w.Flush()
	}
	return err
}

// headWriter keeps what is written to it up to max bytes; past that it
// refuses the write (over), which stops the encoder.
type headWriter struct {
	buf  []byte
	max  int
	over bool
}

func (h *headWriter) Write(p []byte) (int, error) {
	if len(h.buf)+len(p) > h.max {
		h.over = true
		return 0, errHeadFull
	}
	h.buf = append(h.buf, p...)
	return len(p), nil
}

var errHeadFull = errors.New("more than the head")

// marshalReport gives the bytes json.Marshal gives, encoded on every
// core (a published report's answer, which adds to them).
func marshalReport(v any) ([]byte, error) {
	var ps []*piece
	planJSON(&ps, reflect.ValueOf(v), 0)
	jobs := make([]*piece, 0, len(ps))
	for _, p := range ps {
		if p.job {
			jobs = append(jobs, p)
		}
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(jobs)) {
		wg.Go(func() {
			for i := int(next.Add(1)) - 1; i < len(jobs); i = int(next.Add(1)) - 1 {
				p := jobs[i]
				p.out, p.err = json.Marshal(p.v.Interface())
				if p.err == nil && p.inner {
					p.out = p.out[1 : len(p.out)-1]
				}
			}
		})
	}
	wg.Wait()
	n := 0
	for _, p := range ps {
		if p.err != nil {
			return nil, p.err
		}
		n += len(p.lit) + len(p.out)
	}
	out := make([]byte, 0, n)
	for _, p := range ps {
		out = append(append(out, p.lit...), p.out...)
	}
	return out, nil
}

// planJSON appends the pieces of v's encoding to ps.
func planJSON(ps *[]*piece, v reflect.Value, depth int) {
	lit := func(s string) { *ps = append(*ps, &piece{lit: []byte(s)}) }
	job := func(v reflect.Value, inner bool) { *ps = append(*ps, &piece{v: v, job: true, inner: inner}) }
	if !v.IsValid() {
		lit("null")
		return
	}
	for v.Kind() == reflect.Pointer && !v.IsNil() && !marshals(v.Type()) {
		v = v.Elem()
	}
	switch {
	case v.Kind() == reflect.Struct && depth < marshalDepth && plainStruct(v.Type()):
		lit("{")
		first := true
		t := v.Type()
		for i := range t.NumField() {
			f := t.Field(i)
			name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
			fv := v.Field(i)
			if name == "" {
				name = f.Name
			}
			if opts == "omitempty" && emptyJSON(fv) {
				continue
			}
			if !first {
				lit(",")
			}
			first = false
			b, _ := json.Marshal(name)
			lit(string(b) + ":")
			planJSON(ps, fv, depth+1)
		}
		lit("}")
	case v.Kind() == reflect.Slice && !v.IsNil() && v.Len() > marshalChunk && !marshals(v.Type()):
		lit("[")
		for i := 0; i < v.Len(); i += marshalChunk {
			if i > 0 {
				lit(",")
			}
			job(v.Slice(i, min(i+marshalChunk, v.Len())), true)
		}
		lit("]")
	default:
		job(v, false)
	}
}

// plainStruct: a struct json encodes field by field as planJSON does:
// exported fields, no embedded ones, tags of a name and at most
// omitempty, no marshaler of its own.
func plainStruct(t reflect.Type) bool {
	if marshals(t) {
		return false
	}
	for i := range t.NumField() {
		f := t.Field(i)
		if f.Anonymous || !f.IsExported() {
			return false
		}
		tag := f.Tag.Get("json")
		name, opts, _ := strings.Cut(tag, ",")
		if name == "-" || (opts != "" && opts != "omitempty") || !validJSONName(name) {
			return false
		}
	}
	return true
}

// validJSONName: a name json.Marshal would use as it is (letters,
// digits and underscores).
func validJSONName(s string) bool {
	for _, c := range s {
		if !(c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

func marshals(t reflect.Type) bool {
	return t.Implements(jsonMarshalerType) || t.Implements(textMarshalerType) ||
		reflect.PointerTo(t).Implements(jsonMarshalerType) || reflect.PointerTo(t).Implements(textMarshalerType)
}

// emptyJSON is json's omitempty test.
func emptyJSON(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Array, reflect.Map, reflect.Slice, reflect.String:
		return v.Len() == 0
	case reflect.Bool:
		return !v.Bool()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return v.Int() == 0
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return v.Uint() == 0
	case reflect.Float32, reflect.Float64:
		return v.Float() == 0
	case reflect.Interface, reflect.Pointer:
		return v.IsNil()
	}
	return false
}
