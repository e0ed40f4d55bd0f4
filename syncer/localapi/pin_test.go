package localapi

import (
	"fmt"
	"strings"
	"testing"

	"doorstep/schema"
	"doorstep/syncer/localapi/localapitest"
)

const (
	testPassword = "correct horse battery" // the password fakePeer accepts
	goodPIN      = "402781"
)

func TestAPIPIN(t *testing.T) {
	t.Parallel()
	c, _, _ := startAPI(t)
	c = c.SignIn("/v1/login", map[string]string{"username": "asha.officer", "password": testPassword})
	st, out, _ := c.Do("PUT", "/v1/pin", map[string]string{"password": testPassword, "pin": "111111"}, nil)
	if code, field := localapitest.ErrCode(out); st != 400 || code != schema.ECodeInvalid || field != "pin" {
		t.Fatalf("weak PIN: %d %v", st, out)
	}
	if st, out, _ := c.Do("PUT", "/v1/pin", map[string]string{"password": "nope", "pin": goodPIN}, nil); st != 401 {
		t.Fatalf("wrong password: %d %v", st, out)
	}
	if st, out, _ := c.Do("PUT", "/v1/pin", map[string]string{"password": testPassword, "pin": goodPIN}, nil); st != 200 || out["set"] != true {
		t.Fatalf("set: %d %v", st, out)
	}
	if st, out, _ := c.Do("POST", "/v1/unlock/pin", map[string]string{"pin": goodPIN}, nil); st != 200 || out["user"] == nil {
		t.Fatalf("unlock: %d %v", st, out)
	}
	st, out, _ = c.Do("POST", "/v1/unlock/pin", map[string]string{"pin": "913572"}, nil)
	if e, _ := out["error"].(map[string]any); st != 401 || !strings.Contains(fmt.Sprint(e["message"]), "4 tries left") {
		t.Fatalf("wrong PIN: %d %v", st, out)
	}
	if st, out, _ := c.Do("GET", "/v1/pin", nil, nil); st != 200 || out["failures"] != float64(1) {
		t.Fatalf("state: %d %v", st, out)
	}
	// Removing the PIN needs the password too, and a refusal leaves it set.
	for _, tc := range []struct {
		body        any
		status      int
		code, field string
	}{
		{"", 400, schema.ECodeRequired, "password"},
		{map[string]string{}, 400, schema.ECodeRequired, "password"},
		{map[string]string{"password": "nope"}, 401, schema.ECodeUnauthorized, "password"},
		{map[string]string{"password": testPassword, "pin": goodPIN}, 400, schema.ECodeUnknownField, "pin"},
	} {
		st, out, _ := c.Do("DELETE", "/v1/pin", tc.body, map[string]string{"Content-Type": "application/json"})
		if code, field := localapitest.ErrCode(out); st != tc.status || code != tc.code || field != tc.field {
			t.Fatalf("DELETE /v1/pin %v: want %d %s on %s, got %d %v", tc.body, tc.status, tc.code, tc.field, st, out)
		}
	}
	if st, out, _ := c.Do("GET", "/v1/pin", nil, nil); st != 200 || out["set"] != true {
		t.Fatalf("a refused DELETE /v1/pin removed the PIN: %d %v", st, out)
	}
	if st, out, _ := c.Do("DELETE", "/v1/pin", map[string]string{"password": testPassword}, nil); st != 200 || out["set"] != false {
		t.Fatalf("clear: %d %v", st, out)
	}
	if st, _, _ := c.Do("POST", "/v1/unlock/pin", map[string]string{"pin": goodPIN}, nil); st != 403 {
		t.Fatalf("unlock after clear: %d", st)
	}
}
