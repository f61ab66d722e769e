package airlock

import (
	"errors"
	"fmt"
)

// Error codes. Each maps to one HTTP status in the API and to one exit
// behaviour in the CLI; internal errors never carry user-visible detail.
const (
	EINVALID      = "invalid"      // the request is malformed or breaks a rule
	EUNAUTHORIZED = "unauthorized" // no valid credential
	EFORBIDDEN    = "forbidden"    // a valid credential without the right
	ENOTFOUND     = "not_found"
	ECONFLICT     = "conflict"    // already exists, or the state does not allow it
	EUNAVAILABLE  = "unavailable" // a dependency (store, upstream) cannot serve now
	EINTERNAL     = "internal"
)

// Error is an application error whose Message is written for the person who
// reads it (CLI user, API client). Wrap internal causes with fmt.Errorf and %w
// instead; ErrorCode and ErrorMessage hide them behind EINTERNAL.
type Error struct {
	Code    string
	Message string
}

// Error implements the error interface.
func (e *Error) Error() string { return fmt.Sprintf("%s: %s", e.Code, e.Message) }

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL
// for any other non-nil error, and "" for nil.
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

// ErrorMessage returns the user-visible message of err: the message of the
// first *Error in its chain, or "internal error" for anything else.
func ErrorMessage(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}
