package schema

import (
	"errors"
	"fmt"
	"net/http"
)

// Error codes. They are stable: clients branch on them and docs/api.md lists
// them. Every HTTP edge maps a code to its status with HTTPStatus.
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
	ECodeLocked         = "locked"          // the tablet's session locked after inactivity, or its data key was dropped: unlock again
	ECodeLeaseExpired   = "lease_expired"   // the tablet's offline lease ran out: sign in online
	ECodeRateLimited    = "rate_limited"    // too many attempts: wait
	ECodeDeviceRevoked  = "device_revoked"  // the tablet was revoked: wipe local data
	ECodeUpdateRequired = "update_required" // protocol too old for this request
	ECodeConflict       = "conflict"        // a state conflict (duplicate username, ...)
	ECodeSigned         = "record_signed"   // a signed record cannot be changed: amend it
	ECodeInternal       = "internal"        // our fault; the message carries a request id
	ECodeUnavailable    = "unavailable"     // try again later
	ECodeTooManyCases   = "too_many_cases"  // a report computed case by case would cover more cases than the server's limit: narrow it
	ECodeBusy           = "busy"            // the server computes as many reports at once as it may: see Retry-After
)

// httpStatus is the one table from error codes to HTTP statuses, used by
// every HTTP edge (the server's JSON API and dashboard, the tablet's local
// API and officer app).
var httpStatus = map[string]int{
	ECodeInvalid:        http.StatusBadRequest,
	ECodeRequired:       http.StatusBadRequest,
	ECodeWrongType:      http.StatusBadRequest,
	ECodeUnknownField:   http.StatusBadRequest,
	ECodeMalformed:      http.StatusBadRequest,
	ECodeUnknownEntity:  http.StatusNotFound,
	ECodeNotFound:       http.StatusNotFound,
	ECodeTooLarge:       http.StatusRequestEntityTooLarge,
	ECodeUnauthorized:   http.StatusUnauthorized,
	ECodeTokenExpired:   http.StatusUnauthorized,
	ECodeRefreshReused:  http.StatusUnauthorized,
	ECodeLocked:         http.StatusUnauthorized,
	ECodeLeaseExpired:   http.StatusLocked,
	ECodeForbidden:      http.StatusForbidden,
	ECodeOutOfScope:     http.StatusForbidden,
	ECodeDeviceRevoked:  http.StatusForbidden,
	ECodeConflict:       http.StatusConflict,
	ECodeSigned:         http.StatusConflict,
	ECodeRateLimited:    http.StatusTooManyRequests,
	ECodeUpdateRequired: http.StatusUpgradeRequired,
	ECodeInternal:       http.StatusInternalServerError,
	ECodeUnavailable:    http.StatusServiceUnavailable,
	ECodeTooManyCases:   http.StatusUnprocessableEntity,
	ECodeBusy:           http.StatusServiceUnavailable,
}

// HTTPStatus returns the HTTP status that answers an error of code, and 0
// for a code not in the table: that is a bug of ours, and each edge decides
// how to answer it (the server logs it and answers "internal error").
func HTTPStatus(code string) int { return httpStatus[code] }

// Error is Doorstep's one error type: a stable code, the field at fault (empty
// when the whole request is at fault) and a message for a person.
type Error struct {
	Code    string `json:"code"`
	Field   string `json:"field,omitempty"`
	Message string `json:"message"`
	// Errors lists every error of a request that has several (each names
	// its field), the first being this one: a form shows them all at
	// once. nil when there is one (JoinErrors; read them with All). A
	// pointer, so that an Error stays comparable with ==.
	Errors *ErrorList `json:"errors,omitempty"`
}

// ErrorList is the errors of a request that has several.
type ErrorList []Error

// All returns every error e stands for: its Errors, or e alone.
func (e *Error) All() []Error {
	if e.Errors != nil && len(*e.Errors) > 0 {
		return *e.Errors
	}
	return []Error{{Code: e.Code, Field: e.Field, Message: e.Message}}
}

func (e *Error) Error() string {
	more := ""
	if n := len(e.All()); n > 1 {
		more = fmt.Sprintf(" and %d more", n-1)
	}
	if e.Field != "" {
		return fmt.Sprintf("%s: %s (%s)%s", e.Field, e.Message, e.Code, more)
	}
	return fmt.Sprintf("%s (%s)%s", e.Message, e.Code, more)
}

// JoinErrors returns nil for no errors, the error itself for one, and for
// several the first with Errors listing them all.
func JoinErrors(errs []*Error) error {
	switch len(errs) {
	case 0:
		return nil
	case 1:
		return errs[0]
	}
	out := *errs[0]
	list := make(ErrorList, len(errs))
	for i, e := range errs {
		list[i] = Error{Code: e.Code, Field: e.Field, Message: e.Message}
	}
	out.Errors = &list
	return &out
}

// WithFieldPrefix returns e with prefix and a dot before its field and the
// fields of its Errors ("fields.children[0].seen"); a field-less error
// takes the prefix alone.
func (e *Error) WithFieldPrefix(prefix string) *Error {
	out := &Error{Code: e.Code, Field: joinField(prefix, e.Field), Message: e.Message}
	if e.Errors != nil {
		list := make(ErrorList, 0, len(*e.Errors))
		for _, sub := range *e.Errors {
			list = append(list, Error{Code: sub.Code, Field: joinField(prefix, sub.Field), Message: sub.Message})
		}
		out.Errors = &list
	}
	return out
}

func joinField(prefix, field string) string {
	if field == "" {
		return prefix
	}
	return prefix + "." + field
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
