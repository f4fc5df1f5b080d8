package keybox

import (
	"errors"
	"fmt"
)

// Code classifies an error; the server maps each code to one HTTP status.
type Code string

// Error codes.
const (
	Invalid      Code = "invalid"
	Unauthorized Code = "unauthorized"
	Forbidden    Code = "forbidden"
	NotFound     Code = "not_found"
	Conflict     Code = "conflict"
	RateLimited  Code = "rate_limited"
	Internal     Code = "internal"
	// Unavailable: the server cannot do the work now but may in a moment
	// (the database has no connection to spare); the client should retry.
	Unavailable Code = "unavailable"
)

// Error is an error a user may see. Message is the sentence sent to the client
// (KeyBox's exact strings); Fields are extra members of the JSON error body,
// such as "field" on a conflict or "errors" on a validation error.
type Error struct {
	Code    Code
	Message string
	Fields  map[string]any
}

func (e *Error) Error() string { return fmt.Sprintf("%s: %s", e.Code, e.Message) }

// With returns a copy of e with one more field in its JSON body.
func (e *Error) With(key string, value any) *Error {
	f := make(map[string]any, len(e.Fields)+1)
	for k, v := range e.Fields {
		f[k] = v
	}
	f[key] = value
	return &Error{Code: e.Code, Message: e.Message, Fields: f}
}

// ErrorCode returns the code of the first *Error in err's chain, Internal for
// any other non-nil error, and "" for nil.
func ErrorCode(err error) Code {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return Internal
}

// IsCode reports whether err carries code.
func IsCode(err error, code Code) bool { return ErrorCode(err) == code }

// Errors a Store returns. The licensing service turns them into KeyBox's
// messages; they are never shown as they are.
var (
	// ErrNotFound: no row matches (or it belongs to another owner).
	ErrNotFound = &Error{Code: NotFound, Message: "Not found"}
	// ErrDuplicate: a unique value (an email, a key) is taken.
	ErrDuplicate = &Error{Code: Conflict, Message: "Already exists"}
	// ErrInUse: the row is still referenced by others, or references a missing one.
	ErrInUse = &Error{Code: Conflict, Message: "Still in use"}
	// ErrUnavailable: no database connection could be had in time (the pool
	// stayed busy, or the database server refused more connections). Unlike
	// the others it reaches the client as it is, as a retryable answer.
	ErrUnavailable = &Error{Code: Unavailable, Message: "Service temporarily unavailable"}
)
