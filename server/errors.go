package server

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"github.com/klauspost/compress/gzip"
	"io"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"

	"doorstep/schema"
	"doorstep/server/compliance"

	"github.com/gofiber/fiber/v2"
)

// fiberCodes turns fiber's own errors (no route, body over the limit,
// timeouts) into ours.
func fromFiber(fe *fiber.Error) *schema.Error {
	switch fe.Code {
	case fiber.StatusRequestEntityTooLarge:
		return schema.Errorf(schema.ECodeTooLarge, "", "the body is larger than the server accepts")
	case fiber.StatusNotFound:
		return schema.Errorf(schema.ECodeNotFound, "", "no such endpoint")
	case fiber.StatusMethodNotAllowed:
		return schema.Errorf(schema.ECodeNotFound, "", "no such endpoint for this method")
	case fiber.StatusRequestTimeout:
		return schema.Errorf(schema.ECodeMalformed, "", "the request was not received in time")
	}
	if fe.Code >= 400 && fe.Code < 500 {
		return schema.Errorf(schema.ECodeMalformed, "", "%s", fe.Message)
	}
	return nil
}

// errorHandler answers every error as a schema.ErrorResponse. Errors of
// ours (a *schema.Error anywhere in the chain) keep their code and field;
// anything else is logged with the request id and answered 500.
func (s *Server) errorHandler(c *fiber.Ctx, err error) error {
	rid, _ := c.Locals("rid").(string)
	if rid == "" { // refused by fasthttp before any handler ran
		b := make([]byte, 8)
		_, _ = rand.Read(b)
		rid = hex.EncodeToString(b)
		c.Set(schema.HeaderRequestID, rid)
	}
	e := schema.AsError(err)
	var ie *schema.ImportError
	var fe *fiber.Error
	switch {
	case errors.As(err, &ie):
		e = schema.Errorf(schema.ECodeInvalid, "", "%s", ie.Error())
	case e != nil:
	case errors.As(err, &fe):
		e = fromFiber(fe)
	}
	if fe != nil && fe.Code == fiber.StatusBadGateway && e == nil {
		// fiber's name for a request whose connection failed while it was
		// read (the client reset it or went away): nobody waits for the
		// answer, and it is not the server's fault, so it is no error in
		// the operator's log.
		s.log.Debug("client connection failed mid-request", "request_id", rid, "method", c.Method(), "path", c.Path(), "err", err)
		e = schema.Errorf(schema.ECodeMalformed, "", "the connection failed before the request was read")
		return c.Status(fiber.StatusBadRequest).JSON(schema.ErrorResponse{Error: *e, RequestID: rid})
	}
	status := 0
	if e != nil {
		status = schema.HTTPStatus(e.Code)
	}
	if status == 0 || e.Code == schema.ECodeInternal {
		s.log.Error("request failed", "request_id", rid, "method", c.Method(), "path", c.Path(), "err", err)
		status = fiber.StatusInternalServerError
		e = schema.Errorf(schema.ECodeInternal, "", "internal error (request id %s)", rid)
	}
	if e.Code == schema.ECodeBusy {
		c.Set(fiber.HeaderRetryAfter, strconv.Itoa(int(compliance.BusyRetryAfter/time.Second)))
	}
	s.AuditRefusal(c, actorOf(c), status, e.Code)
	body := schema.ErrorResponse{Error: *e, RequestID: rid, Wipe: e.Code == schema.ECodeDeviceRevoked}
	c.Response().Header.Del(fiber.HeaderContentEncoding)
	return c.Status(status).JSON(body)
}

// requestID tags every request with an id, echoed in X-Request-Id and in
// error bodies, so a user's report can be matched with the log.
func (s *Server) requestID(c *fiber.Ctx) error {
	rid := c.Get(schema.HeaderRequestID)
	if rid == "" || len(rid) > 64 {
		b := make([]byte, 8)
		_, _ = rand.Read(b)
		rid = hex.EncodeToString(b)
	}
	c.Locals("rid", rid)
	c.Set(schema.HeaderRequestID, rid)
	// Every answer holds case data or says something of it: no cache keeps
	// it, and no browser takes it for anything but its declared type. A
	// mounted app (the dashboard) may set its own, after these.
	c.Set(fiber.HeaderXContentTypeOptions, "nosniff")
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.Next()
}

// gzipReaders are readBody's gzip readers, reset for each body.
var gzipReaders sync.Pool

// deflateMaxRatio is the most DEFLATE expands its input: 258 bytes from
// one bit-packed length/distance pair, about 1,032 to 1.
const deflateMaxRatio = 1032

// gzipSizeHint is the buffer readBody makes for gzip body raw: its trailer's
// size (ISIZE), which the sender writes and may lie about, no more than
// limit and no more than raw could hold decompressed, so that a body of a
// few bytes claiming megabytes (an unauthenticated login's, say) costs no
// more than it could honestly decompress to.
func gzipSizeHint(raw []byte, limit int) int {
	const slack = 512
	n := len(raw)
	if n < 4 {
		return slack
	}
	return slack + min(int(binary.LittleEndian.Uint32(raw[n-4:])), limit, n*deflateMaxRatio)
}

// readBody returns the request body, gunzipped when it says so, refusing
// more than limit bytes after decompression.
func readBody(c *fiber.Ctx, limit int) ([]byte, error) {
	raw := c.Request().Body()
	enc := strings.ToLower(strings.TrimSpace(c.Get(fiber.HeaderContentEncoding)))
	switch enc {
	case "", "identity":
		if len(raw) > limit {
			return nil, schema.Errorf(schema.ECodeTooLarge, "", "the body is %d bytes; the most is %d", len(raw), limit)
		}
		return raw, nil
	case "gzip":
		// A reader's tables (tens of KB) are reused, as the answers'
		// writers are (decision 0104); the body's own size, from the gzip
		// trailer and no more than limit, sizes the buffer once, where
		// io.ReadAll grew and copied it.
		zr, _ := gzipReaders.Get().(*gzip.Reader)
		var err error
		if zr == nil {
			zr, err = gzip.NewReader(bytes.NewReader(raw))
		} else {
			err = zr.Reset(bytes.NewReader(raw))
		}
		if err != nil {
			return nil, schema.Errorf(schema.ECodeMalformed, "", "the body is not valid gzip: %v", err)
		}
		defer func() {
			zr.Close()
			gzipReaders.Put(zr)
		}()
		buf := bytes.NewBuffer(make([]byte, 0, gzipSizeHint(raw, limit)))
		_, err = buf.ReadFrom(io.LimitReader(zr, int64(limit)+1))
		b := buf.Bytes()
		if err != nil {
			return nil, schema.Errorf(schema.ECodeMalformed, "", "the gzip body is damaged or cut short: %v", err)
		}
		if len(b) > limit {
			return nil, schema.Errorf(schema.ECodeTooLarge, "", "the body is more than %d bytes decompressed", limit)
		}
		return b, nil
	}
	return nil, schema.Errorf(schema.ECodeMalformed, "Content-Encoding", "Content-Encoding %q is not supported; use gzip or none", enc)
}

// decodeJSON decodes a body into v, turning decoder errors into errors
// that name the field: malformed for bad JSON, wrong_type for a value of
// the wrong type, unknown_field for a member v does not have (a misspelt
// member is refused rather than quietly dropped: decision 0038).
func decodeJSON(body []byte, v any) error { return decodeBody(body, v, true) }

// decodeTolerant is decodeJSON that passes over unknown members: for the
// bodies tablets send (login, refresh, push, pull), where a newer tablet
// may send optional members this server does not know
// (docs/sync-protocol.md §8).
func decodeTolerant(body []byte, v any) error { return decodeBody(body, v, false) }

// unknownMember is how encoding/json names a member the target lacks.
const unknownMember = "json: unknown field "

func decodeBody(body []byte, v any, strict bool) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return schema.Errorf(schema.ECodeMalformed, "", "the body is empty; send a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if strict {
		dec.DisallowUnknownFields()
	}
	if err := dec.Decode(v); err != nil {
		if name, ok := strings.CutPrefix(err.Error(), unknownMember); ok {
			name = strings.Trim(name, `"`)
			return schema.Errorf(schema.ECodeUnknownField, name, "%s is not a member of this body; it takes %s", name, strings.Join(members(v), ", "))
		}
		return jsonError(err)
	}
	if dec.More() {
		return schema.Errorf(schema.ECodeMalformed, "", "the body holds more than one JSON value")
	}
	// PostgreSQL's text holds no NUL: refused here, naming the member, on
	// both engines alike (decision 0048).
	if name := schema.NULMember(v); name != "" {
		return schema.Errorf(schema.ECodeInvalid, name, "%s holds a NUL character (\\u0000), which no text may hold", name)
	}
	return nil
}

// members lists the JSON members of the struct v points to, embedded
// structs' included, for an error that says what a body takes.
func members(v any) []string {
	t := reflect.TypeOf(v)
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil || t.Kind() != reflect.Struct {
		return nil
	}
	var out []string
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch {
		case name == "-" || (!f.IsExported() && !f.Anonymous):
		case f.Anonymous && name == "":
			out = append(out, members(reflect.New(f.Type).Interface())...)
		case name == "":
			out = append(out, f.Name)
		default:
			out = append(out, name)
		}
	}
	return out
}

func jsonError(err error) error {
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &te):
		field := te.Field
		if field == "" {
			field = "body"
		}
		return schema.Errorf(schema.ECodeWrongType, field, "%s must be %s, not %s", field, describeGo(te.Type.Kind().String()), te.Value)
	case errors.As(err, &se):
		return schema.Errorf(schema.ECodeMalformed, "", "the body is not valid JSON: %v (at byte %d)", se, se.Offset)
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
		return schema.Errorf(schema.ECodeMalformed, "", "the body is cut short")
	}
	if e := schema.AsError(err); e != nil {
		return e
	}
	return schema.Errorf(schema.ECodeMalformed, "", "the body does not decode: %v", err)
}

func describeGo(kind string) string {
	switch kind {
	case "string":
		return "a string"
	case "bool":
		return "true or false"
	case "int", "int64", "int32", "float64", "uint16":
		return "a number"
	case "slice", "array":
		return "a list"
	case "map", "struct":
		return "an object"
	}
	return "a " + kind
}

// errorf is a shorthand for handlers.
func errorf(code, field, format string, args ...any) error {
	return schema.Errorf(code, field, format, args...)
}
