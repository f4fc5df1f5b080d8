// Package extjson reads what mongoexport writes: documents in MongoDB
// Extended JSON, as one JSON array (--jsonArray) or one document after
// another. It understands the canonical and relaxed forms of Extended JSON
// v2 and the legacy forms of older mongoexport releases, for the few types a
// KeyBox export holds: ObjectIds, dates, numbers, strings and arrays of them.
package extjson

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Doc is one document: its members as they were written.
type Doc map[string]json.RawMessage

// Read calls fn with each document of r, numbered from 1, in the order
// written. It stops at the first error: a record that is not a JSON object,
// text that is not UTF-8, or the error fn returns. A file holding only
// whitespace has no documents.
func Read(r io.Reader, fn func(n int, d Doc) error) error {
	br := bufio.NewReader(r)
	first, err := firstByte(br)
	if errors.Is(err, io.EOF) {
		return nil
	}
	if err != nil {
		return err
	}
	dec := json.NewDecoder(br)
	dec.UseNumber()
	n := 0
	next := func() error {
		n++
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return &RecordError{Record: n, Err: syntax(err, dec)}
		}
		d, err := parseDoc(raw)
		if err != nil {
			return &RecordError{Record: n, Err: err}
		}
		return fn(n, d)
	}
	if first != '[' {
		for dec.More() {
			if err := next(); err != nil {
				return err
			}
		}
		if _, err := dec.Token(); !errors.Is(err, io.EOF) {
			return &RecordError{Record: n + 1, Err: fmt.Errorf("unexpected text after the documents (byte %d)", dec.InputOffset())}
		}
		return nil
	}
	if _, err := dec.Token(); err != nil {
		return syntax(err, dec)
	}
	for dec.More() {
		if err := next(); err != nil {
			return err
		}
	}
	if _, err := dec.Token(); err != nil { // the closing bracket
		return &RecordError{Record: n + 1, Err: syntax(err, dec)}
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return fmt.Errorf("unexpected text after the array (byte %d)", dec.InputOffset())
	}
	return nil
}

// RecordError is a document that could not be read.
type RecordError struct {
	Record int // from 1
	Err    error
}

func (e *RecordError) Error() string { return fmt.Sprintf("record %d: %v", e.Record, e.Err) }

func (e *RecordError) Unwrap() error { return e.Err }

func firstByte(br *bufio.Reader) (byte, error) {
	for {
		b, err := br.ReadByte()
		if err != nil {
			return 0, err
		}
		switch b {
		case ' ', '\t', '\r', '\n':
			continue
		}
		return b, br.UnreadByte()
	}
}

func syntax(err error, dec *json.Decoder) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return errors.New("the file ends in the middle of a document")
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Errorf("invalid JSON at byte %d: %v", se.Offset, se)
	}
	return fmt.Errorf("invalid JSON near byte %d: %v", dec.InputOffset(), err)
}

func parseDoc(raw json.RawMessage) (Doc, error) {
	if !utf8.Valid(raw) {
		return nil, errors.New("not valid UTF-8")
	}
	if t := bytes.TrimSpace(raw); len(t) == 0 || t[0] != '{' {
		return nil, errors.New("not a document (a JSON object)")
	}
	var d Doc
	if err := json.Unmarshal(raw, &d); err != nil {
		return nil, fmt.Errorf("invalid JSON: %v", err)
	}
	return d, nil
}

func isNull(raw json.RawMessage) bool { return string(bytes.TrimSpace(raw)) == "null" }

// member returns the member's text, or nil when absent or null.
func (d Doc) member(name string) json.RawMessage {
	raw, ok := d[name]
	if !ok || isNull(raw) {
		return nil
	}
	return bytes.TrimSpace(raw)
}

// wrapper reads a single-member object {"$type": value}, the form Extended
// JSON gives typed values.
func wrapper(raw json.RawMessage, typ string) (json.RawMessage, bool) {
	if len(raw) == 0 || raw[0] != '{' {
		return nil, false
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil || len(m) != 1 {
		return nil, false
	}
	v, ok := m[typ]
	return bytes.TrimSpace(v), ok
}

// String returns a string member ("" when absent or null). Text holding a
// NUL character is refused: no database column should hold one.
func (d Doc) String(name string) (string, error) {
	raw := d.member(name)
	if raw == nil {
		return "", nil
	}
	s, err := str(raw)
	if err != nil {
		return "", fmt.Errorf("%s: %w", name, err)
	}
	return s, nil
}

func str(raw json.RawMessage) (string, error) {
	if raw[0] != '"' {
		return "", errors.New("want a string")
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", errors.New("want a string")
	}
	if strings.ContainsRune(s, 0) {
		return "", errors.New("holds a NUL character")
	}
	return s, nil
}

// Strings returns an array of strings; a single string counts as an array of
// one (KeyBox's dashboard sent one service as a string). It returns nil when
// the member is absent or null.
func (d Doc) Strings(name string) ([]string, error) {
	raw := d.member(name)
	if raw == nil {
		return nil, nil
	}
	if raw[0] == '"' {
		s, err := str(raw)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		return []string{s}, nil
	}
	var items []json.RawMessage
	if raw[0] != '[' || json.Unmarshal(raw, &items) != nil {
		return nil, fmt.Errorf("%s: want an array of strings", name)
	}
	out := make([]string, 0, len(items))
	for _, it := range items {
		s, err := str(bytes.TrimSpace(it))
		if err != nil {
			return nil, fmt.Errorf("%s: want an array of strings", name)
		}
		out = append(out, s)
	}
	return out, nil
}

// ObjectID returns an ObjectId member, {"$oid": "<24 hex digits>"}, as 24
// lower-case hex digits ("" when absent or null). A plain string of 24 hex
// digits is accepted as well.
func (d Doc) ObjectID(name string) (string, error) {
	raw := d.member(name)
	if raw == nil {
		return "", nil
	}
	if v, ok := wrapper(raw, "$oid"); ok {
		raw = v
	}
	s, err := str(raw)
	if err == nil {
		s = strings.ToLower(s)
		if isHex24(s) {
			return s, nil
		}
	}
	return "", fmt.Errorf("%s: want an ObjectId ({\"$oid\": \"<24 hex digits>\"})", name)
}

func isHex24(s string) bool {
	if len(s) != 24 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// Date returns a date member (the zero time when absent or null), in any of
// the forms mongoexport has written: {"$date": {"$numberLong": "<ms>"}}
// (canonical), {"$date": "<ISO 8601>"} (relaxed), {"$date": <ms>} (legacy);
// a plain ISO 8601 string is accepted as well.
func (d Doc) Date(name string) (time.Time, error) {
	raw := d.member(name)
	if raw == nil {
		return time.Time{}, nil
	}
	t, err := date(raw)
	if err != nil {
		return time.Time{}, fmt.Errorf("%s: %w", name, err)
	}
	return t, nil
}

var errDate = errors.New(`want a date ({"$date": "2024-01-31T12:00:00Z"} or {"$date": {"$numberLong": "<ms>"}})`)

func date(raw json.RawMessage) (time.Time, error) {
	if v, ok := wrapper(raw, "$date"); ok {
		raw = v
	}
	if len(raw) == 0 {
		return time.Time{}, errDate
	}
	if raw[0] == '"' {
		s, err := str(raw)
		if err != nil {
			return time.Time{}, errDate
		}
		for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999Z0700"} {
			if t, err := time.Parse(layout, s); err == nil {
				return t.UTC(), nil
			}
		}
		return time.Time{}, errDate
	}
	ms, err := integer(raw)
	if err != nil {
		return time.Time{}, errDate
	}
	return time.UnixMilli(ms).UTC(), nil
}

// Int returns an integer member and whether it is present (not null). It
// accepts a plain JSON number and {"$numberInt"}, {"$numberLong"},
// {"$numberDouble"} and {"$numberDecimal"} of an integral value.
func (d Doc) Int(name string) (int64, bool, error) {
	raw := d.member(name)
	if raw == nil {
		return 0, false, nil
	}
	n, err := integer(raw)
	if err != nil {
		return 0, true, fmt.Errorf("%s: %w", name, err)
	}
	return n, true, nil
}

var errInteger = errors.New("want an integer")

func integer(raw json.RawMessage) (int64, error) {
	text := ""
	switch {
	case raw[0] == '{':
		for _, typ := range []string{"$numberInt", "$numberLong", "$numberDouble", "$numberDecimal"} {
			if v, ok := wrapper(raw, typ); ok {
				s, err := str(v)
				if err != nil {
					return 0, errInteger
				}
				text = s
				break
			}
		}
	case raw[0] == '-' || (raw[0] >= '0' && raw[0] <= '9'):
		text = string(raw)
	}
	if text == "" {
		return 0, errInteger
	}
	if n, err := strconv.ParseInt(text, 10, 64); err == nil {
		return n, nil
	}
	// 12.0, 1.2e1: integral values written as doubles or decimals.
	f, ok := new(big.Float).SetString(text)
	if !ok || f.IsInf() || !f.IsInt() {
		return 0, errInteger
	}
	n, acc := f.Int64()
	if acc != big.Exact || n == math.MinInt64 {
		return 0, errInteger
	}
	return n, nil
}
