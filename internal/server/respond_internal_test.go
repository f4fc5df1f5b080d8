package server

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/keyboxhq/keybox/internal/licensing"
)

// plainCheckBodies are bodies of the public license API: the ones the fast
// decoder takes, and the ones it must leave to encoding/json.
var plainCheckBodies = []struct {
	body  string
	plain bool
}{
	{`{}`, true},
	{`{ }`, true},
	{`{"key":"K-1","machineId":"laptop"}`, true},
	{"{\n\t\"key\" : \"K-1\" ,\r\n \"nonce\":\"abcdefgh\"\n}", true},
	{`{"key":"a","key":"b"}`, true},
	{`{"key":"","machineId":"m","instanceId":"i","productName":"p","nonce":"n"}`, true},
	{`{"key":"a b ~!@#$%^&*()_+{}[]:;'<>,.?/"}`, true},
	{`{"Key":"K-1"}`, false},                   // encoding/json matches names in any case
	{`{"key":"K\u002d1"}`, false},              // an escape
	{`{"key":"K\\1"}`, false},                  // an escaped backslash
	{`{"key":"caf` + "\xc3\xa9" + `"}`, false}, // not ASCII
	{"{\"key\":\"\xff\"}", false},              // not UTF-8
	{"{\"key\":\"a\x00b\"}", false},            // a control character
	{`{"key":1}`, false},
	{`{"key":null}`, false},
	{`{"entitlements":["pro"]}`, false},
	{`{"other":"x"}`, false},
	{`{"key":"a",}`, false},
	{`{"key":"a"`, false},
	{`{"key":"a"}}`, false},
	{`{"key":"a"} x`, false},
	{`{"key" "a"}`, false},
	{`{"key":"a" "machineId":"b"}`, false},
	{`{"key":"a`, false},
	{`{,}`, false},
	{`{`, false},
}

// TestDecodePlainCheck: the fast decoder takes the plain bodies, decodes
// them as encoding/json does, and leaves every other one alone.
func TestDecodePlainCheck(t *testing.T) {
	for _, tc := range plainCheckBodies {
		t.Run(tc.body, func(t *testing.T) {
			var got licensing.Check
			if ok := decodePlainCheck([]byte(tc.body), &got); ok != tc.plain {
				t.Fatalf("decodePlainCheck(%q) = %v, want %v", tc.body, ok, tc.plain)
			}
			if !tc.plain {
				if !equalChecks(got, licensing.Check{}) {
					t.Fatalf("decodePlainCheck(%q) changed the check: %+v", tc.body, got)
				}
				return
			}
			var want licensing.Check
			if err := json.Unmarshal([]byte(tc.body), &want); err != nil {
				t.Fatalf("encoding/json refuses %q: %v", tc.body, err)
			}
			if !equalChecks(got, want) {
				t.Fatalf("decodePlainCheck(%q) = %+v, want %+v", tc.body, got, want)
			}
		})
	}
}

// FuzzDecodePlainCheck: whatever the fast decoder takes, encoding/json takes
// too, as text, with the same meaning.
//
//	go test -run '^$' -fuzz FuzzDecodePlainCheck ./internal/server/
func FuzzDecodePlainCheck(f *testing.F) {
	for _, tc := range plainCheckBodies {
		f.Add([]byte(tc.body))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		body = bytes.TrimSpace(body)
		if len(body) == 0 || body[0] != '{' {
			return // decodeBody answers these before
		}
		var got licensing.Check
		if !decodePlainCheck(body, &got) {
			if !equalChecks(got, licensing.Check{}) {
				t.Fatalf("decodePlainCheck(%q) refused but changed the check: %+v", body, got)
			}
			return
		}
		var want licensing.Check
		if err := json.Unmarshal(body, &want); err != nil {
			t.Fatalf("decodePlainCheck(%q) took a body encoding/json refuses: %v", body, err)
		}
		if !licensing.IsJSONText(body) {
			t.Fatalf("decodePlainCheck(%q) took a body that is not text", body)
		}
		if !equalChecks(got, want) {
			t.Fatalf("decodePlainCheck(%q) = %+v, encoding/json %+v", body, got, want)
		}
	})
}

func equalChecks(a, b licensing.Check) bool {
	return a.Key == b.Key && a.MachineID == b.MachineID && a.InstanceID == b.InstanceID &&
		a.ProductName == b.ProductName && a.Nonce == b.Nonce && bytes.Equal(a.Entitlements, b.Entitlements)
}
