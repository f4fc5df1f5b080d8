package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keyboxhq/keybox"
	"github.com/keyboxhq/keybox/internal/servertest"
	"github.com/keyboxhq/keybox/internal/storetest"
)

func TestHealth(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t))
	r := e.do("GET", "/", "", nil).want(t, 200, "Server running")
	if r.body["success"] != true {
		t.Errorf("GET /: success = %v, want true", r.body["success"])
	}
	if ts, err := time.Parse(time.RFC3339, r.str("time")); err != nil || !ts.Equal(e.clock.Now()) || !strings.HasSuffix(r.str("time"), ".000Z") {
		t.Errorf("GET /: time %q, want %s with milliseconds", r.str("time"), e.clock.Now().Format(time.RFC3339))
	}
	e.do("GET", "/healthz", "", nil).want(t, 200, "")
	if r := e.do("GET", "/readyz", "", nil).want(t, 200, ""); r.str("status") != "ready" {
		t.Errorf("readyz: %s", r.raw)
	}
	if id := r.header.Get("X-Request-Id"); id == "" {
		t.Error("no X-Request-Id header")
	}
	if got := r.header.Get("X-Content-Type-Options"); got != "nosniff" {
		t.Errorf("X-Content-Type-Options = %q, want nosniff", got)
	}
	if got := r.header.Get("Content-Type"); got != "application/json; charset=utf-8" {
		t.Errorf("Content-Type = %q", got)
	}
	_, token := e.developer("ada@example.com")
	if err := e.store.Close(); err != nil {
		t.Fatal(err)
	}
	e.do("GET", "/readyz", "", nil).want(t, 503, "Database unavailable")
	// A failure inside answers 500 with a request id and nothing of its cause.
	r = e.do("GET", "/auth/me", token, nil).want(t, 500, "Internal server error")
	if r.str("requestId") == "" || r.str("requestId") != r.header.Get("X-Request-Id") {
		t.Errorf("500 body %s: requestId must match X-Request-Id %q", r.raw, r.header.Get("X-Request-Id"))
	}
	if len(r.body) != 2 || strings.Contains(strings.ToLower(string(r.raw)), "sql") {
		t.Errorf("500 body shows internals: %s", r.raw)
	}
}

// TestBadInput: malformed requests get their 4xx answers, never a 500.
func TestBadInput(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		_, token := e.developer("ada@example.com")
		huge := `{"name":"` + strings.Repeat("x", 3<<20) + `"}`
		cases := []struct {
			name         string
			method, path string
			auth         bool
			body         any
			status       int
			msg          string
		}{
			{"invalid JSON", "POST", "/auth/signup", false, `{"name":`, 400, "Invalid JSON body"},
			{"not an object", "POST", "/auth/login", false, `["a"]`, 400, "Invalid JSON body"},
			{"trailing garbage", "POST", "/auth/login", false, `{"email":"a"} x`, 400, "Invalid JSON body"},
			{"wrong types signup", "POST", "/auth/signup", false, `{"name":1,"email":true,"password":[],"confirm_password":{}}`, 400, "All fields are required"},
			{"wrong types login", "POST", "/auth/login", false, `{"email":5,"password":5}`, 400, "Email and password are required"},
			{"wrong types patch", "PATCH", "/auth/users/x", true, `{"name":5}`, 404, "User not found"},
			{"wrong type role", "PATCH", "/auth/users/me", true, `{"role":5}`, 404, "User not found"},
			{"3 MiB body", "POST", "/auth/signup", false, huge, 413, "Request body too large"},
			{"3 MiB body with auth", "PATCH", "/auth/password", true, huge, 413, "Request body too large"},
			{"unknown route", "GET", "/nope", false, nil, 404, "Not found"},
			{"unknown nested route", "POST", "/auth/signup/extra", false, "{}", 404, "Not found"},
			{"wrong method", "DELETE", "/auth/signup", false, nil, 405, "Method not allowed"},
			{"wrong method on root", "POST", "/", false, "{}", 405, "Method not allowed"},
			{"wrong method with auth", "POST", "/auth/me", true, "{}", 405, "Method not allowed"},
		}
		for _, tc := range cases {
			tok := ""
			if tc.auth {
				tok = token
			}
			r := e.do(tc.method, tc.path, tok, tc.body)
			if r.status != tc.status || r.body["message"] != tc.msg {
				t.Errorf("%s: got %d %.200s, want %d %q", tc.name, r.status, r.raw, tc.status, tc.msg)
			}
			if tc.status == 405 && r.header.Get("Allow") == "" {
				t.Errorf("%s: 405 without an Allow header", tc.name)
			}
		}
		if n, _ := e.store.CountUsers(t.Context()); n != 1 {
			t.Fatalf("bad input changed the users: %d, want 1", n)
		}
	})
}

// panickyStore panics where login reads the user boom@example.com.
type panickyStore struct{ keybox.Store }

func (s panickyStore) UserByEmail(ctx context.Context, email string) (keybox.User, error) {
	if email == "boom@example.com" {
		panic("store exploded: SELECT secret FROM somewhere")
	}
	return s.Store.UserByEmail(ctx, email)
}

// TestPanicRecovery: a panic in a handler answers 500 without its cause, and
// the server keeps serving.
func TestPanicRecovery(t *testing.T) {
	e := newEnv(t, panickyStore{storetest.SQLite(t)})
	r := e.do("POST", "/auth/login", "", map[string]any{"email": "boom@example.com", "password": "x"}).want(t, 500, "Internal server error")
	if strings.Contains(string(r.raw), "exploded") || r.str("requestId") == "" {
		t.Fatalf("500 body: %s", r.raw)
	}
	e.do("GET", "/healthz", "", nil).want(t, 200, "")
}

func TestCORS(t *testing.T) {
	preflight := func(e *env, path, origin string) *http.Response {
		req, _ := http.NewRequest("OPTIONS", e.url+path, nil)
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", "POST")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	e := newEnv(t, storetest.SQLite(t))
	// The public license API: any origin, as SDKs in browsers and Electron apps call it.
	if r := preflight(e, "/validate", "https://app.example"); r.StatusCode != 204 || r.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Fatalf("public preflight: %d %v", r.StatusCode, r.Header)
	}
	// The management API: same origin only, unless configured.
	if r := preflight(e, "/clients", "https://evil.example"); r.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("management preflight allowed a foreign origin: %v", r.Header)
	}
	e2 := newEnv(t, storetest.SQLite(t), func(o *servertest.Options) { o.CORSOrigins = []string{"https://admin.example"} })
	if r := preflight(e2, "/clients", "https://admin.example"); r.StatusCode != 204 || r.Header.Get("Access-Control-Allow-Origin") != "https://admin.example" {
		t.Fatalf("configured origin: %d %v", r.StatusCode, r.Header)
	}
	if r := preflight(e2, "/clients", "https://evil.example"); r.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("unconfigured origin allowed: %v", r.Header)
	}
}

// TestRequestLogs: every request is logged with the id sent back in
// X-Request-Id; a 500's cause is logged under the id its body shows;
// successful validations are logged at debug level only.
func TestRequestLogs(t *testing.T) {
	var buf bytes.Buffer
	var mu sync.Mutex
	logger := slog.New(slog.NewJSONHandler(lockedWriter{&mu, &buf}, &slog.HandlerOptions{Level: slog.LevelInfo}))
	store := storetest.SQLite(t)
	e := newEnv(t, panickyStore{store}, func(o *servertest.Options) { o.Logger = logger })
	_, key := e.newKey("ada@example.com")
	e.do("POST", "/validate/activate", "", map[string]any{"key": key, "machineId": "m"}).want(t, 200, "")
	valid := e.do("POST", "/validate", "", map[string]any{"key": key, "machineId": "m"}).want(t, 200, "")
	missing := e.do("GET", "/nope", "", nil).want(t, 404, "Not found")
	failed := e.do("POST", "/auth/login", "", map[string]any{"email": "boom@example.com", "password": "x"}).want(t, 500, "Internal server error")

	mu.Lock()
	defer mu.Unlock()
	var lines []map[string]any
	for _, l := range bytes.Split(bytes.TrimSpace(buf.Bytes()), []byte("\n")) {
		var m map[string]any
		if err := json.Unmarshal(l, &m); err != nil {
			t.Fatalf("log line %q: %v", l, err)
		}
		lines = append(lines, m)
	}
	find := func(id, msg string) map[string]any {
		for _, l := range lines {
			if l["requestId"] == id && l["msg"] == msg {
				return l
			}
		}
		return nil
	}
	if l := find(missing.header.Get("X-Request-Id"), "request"); l == nil || l["status"] != 404.0 || l["path"] != "/*" {
		t.Errorf("no access line for the 404 under its request id: %v", l)
	}
	if find(valid.header.Get("X-Request-Id"), "request") != nil {
		t.Error("a successful validation was logged at info level")
	}
	id := failed.str("requestId")
	if id == "" || id != failed.header.Get("X-Request-Id") {
		t.Fatalf("500 body %s and header %q disagree", failed.raw, failed.header.Get("X-Request-Id"))
	}
	if l := find(id, "panic"); l == nil || !strings.Contains(fmt.Sprint(l["panic"]), "store exploded") {
		t.Errorf("the 500's cause is not logged under its request id %s: %v", id, lines)
	}
	if l := find(id, "request"); l == nil || l["level"] != "ERROR" || l["status"] != 500.0 {
		t.Errorf("the 500's access line: %v", l)
	}
}

// lockedWriter serialises writes from the server's goroutines.
type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
