// Package gatehouse holds the domain of Gatehouse: its types, the permission
// grammar, the service interfaces and the error model. Every dependency
// (SQL, HTTP, SMTP) lives in a subpackage under internal/ and points here.
package gatehouse

import (
	"errors"
	"fmt"
)

// Error codes. Each maps to exactly one HTTP status, in internal/http.
const (
	ECONFLICT       = "conflict"        // 409
	EINTERNAL       = "internal"        // 500
	EINVALID        = "invalid"         // 400
	ENOTFOUND       = "not_found"       // 404
	EUNAUTHORIZED   = "unauthorized"    // 401
	EFORBIDDEN      = "forbidden"       // 403
	EGONE           = "gone"            // 410
	ETOOLARGE       = "too_large"       // 413
	EUNSUPPORTED    = "unsupported"     // 415
	ERATELIMITED    = "rate_limited"    // 429
	EUNAVAILABLE    = "unavailable"     // 503
	EMETHOD         = "method"          // 405
	ENOTIMPLEMENTED = "not_implemented" // 501
	EUNPROCESSABLE  = "unprocessable"   // 422: well-formed but refused, like a webhook URL of a private address
)

// FieldError names one invalid input field by its path, e.g.
// "permissions[1].permission[0].action".
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Error is the one error type that crosses from services to transports.
// Code and Message are safe to show to a client; Cause is only logged.
type Error struct {
	Code    string
	Message string
	// Reason is an optional machine-readable refinement of Code, such as
	// "email_not_verified" or "email_mismatch".
	Reason string
	Fields []FieldError
	// Extra holds additional safe members for the problem body, such as
	// "invitation_status" or "existing_id".
	Extra map[string]any
	// RetryAfter is set, in seconds, on rate-limit errors.
	RetryAfter int
	Cause      error
}

func (e *Error) Error() string {
	if e.Cause != nil {
		return fmt.Sprintf("gatehouse: %s: %s: %v", e.Code, e.Message, e.Cause)
	}
	return fmt.Sprintf("gatehouse: %s: %s", e.Code, e.Message)
}

func (e *Error) Unwrap() error { return e.Cause }

// Errorf returns an *Error with the given code and formatted safe message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Invalid returns a validation error listing the offending fields.
func Invalid(message string, fields ...FieldError) *Error {
	return &Error{Code: EINVALID, Message: message, Fields: fields}
}

// Internal wraps an unexpected cause; the client sees only a generic message.
func Internal(cause error) *Error {
	return &Error{Code: EINTERNAL, Message: "An internal error occurred.", Cause: cause}
}

// ErrorCode returns the code of err, EINTERNAL for errors that are not *Error
// and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// AsError returns err as an *Error, wrapping unknown errors as internal.
func AsError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return Internal(err)
}
