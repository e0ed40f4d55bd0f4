package schema

import (
	"net/http"
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
		{ECodeForbidden, http.StatusForbidden},
		{ECodeOutOfScope, http.StatusForbidden},
		{ECodeDeviceRevoked, http.StatusForbidden},
		{ECodeConflict, http.StatusConflict},
		{ECodeSigned, http.StatusConflict},
		{ECodeRateLimited, http.StatusTooManyRequests},
		{ECodeUpdateRequired, http.StatusUpgradeRequired},
		{ECodeInternal, http.StatusInternalServerError},
		{ECodeUnavailable, http.StatusServiceUnavailable},
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
