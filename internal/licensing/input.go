package licensing

import (
	"bytes"
	"encoding/json"
	"math"
	"strconv"
	"strings"
)

// Text is a JSON member meant to hold a string, as it was sent: absent (or
// null), a string, or a value of another type. Rules decide what each case
// means, in the order the API checks them, instead of the decoder failing first.
type Text struct {
	Value     string
	Present   bool
	WrongType bool
}

// UnmarshalJSON records what was sent; it never fails.
func (t *Text) UnmarshalJSON(b []byte) error {
	*t = Text{}
	b = bytes.TrimSpace(b)
	switch {
	case bytes.Equal(b, []byte("null")):
	case len(b) > 0 && b[0] == '"':
		t.Present = true
		if err := json.Unmarshal(b, &t.Value); err != nil {
			t.WrongType = true
		}
	default:
		t.Present, t.WrongType = true, true
	}
	return nil
}

// Str makes a Text holding s, for callers in Go.
func Str(s string) Text { return Text{Value: s, Present: true} }

// Trimmed returns the value without surrounding spaces.
func (t Text) Trimmed() string { return strings.TrimSpace(t.Value) }

// Blank reports a member that is absent, null or an empty or blank string.
func (t Text) Blank() bool { return !t.WrongType && t.Trimmed() == "" }

// Int is a JSON member meant to hold an integer. Forms send numbers as
// strings, so "6" is accepted as 6; 6.5, "six" and true are not integers.
type Int struct {
	Value   int
	Present bool
	Valid   bool
}

// UnmarshalJSON records what was sent; it never fails.
func (n *Int) UnmarshalJSON(b []byte) error {
	*n = Int{}
	b = bytes.TrimSpace(b)
	if bytes.Equal(b, []byte("null")) {
		return nil
	}
	n.Present = true
	s := string(b)
	if len(b) > 0 && b[0] == '"' {
		if err := json.Unmarshal(b, &s); err != nil {
			return nil
		}
		s = strings.TrimSpace(s)
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(f, 0) || f != math.Trunc(f) || math.Abs(f) > 1e9 {
		return nil
	}
	n.Value, n.Valid = int(f), true
	return nil
}

// Num makes an Int holding v, for callers in Go.
func Num(v int) Int { return Int{Value: v, Present: true, Valid: true} }

// In reports whether the value is a valid integer within [lo, hi].
func (n Int) In(lo, hi int) bool { return n.Valid && n.Value >= lo && n.Value <= hi }
