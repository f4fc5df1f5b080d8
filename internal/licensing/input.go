package licensing

import (
	"bytes"
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Text is a JSON member meant to hold a string, as it was sent: absent (or
// null), a string, or a value of another type. Rules decide what each case
// means, in the order the API checks them, instead of the decoder failing first.
type Text struct {
	Value     string
	Present   bool
	WrongType bool
	// NotText marks a string that is not text (see IsText). It is also
	// WrongType, with an empty Value: every rule takes it as it takes a number
	// sent for a string, and nothing of it can reach a store.
	NotText bool
}

// ReasonNotText is the "Validation error" reason for a member, parameter or
// path segment that is not text.
const ReasonNotText = "must be UTF-8 text without NUL characters"

// IsText reports whether s is text: valid UTF-8 without NUL. Anything else is
// refused wherever it comes in, because the engines disagree about it:
// PostgreSQL rejects it, SQLite would store it and give back something else.
func IsText(s string) bool {
	return utf8.ValidString(s) && strings.IndexByte(s, 0) < 0
}

// IsJSONText reports whether every string in the JSON text raw decodes to
// text. encoding/json does not refuse such strings: it turns invalid UTF-8
// and unpaired surrogate escapes into U+FFFD and "\u0000" into NUL, so the
// bytes are checked as they were sent. raw must be valid JSON (a value the
// decoder accepted), where a backslash only ever starts an escape.
func IsJSONText(raw []byte) bool {
	if bytes.IndexByte(raw, '\\') < 0 {
		return utf8.Valid(raw) // the common case, in a few vector instructions
	}
	for i := 0; i < len(raw); i++ {
		switch c := raw[i]; {
		case c >= utf8.RuneSelf:
			r, size := utf8.DecodeRune(raw[i:])
			if r == utf8.RuneError && size == 1 {
				return false
			}
			i += size - 1
		case c == '\\':
			if i+1 < len(raw) && raw[i+1] == 'u' {
				r := hex4(raw[i+2:])
				switch {
				case r == 0, r < 0:
					return false
				case r >= 0xDC00 && r <= 0xDFFF: // the second half of a pair, alone
					return false
				case r >= 0xD800 && r <= 0xDBFF: // the first half: the second must follow
					if i+11 >= len(raw) || raw[i+6] != '\\' || raw[i+7] != 'u' {
						return false
					}
					if low := hex4(raw[i+8:]); low < 0xDC00 || low > 0xDFFF {
						return false
					}
					i += 6
				}
				i += 5
			} else {
				i++ // a one-letter escape, which is never NUL
			}
		}
	}
	return true
}

// hex4 decodes the four hexadecimal digits at the start of b, or returns -1.
func hex4(b []byte) rune {
	if len(b) < 4 {
		return -1
	}
	var r rune
	for _, c := range b[:4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return -1
		}
		r = r<<4 | rune(c)
	}
	return r
}

// UnmarshalJSON records what was sent; it never fails.
func (t *Text) UnmarshalJSON(b []byte) error {
	*t = Text{}
	b = bytes.TrimSpace(b)
	switch {
	case bytes.Equal(b, []byte("null")):
	case len(b) > 0 && b[0] == '"':
		t.Present = true
		if !IsJSONText(b) {
			t.WrongType, t.NotText = true, true
			return nil
		}
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
