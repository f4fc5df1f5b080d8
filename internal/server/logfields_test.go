package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keyboxhq/keybox/internal/server"
	"github.com/keyboxhq/keybox/internal/servertest"
	"github.com/keyboxhq/keybox/internal/storetest"
)

// generatedID is the form of the request ids the server makes.
var generatedID = regexp.MustCompile(`^[0-9a-f]{22}$`)

// TestRequestIDFromProxy: a well-formed X-Request-Id (1 to 64 letters,
// digits, '.', '_', '-') from a proxy in front is kept: echoed, logged,
// and in a 500's body. Any other (too long, empty, spaces, quotes, commas,
// non-ASCII, control characters, two of them) is replaced by one the server
// makes, so that a client cannot forge log lines or headers with it.
func TestRequestIDFromProxy(t *testing.T) {
	var buf bytes.Buffer
	var mu sync.Mutex
	logger := slog.New(slog.NewJSONHandler(lockedWriter{&mu, &buf}, &slog.HandlerOptions{Level: slog.LevelInfo}))
	e := newEnv(t, panickyStore{storetest.SQLite(t)}, func(o *servertest.Options) { o.Logger = logger })
	send := func(method, path string, ids []string, body any) response {
		t.Helper()
		var rd io.Reader
		if body != nil {
			b, _ := json.Marshal(body)
			rd = bytes.NewReader(b)
		}
		req, err := http.NewRequestWithContext(context.Background(), method, e.url+path, rd)
		if err != nil {
			t.Fatal(err)
		}
		if ids != nil {
			req.Header["X-Request-Id"] = ids
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		out := response{status: resp.StatusCode, header: resp.Header, raw: raw}
		_ = json.Unmarshal(raw, &out.body)
		return out
	}
	logged := func(id, msg string) map[string]any {
		t.Helper()
		mu.Lock()
		defer mu.Unlock()
		for _, line := range bytes.Split(bytes.TrimSpace(buf.Bytes()), []byte("\n")) {
			var l map[string]any
			if err := json.Unmarshal(line, &l); err != nil {
				t.Fatalf("log line %q: %v", line, err)
			}
			if l["requestId"] == id && l["msg"] == msg {
				return l
			}
		}
		return nil
	}

	for _, id := range []string{"a", "req-7f3a.b_9", "0f8fad5b-d9cb-469f-a165-70867728950e", strings.Repeat("Z", 64)} {
		r := send("GET", "/nope", []string{id}, nil).want(t, 404, "")
		if got := r.header.Get("X-Request-Id"); got != id {
			t.Errorf("X-Request-Id %q came back as %q", id, got)
		}
		if logged(id, "request") == nil {
			t.Errorf("no access line under the proxy's id %q", id)
		}
	}
	failed := send("POST", "/auth/login", []string{"proxy-500"}, map[string]any{"email": "boom@example.com", "password": "x"}).
		want(t, 500, "Internal server error")
	if failed.str("requestId") != "proxy-500" || failed.header.Get("X-Request-Id") != "proxy-500" {
		t.Errorf("the 500 answered %s with X-Request-Id %q, want the proxy's id", failed.raw, failed.header.Get("X-Request-Id"))
	}
	if logged("proxy-500", "panic") == nil || logged("proxy-500", "request") == nil {
		t.Error("the 500's cause is not logged under the proxy's id")
	}

	seen := map[string]bool{}
	for _, ids := range [][]string{
		{strings.Repeat("Z", 65)}, {""}, {"has space"}, {"tab\there"}, {"é"}, {`quote"d`}, {"a,b"}, {"{\"msg\":\"x\"}"},
		{"../x"}, {"ok-1", "ok-2"},
	} {
		r := send("GET", "/nope", ids, nil).want(t, 404, "")
		got := r.header.Get("X-Request-Id")
		if !generatedID.MatchString(got) || seen[got] {
			t.Errorf("X-Request-Id %q came back as %q, want a fresh id of the server's", ids, got)
		}
		seen[got] = true
		if logged(got, "request") == nil {
			t.Errorf("no access line under the id %q the server gave the request", got)
		}
	}
	// Control characters and line breaks, which no HTTP client sends, are
	// refused the same way when they reach the handler.
	for _, id := range []string{"a\x01b", "a\nb", "a\rb", "a\x00b", "a\x7fb"} {
		w := httptest.NewRecorder()
		req := httptest.NewRequest("GET", "/healthz", nil)
		req.Header["X-Request-Id"] = []string{id}
		e.server.ServeHTTP(w, req)
		if got := w.Header().Get("X-Request-Id"); !generatedID.MatchString(got) {
			t.Errorf("X-Request-Id %q came back as %q", id, got)
		}
	}
}

// TestRequestLogFields: an authenticated request's line names its account
// (userId) and, through an API token, the token (apiTokenId), refusals of
// its scope included; the client's address as a trusted proxy reports it
// (clientIP) beside the peer's (remote), and an untrusted peer's
// X-Forwarded-For is not believed; the duration is durationMs, a number of
// milliseconds with sub-millisecond precision.
func TestRequestLogFields(t *testing.T) {
	var buf bytes.Buffer
	var mu sync.Mutex
	logger := slog.New(slog.NewJSONHandler(lockedWriter{&mu, &buf}, &slog.HandlerOptions{Level: slog.LevelInfo}))
	store := storetest.SQLite(t)
	behindProxy := newEnv(t, store, func(o *servertest.Options) {
		o.Logger = logger
		o.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32"), netip.MustParsePrefix("::1/128")}
	})
	direct := newEnv(t, store, func(o *servertest.Options) { o.Logger = logger })
	adaID, ada := behindProxy.developer("ada@example.com")
	read := behindProxy.apiToken(ada, "read")
	var tokenID string
	for _, tok := range behindProxy.do("GET", "/tokens", ada, nil).want(t, 200, "").list("tokens") {
		tokenID = tok.(map[string]any)["_id"].(string)
	}

	send := func(e *env, method, path, token string, status int) string {
		t.Helper()
		req, err := http.NewRequestWithContext(context.Background(), method, e.url+path, strings.NewReader(`{"name":"Acme","email":"acme@example.com"}`))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("X-Forwarded-For", "198.51.100.23, 203.0.113.7")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != status {
			t.Fatalf("%s %s: %d, want %d", method, path, resp.StatusCode, status)
		}
		return resp.Header.Get("X-Request-Id")
	}
	cases := []struct {
		name               string
		id                 string
		userID, apiTokenID string
		clientIP           string
	}{
		{"a login token", send(behindProxy, "GET", "/clients", ada, 200), adaID, "", "203.0.113.7"},
		{"an API token", send(behindProxy, "GET", "/clients", read, 200), adaID, tokenID, "203.0.113.7"},
		{"an API token out of its scope", send(behindProxy, "POST", "/clients", read, 403), adaID, tokenID, "203.0.113.7"},
		{"no token", send(behindProxy, "GET", "/clients", "", 401), "", "", "203.0.113.7"},
		{"a forged login token", send(behindProxy, "GET", "/clients", ada+"x", 401), "", "", "203.0.113.7"},
		{"a public route", send(behindProxy, "GET", "/nope", "", 404), "", "", "203.0.113.7"},
		{"no trusted proxy", send(direct, "GET", "/clients", ada, 200), adaID, "", "127.0.0.1"},
	}
	mu.Lock()
	defer mu.Unlock()
	lines := map[string]map[string]any{}
	for _, line := range bytes.Split(bytes.TrimSpace(buf.Bytes()), []byte("\n")) {
		var l map[string]any
		if err := json.Unmarshal(line, &l); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if l["msg"] == "request" {
			lines[l["requestId"].(string)] = l
		}
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l := lines[c.id]
			if l == nil {
				t.Fatalf("no access line for request %s", c.id)
			}
			str := func(k string) string { s, _ := l[k].(string); return s }
			if str("userId") != c.userID || str("apiTokenId") != c.apiTokenID {
				t.Errorf("userId %q, apiTokenId %q; want %q, %q", str("userId"), str("apiTokenId"), c.userID, c.apiTokenID)
			}
			if str("clientIP") != c.clientIP || !strings.HasPrefix(str("remote"), "127.0.0.1:") {
				t.Errorf("clientIP %q, remote %q; want %q and the peer 127.0.0.1", str("clientIP"), str("remote"), c.clientIP)
			}
			ms, ok := l["durationMs"].(float64)
			if !ok || ms <= 0 {
				t.Errorf("durationMs %v (%T), want a positive number", l["durationMs"], l["durationMs"])
			}
			if _, ok := l["duration"]; ok {
				t.Errorf("the line still has duration: %v", l)
			}
			if _, ok := l["apiToken"]; ok {
				t.Errorf("the line still has apiToken: %v", l)
			}
		})
	}
}

// TestDurationMsPrecision: durationMs keeps microseconds, so that the
// fastest requests do not all read 0.
func TestDurationMsPrecision(t *testing.T) {
	for d, want := range map[time.Duration]float64{
		0: 0, 999 * time.Nanosecond: 0, 37 * time.Microsecond: 0.037, 1500 * time.Microsecond: 1.5, 2*time.Second + 3*time.Microsecond: 2000.003,
	} {
		if got := server.DurationMs(d); got != want {
			t.Errorf("%v: durationMs %v, want %v", d, got, want)
		}
	}
}
