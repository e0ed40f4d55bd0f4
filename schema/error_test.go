package schema

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// TestHTTPStatus holds the one table from error codes to HTTP statuses:
// clients and docs/api.md rely on each answer.
func TestHTTPStatus(t *testing.T) {
	tests := []struct {
		code string
		want int
	}{
		{ECodeInvalid, http.StatusBadRequest},
		{ECodeRequired, http.StatusBadRequest},
		{ECodeWrongType, http.StatusBadRequest},
		{ECodeUnknownField, http.StatusBadRequest},
		{ECodeMalformed, http.StatusBadRequest},
		{ECodeUnknownEntity, http.StatusNotFound},
		{ECodeNotFound, http.StatusNotFound},
		{ECodeTooLarge, http.StatusRequestEntityTooLarge},
		{ECodeUnauthorized, http.StatusUnauthorized},
		{ECodeTokenExpired, http.StatusUnauthorized},
		{ECodeRefreshReused, http.StatusUnauthorized},
		{ECodeLocked, http.StatusUnauthorized},
		{ECodeLeaseExpired, http.StatusLocked},
		{ECodeForbidden, http.StatusForbidden},
		{ECodeOutOfScope, http.StatusForbidden},
		{ECodeDeviceRevoked, http.StatusForbidden},
		{ECodeConflict, http.StatusConflict},
		{ECodeSigned, http.StatusConflict},
		{ECodeRateLimited, http.StatusTooManyRequests},
		{ECodeUpdateRequired, http.StatusUpgradeRequired},
		{ECodeInternal, http.StatusInternalServerError},
		{ECodeUnavailable, http.StatusServiceUnavailable},
		{ECodeTooManyCases, http.StatusUnprocessableEntity},
		{ECodeBusy, http.StatusServiceUnavailable},
		{"no_such_code", 0},
		{"", 0},
	}
	for _, tt := range tests {
		if got := HTTPStatus(tt.code); got != tt.want {
			t.Errorf("HTTPStatus(%q) = %d, want %d", tt.code, got, tt.want)
		}
	}
	// Every code in the table is in this test, so a new code gets a status
	// chosen on purpose.
	if len(httpStatus) != len(tests)-2 {
		t.Errorf("the table has %d codes, the test %d: add the new code here", len(httpStatus), len(tests)-2)
	}
}

// TestJoinErrors: several errors travel as the first, with every one in
// Errors (JSON "errors"); one travels alone; an Error stays comparable.
func TestJoinErrors(t *testing.T) {
	t.Parallel()
	if JoinErrors(nil) != nil {
		t.Fatal("JoinErrors(nil): want nil")
	}
	a := Errorf(ECodeRequired, "children[0].seen", "say whether Ava was seen")
	b := Errorf(ECodeRequired, "children", "Ben is on the household list")
	if one := AsError(JoinErrors([]*Error{a})); *one != *a || one.Errors != nil {
		t.Fatalf("one error: %+v", one)
	}
	two := AsError(JoinErrors([]*Error{a, b}))
	if two.Field != a.Field || len(two.All()) != 2 || two.All()[1].Field != "children" || !strings.HasSuffix(two.Error(), "and 1 more") {
		t.Fatalf("two errors: %+v", two)
	}
	p := two.WithFieldPrefix("fields")
	raw, _ := json.Marshal(p)
	want := `{"code":"required","field":"fields.children[0].seen","message":"say whether Ava was seen","errors":[` +
		`{"code":"required","field":"fields.children[0].seen","message":"say whether Ava was seen"},` +
		`{"code":"required","field":"fields.children","message":"Ben is on the household list"}]}`
	if string(raw) != want {
		t.Fatalf("JSON:\n%s\nwant\n%s", raw, want)
	}
	if two.Field != "children[0].seen" || two.All()[1].Field != "children" {
		t.Fatal("WithFieldPrefix changed the error it was called on")
	}
}
