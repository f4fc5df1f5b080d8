package server_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io"
	"math/rand/v2"
	"net/http"
	"sort"
	"strings"
	"testing"
	"unicode/utf8"
)

// TestNoServerErrorForAnyInput sends a fixed corpus of hostile input to
// every route the server lists, on every engine, and fails on any 5xx: NUL
// bytes and invalid UTF-8 in bodies, paths and query strings, numbers too
// large for any column, members of the wrong JSON type, deep nesting, empty
// and huge strings, malformed ids, unknown methods, and a seeded set of
// byte-level mutations of valid bodies. Then it reads back everything the
// developer owns and fails if any of that text was stored.
func TestNoServerErrorForAnyInput(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		t.Parallel() // the engines share nothing; on two cores this halves the time
		f := newFuzzer(t, e)
		for _, route := range fuzzOrder(e.routes()) {
			f.route(route)
		}
		f.checkNothingStored()
		t.Logf("%d requests", f.sent)
	})
}

// fuzzer sends the corpus as one developer, who is the installation's ADMIN
// so that every route is reached as far as its rules allow.
type fuzzer struct {
	t     *testing.T
	e     *env
	email string
	token string
	// ids are the developer's objects, to fill path parameters with.
	userID, clientID, projectID, key, activationID string
	// members are the body members each route documents, by pattern.
	members map[string][]string
	// valid holds a valid value for each body member, so that one member
	// can be spoiled while the others carry the request past validation.
	valid  map[string]json.RawMessage
	n      int // requests made up
	sent   int // requests sent
	failed int
}

func newFuzzer(t *testing.T, e *env) *fuzzer {
	const email = "fuzz@example.com"
	userID, token := e.developer(email)
	clientID := e.client(token, "Acme", "acme@example.com")
	projectID, key := e.projectWithLicense(token, clientID, "Website")
	f := &fuzzer{t: t, e: e, email: email, token: token, userID: userID, clientID: clientID,
		projectID: projectID, key: key, activationID: e.seat(key, "laptop"), members: documentedMembers(t, e)}
	raw := func(v any) json.RawMessage {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	// The account's own email and password, so that a request that
	// succeeds (a profile or password change) leaves the login working.
	f.valid = map[string]json.RawMessage{
		"key": raw(key), "machineId": raw("laptop"), "instanceId": raw("i-1"), "nonce": raw("fuzz-nonce-0001"),
		"name": raw("Fuzzed"), "email": raw(email), "password": raw(pw), "confirm_password": raw(pw),
		"currentPassword": raw(pw), "role": raw("ADMIN"), "clientId": raw(clientID), "projectId": raw(projectID),
		"projectName": raw("Fuzzed"), "duration": raw(1), "services": raw([]string{"Hosting"}), "maxMachines": raw(3),
		"ttl": raw(3600), "leaseSeconds": raw(300), "entitlements": raw([]string{"pro", "export"}),
		"metadata": raw(map[string]any{"plan": "gold", "seats": []int{1, 2}}),
		"policy":   raw(map[string]any{"duration": 6, "maxMachines": 2, "leaseSeconds": 120, "entitlements": []string{"pro"}}),
	}
	return f
}

const pw = "correct horse"

// fuzzOrder puts the routes that delete last, so that the others still find
// the objects they name.
func fuzzOrder(routes []string) []string {
	out := append([]string(nil), routes...)
	sort.SliceStable(out, func(i, j int) bool {
		return !strings.HasPrefix(out[i], "DELETE ") && strings.HasPrefix(out[j], "DELETE ")
	})
	return out
}

// Values of one body member, as JSON text: text that is not text (NUL,
// invalid UTF-8, half a surrogate pair), empty and huge strings, numbers no
// column holds, every other JSON type, deep nesting, and malformed ids.
var memberValues = append(append([]string(nil), notTextValues...),
	`""`, `"   "`, `"`+strings.Repeat("x", 70000)+`"`,
	`4611686018427387904`, `-9223372036854775809`, `1e999`, `-1`, `0`, `2.5`, `"12"`,
	`true`, `null`, `[]`, `{}`, `["\u0000"]`, `[4611686018427387904]`, `{"$gt":""}`,
	strings.Repeat("[", 200)+strings.Repeat("]", 200),
	`"000000000000000000000000"`, `"ffffffffffffffffffffffffff"`, `"'; DROP TABLE licenses; --"`, `"\u202e\ud83d\udca5"`,
)

// Strings that are not text, as JSON: NUL, invalid UTF-8, half a surrogate
// pair (escaped, and encoded in UTF-8).
var notTextValues = []string{
	`"\u0000"`, `"a\u0000b"`, "\"\xff\"", "\"caf\xc3\"", "\"\xed\xa0\x80\"", `"\ud800"`, `"\udfff\ud800"`,
}

// Bodies sent whole, whatever the route.
var wholeBodies = []string{
	"", " ", "null", "[]", "{}", "0", `"x"`, "{", `{"a":}`, `{"a":1}}`, "\x00", "\xff\xfe{}",
	`{"\u0000":"x"}`, "{\"\xff\":1}", `{"a":"\u0000"}`,
	strings.Repeat("[", 10001) + strings.Repeat("]", 10001),
	strings.Repeat(`{"a":`, 10001) + "1" + strings.Repeat("}", 10001),
}

// Values given to every documented member at once.
var everyMemberValues = []string{
	`"\u0000"`, "\"\xff\"", `"\ud800"`, `"` + strings.Repeat("y", 300000) + `"`, `4611686018427387904`, `[]`, `{}`, `true`,
}

// Path parameter values, as they appear in the URL.
var pathValues = []string{
	"%00", "a%00b", "%FF", "caf%C3", "%ED%A0%80", "%EF%BF%BD", strings.Repeat("x", 4000),
	"4611686018427387904", "-1", "0", "000000000000000000000000", "ffffffffffffffffffffffff",
	"%2F", "..", "%2E%2E%2F%2E%2E", "null", "%7B%7D", "%27%3B--", "%20",
}

// Query strings, sent to every route.
func (f *fuzzer) queries() []string {
	return []string{
		"q=%00", "q=a%00b", "q=%FF", "q=%ED%A0%80", "q=%zz", "%00=1", "%FF=%FF", "q=" + strings.Repeat("z", 3000),
		"page=4611686018427387904", "limit=4611686018427387904", "page=4611686018427387904&limit=4611686018427387904",
		"page=9223372036854775807", "page=99999999999999999999", "page=-1", "page=0", "limit=0", "page=1e3",
		"page=%00", "page=2&page=3", "clientId=%00", "projectId=%FF", "status=%00", "status=active",
		"clientId=" + f.clientID + "&page=4611686018427387904", "projectId=" + f.projectID + "&limit=4611686018427387904",
		"clientId=4611686018427387904", "cascade=%00",
	}
}

// route sends the whole corpus to one route.
func (f *fuzzer) route(pattern string) {
	method, path, _ := strings.Cut(pattern, " ")
	path = strings.ReplaceAll(path, "{$}", "")
	target := f.fill(path, "", "")
	base := f.base(pattern)
	baseOrNone := base
	if method == "GET" {
		baseOrNone = nil
	}

	// Path parameters, one at a time, the others valid.
	for _, name := range wildcards(path) {
		for _, v := range append(append([]string(nil), pathValues...), f.userID, f.clientID, f.projectID, f.key, f.activationID) {
			f.send(method, f.fill(path, name, v), baseOrNone)
		}
	}
	for _, q := range f.queries() {
		f.send(method, target+"?"+q, baseOrNone)
	}
	for _, b := range wholeBodies {
		f.send(method, target, []byte(b))
	}
	members := f.members[pattern]
	for _, v := range everyMemberValues {
		body := map[string]json.RawMessage{}
		for _, m := range members {
			body[m] = json.RawMessage(v)
		}
		f.send(method, target, encodeRaw(body))
	}
	// One member spoiled, the others valid; then a member no route reads.
	spoil := func(member string, values []string) {
		for _, v := range values {
			body := f.baseMembers(pattern)
			body[member] = json.RawMessage(v)
			f.send(method, target, encodeRaw(body))
		}
	}
	for _, m := range members {
		spoil(m, memberValues)
	}
	spoil("extra", notTextValues)
	// Seeded byte-level mutations of the valid body.
	h := fnv.New64a()
	_, _ = io.WriteString(h, pattern)
	rng := rand.New(rand.NewPCG(11, h.Sum64()))
	for range 12 {
		f.send(method, target, mutate(rng, base))
	}
	// A method no route has.
	f.send("FUZZ", target, nil)
}

// base is the route's valid body: its documented members with valid values.
func (f *fuzzer) base(pattern string) []byte { return encodeRaw(f.baseMembers(pattern)) }

func (f *fuzzer) baseMembers(pattern string) map[string]json.RawMessage {
	body := map[string]json.RawMessage{}
	for _, m := range f.members[pattern] {
		if v, ok := f.valid[m]; ok {
			body[m] = v
		}
	}
	return body
}

// encodeRaw writes members in a fixed order, keeping their bytes as they are
// (json.Marshal would repair invalid UTF-8).
func encodeRaw(body map[string]json.RawMessage) []byte {
	names := make([]string, 0, len(body))
	for k := range body {
		names = append(names, k)
	}
	sort.Strings(names)
	var b bytes.Buffer
	b.WriteByte('{')
	for i, k := range names {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%q:", k)
		b.Write(body[k])
	}
	b.WriteByte('}')
	return b.Bytes()
}

// mutate spoils a copy of body at a random place.
func mutate(rng *rand.Rand, body []byte) []byte {
	b := append([]byte(nil), body...)
	if len(b) == 0 {
		return []byte{0}
	}
	i := rng.IntN(len(b))
	switch rng.IntN(4) {
	case 0:
		b[i] = "\x00\xff\x80\"\\{[],9"[rng.IntN(10)]
	case 1:
		b = append(b[:i], append([]byte(`\u0000`), b[i:]...)...)
	case 2:
		b = b[:i]
	default:
		b = append(b[:i], append([]byte{0xc3}, b[i:]...)...)
	}
	return b
}

// wildcards returns the names of a path's parameters.
func wildcards(path string) []string {
	var names []string
	for _, seg := range strings.Split(path, "/") {
		if strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}") {
			names = append(names, strings.TrimSuffix(strings.Trim(seg, "{}"), "..."))
		}
	}
	return names
}

// fill replaces the path's parameters: the one named spoil by value, the
// others by the developer's own objects.
func (f *fuzzer) fill(path, spoil, value string) string {
	segs := strings.Split(path, "/")
	for i, seg := range segs {
		if !strings.HasPrefix(seg, "{") || !strings.HasSuffix(seg, "}") {
			continue
		}
		name := strings.TrimSuffix(strings.Trim(seg, "{}"), "...")
		switch {
		case name == spoil:
			segs[i] = value
		case name == "key":
			segs[i] = f.key
		case name == "activationId":
			segs[i] = f.activationID
		case i > 0 && segs[i-1] == "clients":
			segs[i] = f.clientID
		case i > 0 && segs[i-1] == "projects":
			segs[i] = f.projectID
		case i > 0 && (segs[i-1] == "users" || segs[i-1] == "user"):
			segs[i] = f.userID
		default:
			segs[i] = "000000000000000000000000"
		}
	}
	return strings.Join(segs, "/")
}

// send makes one request and records a 5xx. A login token refused after the
// corpus changed the account is renewed once.
func (f *fuzzer) send(method, target string, body []byte) {
	f.n++
	if raceDetector && f.n%4 != 0 {
		return // the whole corpus runs without the detector; a sample is enough with it
	}
	status, raw := f.do(method, target, body, f.token)
	if status == http.StatusUnauthorized && strings.Contains(raw, `"Unauthorized"`) {
		f.token = f.e.login(f.email)
		status, raw = f.do(method, target, body, f.token)
	}
	if status >= 500 {
		f.failed++
		if f.failed <= 40 {
			f.t.Errorf("%s %.120q with body %.120q: %d %.200s", method, target, body, status, raw)
		}
	}
}

func (f *fuzzer) do(method, target string, body []byte, token string) (int, string) {
	f.t.Helper()
	f.sent++
	req, err := http.NewRequest(method, f.e.url+target, bytes.NewReader(body))
	if err != nil {
		f.t.Fatalf("%s %.120q: %v", method, target, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatalf("%s %.120q: %v", method, target, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		f.t.Fatalf("%s %.120q: %v", method, target, err)
	}
	return resp.StatusCode, string(raw)
}

// checkNothingStored reads back every account and everything the developer
// owns, and fails if any text in it holds NUL or U+FFFD (which is how text
// that was not valid UTF-8 reads back). The corpus sends neither as valid text.
func (f *fuzzer) checkNothingStored() {
	f.t.Helper()
	f.token = f.e.login(f.email)
	var bodies []response
	get := func(path string) response {
		r := f.e.do("GET", path, f.token, nil).want(f.t, 200, "")
		bodies = append(bodies, r)
		return r
	}
	get("/auth/users")
	get("/dashboard")
	for _, list := range []string{"clients", "projects"} {
		for page := 1; ; page++ {
			if len(get(fmt.Sprintf("/%s?limit=100&page=%d", list, page)).list(list)) < 100 {
				break
			}
		}
	}
	for page := 1; ; page++ {
		licenses := get(fmt.Sprintf("/license?limit=100&page=%d", page)).list("licenses")
		for _, l := range licenses {
			get("/license/" + l.(map[string]any)["key"].(string)) // with its activations
		}
		if len(licenses) < 100 {
			break
		}
	}
	for _, r := range bodies {
		if s, bad := badString(r.body); bad {
			f.t.Errorf("stored text that is not text: %q in %.300s", s, r.raw)
		}
	}
}

// badString finds a string holding NUL or U+FFFD in a decoded JSON value.
func badString(v any) (string, bool) {
	switch v := v.(type) {
	case string:
		return v, strings.ContainsRune(v, 0) || strings.ContainsRune(v, utf8.RuneError)
	case []any:
		for _, x := range v {
			if s, bad := badString(x); bad {
				return s, true
			}
		}
	case map[string]any:
		for k, x := range v {
			if s, bad := badString(k); bad {
				return s, true
			}
			if s, bad := badString(x); bad {
				return s, true
			}
		}
	}
	return "", false
}

// documentedMembers reads, from the server's OpenAPI description, the body
// members each route takes.
func documentedMembers(t *testing.T, e *env) map[string][]string {
	t.Helper()
	var doc struct {
		Paths      map[string]map[string]json.RawMessage `json:"paths"`
		Components struct{ Schemas map[string]schema }   `json:"components"`
	}
	if err := json.Unmarshal(e.do("GET", "/openapi.json", "", nil).want(t, 200, "").raw, &doc); err != nil {
		t.Fatal(err)
	}
	var props func(s schema, depth int) []string
	props = func(s schema, depth int) []string {
		if depth > 8 {
			return nil
		}
		if s.Ref != "" {
			return props(doc.Components.Schemas[strings.TrimPrefix(s.Ref, "#/components/schemas/")], depth+1)
		}
		var names []string
		for k := range s.Properties {
			names = append(names, k)
		}
		for _, sub := range s.AllOf {
			names = append(names, props(sub, depth+1)...)
		}
		return names
	}
	out := map[string][]string{}
	for path, ops := range doc.Paths {
		for method, rawOp := range ops {
			var op struct {
				RequestBody struct {
					Content map[string]struct {
						Schema schema `json:"schema"`
					} `json:"content"`
				} `json:"requestBody"`
			}
			if json.Unmarshal(rawOp, &op) != nil {
				continue
			}
			names := props(op.RequestBody.Content["application/json"].Schema, 0)
			sort.Strings(names)
			out[strings.ToUpper(method)+" "+path] = names
		}
	}
	// Patterns name paths as the mux does: "/license/{$}" is "/license/".
	byPattern := map[string][]string{}
	for _, p := range e.routes() {
		method, path := patternToPath(p)
		byPattern[p] = out[strings.ToUpper(method)+" "+path]
	}
	return byPattern
}
