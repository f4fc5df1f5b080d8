package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"reflect"
	"sync"

	"github.com/keyboxhq/keybox"
	"github.com/keyboxhq/keybox/internal/licensing"
)

// Codes that exist only at the HTTP layer.
const (
	codeTooLarge keybox.Code = "too_large"
	// codeNotReady is /readyz's 503: a state of the server, not an answer
	// to retry as keybox.Unavailable's is.
	codeNotReady keybox.Code = "not_ready"
)

// statusOf is the one table from error codes to HTTP statuses.
var statusOf = map[keybox.Code]int{
	keybox.Invalid:      http.StatusBadRequest,
	keybox.Unauthorized: http.StatusUnauthorized,
	keybox.Forbidden:    http.StatusForbidden,
	keybox.NotFound:     http.StatusNotFound,
	keybox.Conflict:     http.StatusConflict,
	keybox.RateLimited:  http.StatusTooManyRequests,
	keybox.Internal:     http.StatusInternalServerError,
	keybox.Unavailable:  http.StatusServiceUnavailable,
	codeTooLarge:        http.StatusRequestEntityTooLarge,
	codeNotReady:        http.StatusServiceUnavailable,
}

// retryUnavailable is the Retry-After, in seconds, of a 503: the database
// had no connection to spare, which a moment usually cures.
const retryUnavailable = "2"

// Errors of a request the server cannot read, whatever its route.
var (
	errInvalidJSON  = &keybox.Error{Code: keybox.Invalid, Message: "Invalid JSON body"}
	errBodyTooLarge = &keybox.Error{Code: codeTooLarge, Message: "Request body too large"}
)

var contentTypeJSON = []string{"application/json; charset=utf-8"}

// writeJSON sends v with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header()["Content-Type"] = contentTypeJSON
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v) // a failed write means the client has gone; nothing to tell it
}

// answerError is how every handler's error is answered: a refused rate limit
// as its exact 429, a public license API refusal through that API's answer
// (signed for the request's nonce), a known error with its message and
// fields, and anything else as a 500 whose cause goes only to the log. env
// adds the members that the route's error answers carry.
func (s *Server) answerError(w http.ResponseWriter, r *http.Request, env envelope, err error) {
	var limited *limitedError
	if errors.As(err, &limited) {
		refuse(w, limited.status)
		return
	}
	var refused *publicError
	if errors.As(err, &refused) {
		s.answerRefusal(w, r, refused, env)
		return
	}
	status, body := s.errorBody(w, r, err, env.members())
	writeJSON(w, status, body)
}

// errorBody is the status and JSON body of err: its message, the fields it
// carries and extra; for an unexpected error, "Internal server error" and
// the request's id, under which the cause is logged.
func (s *Server) errorBody(w http.ResponseWriter, r *http.Request, err error, extra map[string]any) (int, map[string]any) {
	var e *keybox.Error
	if !errors.As(err, &e) || statusOf[e.Code] == 0 || e.Code == keybox.Internal {
		id := requestID(w)
		attrs := []slog.Attr{slog.String("requestId", id), slog.String("method", r.Method)}
		attrs = append(s.addressed(r, attrs), slog.Any("error", err))
		s.log.LogAttrs(r.Context(), slog.LevelError, "request failed", attrs...)
		return http.StatusInternalServerError, map[string]any{"message": "Internal server error", "requestId": id}
	}
	if e.Code == keybox.Unavailable {
		// Not the client's doing: say when to come back, and tell the operator.
		w.Header().Set("Retry-After", retryUnavailable)
		attrs := []slog.Attr{slog.String("requestId", requestID(w)), slog.String("method", r.Method)}
		attrs = append(s.addressed(r, attrs), slog.Any("error", err))
		s.log.LogAttrs(r.Context(), slog.LevelWarn, "request refused: database busy", attrs...)
	}
	body := make(map[string]any, len(e.Fields)+len(extra)+1)
	for k, v := range extra {
		body[k] = v
	}
	for k, v := range e.Fields {
		body[k] = v
	}
	body["message"] = e.Message
	return statusOf[e.Code], body
}

// decode reads a JSON object body into v. An empty body is an empty object
// (curl -X POST with no data). A member of the wrong type becomes a
// validation error naming it; anything unparseable is "Invalid JSON body".
// A string that is not text is refused as nonTextMember says.
func decode(r *http.Request, v any) error { return decodeBody(r, v, false) }

// decodePublic is decode for the public license API, where a member of the
// wrong type counts as absent (so a numeric key is "required"), as KeyBox's
// SDKs expect.
func decodePublic(r *http.Request, v any) error { return decodeBody(r, v, true) }

// bodyBuffers are reused: the public API reads small bodies very often.
var bodyBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

func decodeBody(r *http.Request, v any, lenient bool) error {
	buf := bodyBuffers.Get().(*bytes.Buffer)
	defer func() {
		if buf.Cap() <= 64<<10 {
			buf.Reset()
			bodyBuffers.Put(buf)
		}
	}()
	if _, err := buf.ReadFrom(r.Body); err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return errBodyTooLarge
		}
		return errInvalidJSON
	}
	body := bytes.TrimSpace(buf.Bytes())
	if len(body) == 0 {
		return nil
	}
	if body[0] != '{' {
		return errInvalidJSON
	}
	if c, ok := v.(*licensing.Check); ok && lenient && decodePlainCheck(body, c) {
		return nil
	}
	if err := json.Unmarshal(body, v); err != nil {
		var typeErr *json.UnmarshalTypeError
		if !errors.As(err, &typeErr) || typeErr.Field == "" {
			return errInvalidJSON
		}
		if !lenient {
			return validationError(typeErr.Field, "must be "+kindName(typeErr.Type))
		}
	}
	if !licensing.IsJSONText(body) {
		if name := nonTextMember(body, v); name != "" {
			return validationError(name, licensing.ReasonNotText)
		}
	}
	return nil
}

// validationError is the 400 "Validation error" for one member: which
// member, and why, in "errors" and as a sentence in "details".
func validationError(field, reason string) *keybox.Error {
	return (&keybox.Error{Code: keybox.Invalid, Message: "Validation error"}).
		With("errors", map[string]string{field: reason}).
		With("details", field+" "+reason+".")
}

// kindName names the JSON type a Go type is decoded from.
func kindName(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	}
	return "an object"
}

// decodePlainCheck decodes the body every installed application sends to
// the public license API, an object of a few short plain strings such as
// {"key":"…","machineId":"…"}, without encoding/json's reflection: the hot
// path's decoding, in a fraction of its time and in one allocation. It
// takes only bodies whose meaning is beyond doubt: members named exactly as
// Check's string members, each a string of printable ASCII without escapes,
// and nothing else. For any other body it reports false and leaves c
// alone, and encoding/json decides, with its answers and its errors (an
// escape, a number, entitlements, a name in other case, invalid JSON).
func decodePlainCheck(body []byte, c *licensing.Check) bool {
	var spans [5][2]int // where each member's value lies in body
	var set [5]bool
	i := skipSpace(body, 1)
	if i < len(body) && body[i] == '}' {
		return i+1 == len(body)
	}
	for {
		name, end, ok := plainString(body, i)
		if !ok {
			return false
		}
		m := checkMember(body[name:end])
		if m < 0 {
			return false
		}
		i = skipSpace(body, end+1)
		if i >= len(body) || body[i] != ':' {
			return false
		}
		var vStart, vEnd int
		if vStart, vEnd, ok = plainString(body, skipSpace(body, i+1)); !ok {
			return false
		}
		spans[m], set[m] = [2]int{vStart, vEnd}, true // the last of two wins, as in encoding/json
		i = skipSpace(body, vEnd+1)
		if i >= len(body) {
			return false
		}
		if body[i] == '}' {
			if i+1 != len(body) {
				return false
			}
			break
		}
		if body[i] != ',' {
			return false
		}
		i = skipSpace(body, i+1)
	}
	text := string(body) // one allocation; the members are slices of it
	fields := [5]*string{&c.Key, &c.MachineID, &c.InstanceID, &c.ProductName, &c.Nonce}
	for m, sp := range spans {
		if set[m] {
			*fields[m] = text[sp[0]:sp[1]]
		}
	}
	return true
}

// checkMember is the index of a string member of licensing.Check named
// exactly name (in the order decodePlainCheck fills them), or -1.
func checkMember(name []byte) int {
	switch string(name) { // no allocation: the compiler compares in place
	case "key":
		return 0
	case "machineId":
		return 1
	case "instanceId":
		return 2
	case "productName":
		return 3
	case "nonce":
		return 4
	}
	return -1
}

// plainString finds the JSON string that starts at body[i] when it holds
// only printable ASCII and no escape: its contents are body[start:end], and
// body[end] is its closing quote.
func plainString(body []byte, i int) (start, end int, ok bool) {
	if i >= len(body) || body[i] != '"' {
		return 0, 0, false
	}
	for j := i + 1; j < len(body); j++ {
		switch c := body[j]; {
		case c == '"':
			return i + 1, j, true
		case c < 0x20 || c >= 0x7f || c == '\\':
			return 0, 0, false
		}
	}
	return 0, 0, false
}

// skipSpace skips JSON's whitespace from body[i].
func skipSpace(body []byte, i int) int {
	for i < len(body) && (body[i] == ' ' || body[i] == '\t' || body[i] == '\n' || body[i] == '\r') {
		i++
	}
	return i
}
