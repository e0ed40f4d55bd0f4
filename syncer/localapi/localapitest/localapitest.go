// Package localapitest is test support for the tablet's local JSON API
// (syncer/localapi): a client that sends JSON and reads the answer, and the
// code and field of an error answer. The tests of syncer/localapi and of the
// web app served beside it (syncer/officerapp) use it.
package localapitest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// Client calls the local API at Base and fails T when a request cannot be
// made.
type Client struct {
	T    testing.TB
	Base string
}

// Do sends body (nil for none, a string as it is, anything else as JSON)
// with the headers in hdr ("Host" sets the request's host) and returns the
// status, the answer as a JSON object, and the answer's headers.
func (c Client) Do(method, path string, body any, hdr map[string]string) (int, map[string]any, http.Header) {
	c.T.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		j, _ := json.Marshal(b)
		rd = bytes.NewReader(j)
	}
	req, _ := http.NewRequest(method, c.Base+path, rd)
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range hdr {
		if k == "Host" {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.T.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	var out map[string]any
	raw, _ := io.ReadAll(resp.Body)
	json.Unmarshal(raw, &out)
	return resp.StatusCode, out, resp.Header
}

// ErrCode is the code and the field of an error answer.
func ErrCode(out map[string]any) (code, field string) {
	e, _ := out["error"].(map[string]any)
	code, _ = e["code"].(string)
	field, _ = e["field"].(string)
	return
}
