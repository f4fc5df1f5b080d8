package client

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// APIError is an answer outside 2xx: the HTTP status and the body KeyBox
// sends: its message and any details. Use errors.As to read it, and Status or Message to act on
// it; the messages are KeyBox's exact sentences.
type APIError struct {
	// Status is the HTTP status code.
	Status int
	// Message is the body's "message" (for a 429, its "errors" sentence).
	Message string
	// Field names the member a 409 conflicts on ("email", "key").
	Field string
	// Errors are the per-member reasons of a 400 "Validation error".
	Errors map[string]string
	// Details is the one-sentence summary of a validation error.
	Details string
	// RequestID ties a 500 to the server's log line.
	RequestID string
	// RetryAfter is how long to wait after a 429, when the server says.
	RetryAfter time.Duration
	// Body is the raw answer, for anything the fields above do not hold.
	Body []byte
}

func (e *APIError) Error() string {
	var b strings.Builder
	b.WriteString(e.Message)
	if e.Details != "" && e.Details != e.Message {
		b.WriteString(": ")
		b.WriteString(e.Details)
	}
	fmt.Fprintf(&b, " (HTTP %d", e.Status)
	if e.RequestID != "" {
		b.WriteString(", request ")
		b.WriteString(e.RequestID)
	}
	b.WriteString(")")
	return b.String()
}

// StatusOf returns the HTTP status of an *APIError in err's chain, or 0.
func StatusOf(err error) int {
	var e *APIError
	if errors.As(err, &e) {
		return e.Status
	}
	return 0
}

func newAPIError(resp *http.Response, raw []byte) *APIError {
	e := &APIError{Status: resp.StatusCode, Body: raw}
	if s := resp.Header.Get("Retry-After"); s != "" {
		if n, err := strconv.Atoi(s); err == nil && n >= 0 {
			e.RetryAfter = time.Duration(n) * time.Second
		}
	}
	var body struct {
		Message   string          `json:"message"`
		Field     string          `json:"field"`
		Errors    json.RawMessage `json:"errors"`
		Details   string          `json:"details"`
		RequestID string          `json:"requestId"`
	}
	if json.Unmarshal(raw, &body) != nil {
		// Not KeyBox's JSON: a proxy's error page, say.
		e.Message = http.StatusText(resp.StatusCode)
		if e.Message == "" {
			e.Message = "HTTP " + strconv.Itoa(resp.StatusCode)
		}
		return e
	}
	e.Message, e.Field, e.Details, e.RequestID = body.Message, body.Field, body.Details, body.RequestID
	if e.RequestID == "" && e.Status >= 500 {
		e.RequestID = resp.Header.Get("X-Request-Id")
	}
	// "errors" is an object on a validation error and a sentence on a 429.
	errs := bytes.TrimSpace(body.Errors)
	switch {
	case len(errs) > 0 && errs[0] == '{':
		_ = json.Unmarshal(errs, &e.Errors)
	case len(errs) > 0 && errs[0] == '"':
		var s string
		if json.Unmarshal(errs, &s) == nil && e.Message == "" {
			e.Message = s
		}
	}
	if e.Message == "" {
		e.Message = http.StatusText(resp.StatusCode)
	}
	return e
}
