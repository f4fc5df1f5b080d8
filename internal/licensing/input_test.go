package licensing_test

import (
	"encoding/json"
	"testing"

	"github.com/keyboxhq/keybox/internal/licensing"
)

// TestIsJSONText: the bytes of a JSON value are checked as they were sent,
// because encoding/json decodes NUL escapes to NUL and turns invalid UTF-8
// and unpaired surrogates into U+FFFD without a word.
func TestIsJSONText(t *testing.T) {
	for _, tc := range []struct {
		raw  string
		want bool
	}{
		{`"plain"`, true},
		{`{"a":["b",1,null]}`, true},
		{`"caf\u00e9 é \ud83d\udca5 \ufffd \u200f"`, true},
		{`"\\u0000"`, true},         // a backslash, then the letters u0000
		{`"\\\\\u0041"`, true},      // two backslashes, then A
		{`"\"\/\b\f\n\r\t"`, true},  // every one-letter escape
		{`"\uD83D\uDCA5"`, true},    // upper-case hex
		{"\"\xef\xbf\xbd\"", true},  // U+FFFD itself, in UTF-8
		{`"\u0000"`, false},         // NUL
		{`{"a":"x\u0000"}`, false},  // deeper
		{`{"\u0000":1}`, false},     // in a member name
		{`"\\\u0000"`, false},       // an escaped backslash, then NUL
		{"\"\xff\"", false},         // invalid UTF-8
		{"\"caf\xc3\"", false},      // a sequence cut short
		{"\"\xed\xa0\x80\"", false}, // a surrogate encoded in UTF-8
		{"\"\xc0\x80\"", false},     // an overlong NUL
		{`"\ud800"`, false},         // the first half of a pair, alone
		{`"\ud800x"`, false},
		{`"\ud800\u0041"`, false},  // followed by something else
		{`"\udc00"`, false},        // the second half, alone
		{`"\udfff\ud800"`, false},  // the halves in the wrong order
		{`"\ud800\\udc00"`, false}, // the second half is not an escape
	} {
		if got := licensing.IsJSONText([]byte(tc.raw)); got != tc.want {
			t.Errorf("IsJSONText(%q) = %v, want %v", tc.raw, got, tc.want)
		}
	}
	for _, s := range []string{"", "plain", "é\U0001F4A5", "\ufffd"} {
		if !licensing.IsText(s) {
			t.Errorf("IsText(%q) = false, want true", s)
		}
	}
	for _, s := range []string{"\x00", "a\x00", "\xff", "\xed\xa0\x80"} {
		if licensing.IsText(s) {
			t.Errorf("IsText(%q) = true, want false", s)
		}
	}
}

// TestTextNotText: a Text holding a string that is not text is a value of
// the wrong type with nothing in it, so that no rule can pass it on.
func TestTextNotText(t *testing.T) {
	for _, raw := range []string{`"a\u0000b"`, "\"\xff\"", `"\ud800"`} {
		var in struct{ Name licensing.Text }
		if err := json.Unmarshal([]byte(`{"Name":`+raw+`}`), &in); err != nil {
			t.Fatal(err)
		}
		if want := (licensing.Text{Present: true, WrongType: true, NotText: true}); in.Name != want {
			t.Errorf("%q decodes to %+v, want %+v", raw, in.Name, want)
		}
	}
	var in struct{ Name licensing.Text }
	if err := json.Unmarshal([]byte(`{"Name":"caf\u00e9"}`), &in); err != nil || in.Name != licensing.Str("café") {
		t.Errorf("valid text decodes to %+v (%v)", in.Name, err)
	}
}
