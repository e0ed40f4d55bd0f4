package server

import (
	"bytes"
	"io"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"
	"github.com/klauspost/compress/gzip"

	"doorstep/schema"
)

// TestReadBodyReusesItsGzipReaders: readBody's gzip readers are pooled and
// its buffer sized from the gzip trailer (decision 0104). Bodies read one
// after another, through the same readers, each give their own bytes: two
// members, a trailer that claims more than the limit or less than the
// body, a damaged body between good ones, and a body over the limit once
// decompressed.
func TestReadBodyReusesItsGzipReaders(t *testing.T) {
	const limit = 4096
	app := fiber.New()
	app.Post("/", func(c *fiber.Ctx) error {
		b, err := readBody(c, limit)
		if err != nil {
			return c.Status(400).SendString(schema.AsError(err).Code + ": " + err.Error())
		}
		return c.Send(b)
	})
	gz := func(parts ...string) []byte {
		var out bytes.Buffer
		for _, p := range parts {
			zw := gzip.NewWriter(&out)
			zw.Write([]byte(p))
			zw.Close()
		}
		return out.Bytes()
	}
	lying := func(b []byte, size byte) []byte {
		b = bytes.Clone(b)
		copy(b[len(b)-4:], []byte{size, 0xff, 0xff, 0x7f})
		return b
	}
	long := strings.Repeat("abcdefgh", 200) // 1,600 bytes
	cases := []struct {
		name string
		body []byte
		want string // the answer's body; "400 code" for a refusal
	}{
		{"one member", gz(`{"a":1}`), `{"a":1}`},
		{"another", gz(long), long},
		{"two members", gz(`{"b":`, `2}`), `{"b":2}`},
		{"damaged", gz(long)[:40], "400 malformed"},
		{"after the damaged one", gz(`{"c":3}`), `{"c":3}`},
		{"trailer claims 2 GiB", lying(gz(long), 0), "400 malformed"}, // the size is checked too
		{"not gzip", []byte("plain"), "400 malformed"},
		{"over the limit", gz(strings.Repeat("x", limit+1)), "400 too_large"},
		{"at the limit", gz(strings.Repeat("y", limit)), strings.Repeat("y", limit)},
		{"last", gz(long + long), long + long},
	}
	for round := range 3 {
		for _, c := range cases {
			req := httptest.NewRequest("POST", "/", bytes.NewReader(c.body))
			req.Header.Set("Content-Encoding", "gzip")
			res, err := app.Test(req, -1)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(res.Body)
			answer := string(got)
			if res.StatusCode == 400 {
				code, _, _ := strings.Cut(answer, ":")
				answer = "400 " + code
			}
			if answer != c.want {
				t.Errorf("round %d, %s: %d %.80q; want %.80q", round, c.name, res.StatusCode, got, c.want)
			}
		}
	}
}

// TestGzipSizeHintBoundedByTheBody: the buffer readBody makes for a gzip
// body is its trailer's size only as far as the body could hold it
// decompressed and the limit allows: a 30-byte body claiming 2 GiB (any
// caller, a login's included, can send one) gets tens of kilobytes, not
// the limit's megabytes; an honest trailer is taken as it is.
func TestGzipSizeHintBoundedByTheBody(t *testing.T) {
	lie := make([]byte, 30)
	copy(lie[26:], []byte{0xff, 0xff, 0xff, 0x7f})
	if got, most := gzipSizeHint(lie, schema.MaxPushBody), 512+30*deflateMaxRatio; got > most {
		t.Errorf("a 30-byte body claiming 2 GiB: a %d-byte buffer, want at most %d", got, most)
	}
	var honest bytes.Buffer
	zw := gzip.NewWriter(&honest)
	zw.Write(bytes.Repeat([]byte("doorstep "), 1000))
	zw.Close()
	if got := gzipSizeHint(honest.Bytes(), schema.MaxBody); got != 512+9000 {
		t.Errorf("an honest 9,000-byte body: a %d-byte buffer, want %d", got, 512+9000)
	}
	if got := gzipSizeHint(honest.Bytes(), 4096); got != 512+4096 {
		t.Errorf("over a 4,096-byte limit: a %d-byte buffer, want %d", got, 512+4096)
	}
	if got := gzipSizeHint([]byte{1, 2}, schema.MaxBody); got != 512 {
		t.Errorf("a 2-byte body: a %d-byte buffer, want 512", got)
	}
}
