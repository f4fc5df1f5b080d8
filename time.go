package keybox

import (
	"encoding/json"
	"fmt"
	"time"
)

// TimeLayout is the wire form of every time: RFC 3339, UTC, milliseconds.
const TimeLayout = "2006-01-02T15:04:05.000Z07:00"

// Time is an instant at millisecond precision. It is encoded as RFC 3339 UTC
// with milliseconds ("2024-01-01T00:00:00.000Z"), and as null when zero, so
// both storage engines and the wire round-trip it identically.
type Time struct{ time.Time }

// NewTime returns t in UTC, truncated to the millisecond.
func NewTime(t time.Time) Time {
	if t.IsZero() {
		return Time{}
	}
	return Time{t.UTC().Truncate(time.Millisecond)}
}

// TimeFromMillis returns the instant ms milliseconds after the Unix epoch.
func TimeFromMillis(ms int64) Time { return Time{time.UnixMilli(ms).UTC()} }

// Millis returns t as Unix milliseconds.
func (t Time) Millis() int64 { return t.UnixMilli() }

// String formats t as on the wire; the zero time is empty.
func (t Time) String() string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(TimeLayout)
}

// MarshalJSON encodes t as an RFC 3339 string with milliseconds, or null.
func (t Time) MarshalJSON() ([]byte, error) {
	return t.AppendJSON(make([]byte, 0, len(TimeLayout)+2)), nil
}

// AppendJSON appends t as MarshalJSON encodes it.
func (t Time) AppendJSON(b []byte) []byte {
	if t.IsZero() {
		return append(b, "null"...)
	}
	b = append(b, '"')
	b = t.UTC().AppendFormat(b, TimeLayout)
	return append(b, '"')
}

// UnmarshalJSON accepts an RFC 3339 string or null.
func (t *Time) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*t = Time{}
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("time: %w", err)
	}
	p, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return fmt.Errorf("time: %w", err)
	}
	*t = NewTime(p)
	return nil
}

func unmarshalString(b []byte, s *string) error { return json.Unmarshal(b, s) }
