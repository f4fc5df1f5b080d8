package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/netip"
	"strings"
	"testing"

	"github.com/keyboxhq/keybox"
	"github.com/keyboxhq/keybox/internal/auth"
	"github.com/keyboxhq/keybox/internal/licensing"
	"github.com/keyboxhq/keybox/internal/server"
	"github.com/keyboxhq/keybox/internal/servertest"
	"github.com/keyboxhq/keybox/internal/storetest"
	"github.com/keyboxhq/keybox/internal/webhook"
)

// testSecret signs the test servers' tokens.
const testSecret = servertest.Secret

// env is a real server over a real store, reached over loopback HTTP.
type env struct {
	t      testing.TB
	url    string
	server *server.Server
	store  keybox.Store
	svc    *licensing.Service
	clock  *servertest.Clock
	// passwords counts the passwords the server checked.
	passwords *auth.Passwords
	// worker delivers webhooks when drained (or runs, withDeliveries).
	worker *webhook.Worker
	// metricsURL is the metrics listener's base URL, when the server has one.
	metricsURL string
}

type envOption func(*servertest.Options)

// withRateLimits turns the default rate limits on, on the test clock.
func withRateLimits(trusted ...string) envOption {
	return func(o *servertest.Options) {
		o.RateLimits = true
		for _, p := range trusted {
			o.TrustedProxies = append(o.TrustedProxies, netip.MustParsePrefix(p))
		}
	}
}

func signupClosed() envOption {
	return func(o *servertest.Options) { o.SignupClosed = true }
}

// forEngine runs fn once per storage engine, each in its own subtest.
func forEngine(t *testing.T, fn func(t *testing.T, open func(testing.TB) keybox.Store)) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			fn(t, func(tb testing.TB) keybox.Store { return e.Open(tb) })
		})
	}
}

// eachEngine runs fn with a fresh server on each engine.
func eachEngine(t *testing.T, fn func(t *testing.T, e *env), opts ...envOption) {
	forEngine(t, func(t *testing.T, open func(testing.TB) keybox.Store) {
		fn(t, newEnv(t, open(t), opts...))
	})
}

// newEnv starts the real server over store, with seeded ids and keys and a
// settable clock (see servertest), so that answers are the same on every
// run and engine and golden files can hold them exactly.
func newEnv(t testing.TB, store keybox.Store, opts ...envOption) *env {
	t.Helper()
	var o servertest.Options
	for _, opt := range opts {
		opt(&o)
	}
	s := servertest.New(t, store, o)
	return &env{t: t, url: s.URL, server: s.Handler, store: store, svc: s.Service, clock: s.Clock, passwords: s.Passwords,
		worker: s.Worker, metricsURL: s.MetricsURL}
}

// response is a decoded JSON answer.
type response struct {
	status int
	header http.Header
	body   map[string]any
	raw    []byte
}

// do sends a request; body may be nil, a string (sent as is) or a value to encode.
func (e *env) do(method, path, token string, body any) response {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		enc, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(enc)
	}
	req, err := http.NewRequestWithContext(context.Background(), method, e.url+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	out := response{status: resp.StatusCode, header: resp.Header, raw: raw}
	if len(raw) > 0 && raw[0] == '{' {
		if err := json.Unmarshal(raw, &out.body); err != nil {
			e.t.Fatalf("%s %s: invalid JSON answer %q: %v", method, path, raw, err)
		}
	}
	return out
}

// want checks the status and message of an answer.
func (r response) want(t testing.TB, status int, message string) response {
	t.Helper()
	if r.status != status {
		t.Fatalf("got status %d (%s), want %d", r.status, r.raw, status)
	}
	if message != "" && r.body["message"] != message {
		t.Fatalf("got message %q, want %q (body %s)", r.body["message"], message, r.raw)
	}
	return r
}

func (r response) str(key string) string {
	s, _ := r.body[key].(string)
	return s
}

// signup creates an account and returns its id.
func (e *env) signup(name, email string) string {
	e.t.Helper()
	r := e.do("POST", "/auth/signup", "", map[string]string{
		"name": name, "email": email, "password": "correct horse", "confirm_password": "correct horse",
	}).want(e.t, 201, "Signup successful")
	return r.str("userId")
}

// login returns a token for an account made by signup.
func (e *env) login(email string) string {
	e.t.Helper()
	return e.do("POST", "/auth/login", "", map[string]string{"email": email, "password": "correct horse"}).
		want(e.t, 200, "Login successful").str("token")
}

// developer signs up and logs in, returning the user id and a token.
func (e *env) developer(email string) (string, string) {
	e.t.Helper()
	id := e.signup("Dev "+email, email)
	return id, e.login(email)
}

// doHeader sends a GET-like request with the given Authorization values (nil: none).
func (e *env) doHeader(method, path string, authorization []string) response {
	e.t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), method, e.url+path, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	if authorization != nil {
		req.Header["Authorization"] = authorization
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	out := response{status: resp.StatusCode, header: resp.Header, raw: raw}
	_ = json.Unmarshal(raw, &out.body)
	return out
}

// client creates a client and returns its id.
func (e *env) client(token, name, email string) string {
	e.t.Helper()
	r := e.do("POST", "/clients", token, map[string]any{"name": name, "email": email}).want(e.t, 201, "Client created successfully")
	return r.body["client"].(map[string]any)["_id"].(string)
}

// projectWithLicense creates a project and its first license and returns the project id and key.
func (e *env) projectWithLicense(token, clientID, name string) (string, string) {
	e.t.Helper()
	r := e.do("POST", "/projects/createProject", token, map[string]any{
		"clientId": clientID, "projectName": name, "duration": 3, "services": []string{"Hosting"},
	}).want(e.t, 201, "Project and License created successfully")
	return r.body["project"].(map[string]any)["_id"].(string), r.body["license"].(map[string]any)["key"].(string)
}

// obj returns a nested object of an answer.
func (r response) obj(key string) map[string]any {
	m, _ := r.body[key].(map[string]any)
	return m
}

// list returns a nested array of an answer.
func (r response) list(key string) []any {
	l, _ := r.body[key].([]any)
	return l
}

func storeSQLite(t *testing.T) keybox.Store { return storetest.SQLite(t) }

// routes lists the server's route patterns.
func (e *env) routes() []string { return e.server.Routes() }

// openEngine opens a fresh store of the named engine.
func openEngine(tb testing.TB, name string) keybox.Store {
	for _, e := range storetest.Engines() {
		if e.Name == name {
			return e.Open(tb)
		}
	}
	tb.Fatalf("no engine %q", name)
	return nil
}

// doFrom sends a request with headers (e.g. X-Forwarded-For).
func (e *env) doFrom(method, path string, header map[string]string, body any) response {
	e.t.Helper()
	enc, err := json.Marshal(body)
	if err != nil {
		e.t.Fatal(err)
	}
	req, err := http.NewRequestWithContext(context.Background(), method, e.url+path, bytes.NewReader(enc))
	if err != nil {
		e.t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	out := response{status: resp.StatusCode, header: resp.Header, raw: raw}
	_ = json.Unmarshal(raw, &out.body)
	return out
}

// changed returns a copy of body with change applied: a nil value removes
// the member. Tests build each case from one valid body.
func changed(body, change map[string]any) map[string]any {
	m := make(map[string]any, len(body))
	for k, v := range body {
		m[k] = v
	}
	for k, v := range change {
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
	}
	return m
}
