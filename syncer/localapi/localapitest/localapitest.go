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
// made. With a Token, every request carries it as "Authorization: Bearer"
// (unless the request sets its own Authorization header).
type Client struct {
	T     testing.TB
	Base  string
	Token string
}

// SignIn posts body to path (/v1/login, /v1/unlock or /v1/unlock/pin) and
// returns a client that carries the session it answers; T fails when the
// answer is not 200 with a token.
func (c Client) SignIn(path string, body any) Client {
	c.T.Helper()
	st, out, _ := c.Do("POST", path, body, nil)
	token, _ := out["token"].(string)
	if st != 200 || token == "" {
		c.T.Fatalf("POST %s: want 200 with a session token, got %d %v", path, st, out)
	}
	c.Token = token
	return c
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
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
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

// Request turns a route as the router lists it ("PATCH
// /v1/records/:entity/:id") into a request to make: its method, and its
// path with each parameter filled (an entity's collection name, else an
// id no record has).
func Request(route string) (method, path string) {
	method, pattern, _ := strings.Cut(route, " ")
	parts := strings.Split(pattern, "/")
	for i, p := range parts {
		switch {
		case p == ":entity":
			parts[i] = "household-members"
		case strings.HasPrefix(p, ":"):
			parts[i] = "019a4f2e-6a1c-7c55-9a51-1f7e4a0b9c11"
		}
	}
	return method, strings.Join(parts, "/")
}

// OpenRoutes is the allow-list of the local JSON API's routes that answer
// without the officer's session, each with the reason it needs none
// (docs/decisions/0020-one-gate-for-the-tablet.md). It is the tests' own
// list, kept apart from the gate's: a route that is neither here nor
// refused without a session fails the tests that walk the router.
var OpenRoutes = map[string]string{
	"GET /healthz":        "liveness, nothing about the tablet",
	"HEAD /healthz":       "liveness",
	"POST /v1/login":      "how a session is obtained online",
	"POST /v1/unlock":     "how a session is obtained offline",
	"POST /v1/unlock/pin": "how a session is obtained with the PIN",
	"GET /v1/unlock":      "the tries left before a password is typed; no caseload data",
	"HEAD /v1/unlock":     "as GET",
}

// LeaseOpenRoutes is the allow-list of the routes that still answer once
// the tablet's offline lease has run out; every other route answers 423
// lease_expired (docs/decisions/0034-the-offline-lease.md).
var LeaseOpenRoutes = map[string]string{
	"GET /healthz":   "liveness, nothing about the tablet",
	"HEAD /healthz":  "liveness",
	"POST /v1/login": "the online sign-in, the one way to a new lease",
}
