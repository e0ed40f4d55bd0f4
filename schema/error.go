package schema

import (
	"errors"
	"fmt"
)

// Error codes. They are stable: clients branch on them and docs/api.md lists
// them. The HTTP layers map each code to a status in one table.
const (
	ECodeInvalid        = "invalid"         // a value is malformed or out of range
	ECodeRequired       = "required"        // a required field is missing or empty
	ECodeWrongType      = "wrong_type"      // a JSON value has the wrong type
	ECodeUnknownField   = "unknown_field"   // a field the entity does not have
	ECodeUnknownEntity  = "unknown_entity"  // an entity name we do not know
	ECodeMalformed      = "malformed"       // the body is not the JSON we expect
	ECodeTooLarge       = "too_large"       // body over the size limit
	ECodeNotFound       = "not_found"       // no such record (or not visible to you)
	ECodeForbidden      = "forbidden"       // authenticated, but not allowed
	ECodeOutOfScope     = "out_of_scope"    // the case is not in your caseload or team
	ECodeUnauthorized   = "unauthorized"    // no valid credentials
	ECodeTokenExpired   = "token_expired"   // access token expired: refresh it
	ECodeRefreshReused  = "refresh_reused"  // a rotated refresh token came back: device tokens revoked
	ECodeRateLimited    = "rate_limited"    // too many attempts: wait
	ECodeDeviceRevoked  = "device_revoked"  // the tablet was revoked: wipe local data
	ECodeUpdateRequired = "update_required" // protocol too old for this request
	ECodeConflict       = "conflict"        // a state conflict (duplicate username, ...)
	ECodeSigned         = "record_signed"   // a signed record cannot be changed: amend it
	ECodeInternal       = "internal"        // our fault; the message carries a request id
	ECodeUnavailable    = "unavailable"     // try again later
)

// Error is Doorstep's one error type: a stable code, the field at fault (empty
// when the whole request is at fault) and a message for a person.
type Error struct {
	Code    string `json:"code"`
	Field   string `json:"field,omitempty"`
	Message string `json:"message"`
}

func (e *Error) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("%s: %s (%s)", e.Field, e.Message, e.Code)
	}
	return fmt.Sprintf("%s (%s)", e.Message, e.Code)
}

// Errorf builds an *Error for code and field.
func Errorf(code, field, format string, args ...any) *Error {
	return &Error{Code: code, Field: field, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, ECodeInternal
// for any other non-nil error, and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ECodeInternal
}

// AsError returns the *Error in err's chain, or nil.
func AsError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return nil
}
