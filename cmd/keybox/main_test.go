package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/http/httptrace"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/keyboxhq/keybox/internal/sqlite"
	"github.com/keyboxhq/keybox/internal/storetest"
)

// envFunc turns a map into a getenv.
func envFunc(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestConfigErrorsOneLineEach(t *testing.T) {
	var stderr bytes.Buffer
	code := run(context.Background(), []string{"serve", "--signup", "maybe"}, envFunc(map[string]string{
		"PORT":                "http",
		"KEYBOX_DATABASE_URL": "postgres://u:secret@db/keybox",
		"KEYBOX_TOKEN_TTL":    "-5m",
		"KEYBOX_RATE_LIMIT":   "sometimes",
		"KEYBOX_LOG_FORMAT":   "xml",
		"KEYBOX_JWT_SECRET":   "short",
		"KEYBOX_SIGNUP":       "open", // overridden by the flag
		"KEYBOX_DB_MAX_CONNS": "0",
	}), io.Discard, &stderr)
	if code != 1 {
		t.Fatalf("exit code %d, want 1", code)
	}
	lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
	want := []string{"PORT:", "KEYBOX_JWT_SECRET: must be at least 32", "KEYBOX_SECRET_KEY: required with PostgreSQL", "KEYBOX_TOKEN_TTL:",
		"KEYBOX_SIGNUP: \"maybe\"", "KEYBOX_RATE_LIMIT:", "KEYBOX_LOG_FORMAT:",
		"KEYBOX_DB_MAX_CONNS: \"0\" is not a number of connections from 1 to 1000"}
	if len(lines) != len(want) {
		t.Fatalf("got %d lines, want %d:\n%s", len(lines), len(want), stderr.String())
	}
	for i, w := range want {
		if !strings.HasPrefix(lines[i], "keybox: "+w) {
			t.Errorf("line %d: got %q, want prefix %q", i, lines[i], "keybox: "+w)
		}
	}
	if strings.Contains(stderr.String(), "secret@") {
		t.Error("configuration errors print a database password")
	}
}

func TestConfigPostgresNeedsSecret(t *testing.T) {
	var stderr bytes.Buffer
	code := run(context.Background(), []string{"serve"}, envFunc(map[string]string{"KEYBOX_DATABASE_URL": "postgres://localhost/keybox"}), io.Discard, &stderr)
	if code != 1 || !strings.Contains(stderr.String(), "KEYBOX_JWT_SECRET: required with PostgreSQL") {
		t.Fatalf("exit %d, stderr %q: want a refusal naming KEYBOX_JWT_SECRET", code, stderr.String())
	}
}

// TestConfigPostgresNeedsSecretKey: with PostgreSQL the secret that encrypts
// the signing keys is not kept in a file by the server: it must be given, the
// same to every server, and long enough.
func TestConfigPostgresNeedsSecretKey(t *testing.T) {
	for _, tc := range []struct {
		secret, want string
	}{
		{"", "KEYBOX_SECRET_KEY: required with PostgreSQL"},
		{"short", "KEYBOX_SECRET_KEY: must be at least 32 bytes (got 5)"},
	} {
		var stderr bytes.Buffer
		code := run(context.Background(), []string{"serve"}, envFunc(map[string]string{"KEYBOX_DATABASE_URL": "postgres://localhost/keybox",
			"KEYBOX_JWT_SECRET": strings.Repeat("j", 32), "KEYBOX_SECRET_KEY": tc.secret}), io.Discard, &stderr)
		if code != 1 || strings.Count(stderr.String(), "\n") != 1 || !strings.Contains(stderr.String(), tc.want) {
			t.Errorf("secret %q: exit %d, stderr %q; want one line saying %q", tc.secret, code, stderr.String(), tc.want)
		}
	}
}

func TestConfigDefaultsAndFlags(t *testing.T) {
	c, err := loadConfig("serve", []string{"--port", "6000", "--rate-limit", "off"}, envFunc(map[string]string{"PORT": "7000"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.addr != ":6000" || c.rateLimit || !c.signupOpen || c.tokenTTL != 30*time.Minute || c.databaseURL != defaultDatabaseURL ||
		c.dbMaxConns != 20 {
		t.Fatalf("got %+v", c)
	}
	c, err = loadConfig("serve", []string{"--db-max-conns", "5"}, envFunc(map[string]string{"KEYBOX_DB_MAX_CONNS": "50"}))
	if err != nil || c.dbMaxConns != 5 {
		t.Fatalf("--db-max-conns 5 over KEYBOX_DB_MAX_CONNS=50: got %d, %v", c.dbMaxConns, err)
	}
	c, err = loadConfig("serve", nil, envFunc(map[string]string{"KEYBOX_ADDR": "127.0.0.1:9", "KEYBOX_TRUSTED_PROXIES": "10.0.0.0/8, 192.168.1.7"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.addr != "127.0.0.1:9" || len(c.trustedProxies) != 2 || c.trustedProxies[1].String() != "192.168.1.7/32" {
		t.Fatalf("got %+v", c)
	}
}

// logLines collects the server's JSON log lines and reports the listen
// address, and the messages logged (as long as the test takes them: a
// message nobody waits for is not kept waiting).
type logLines struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	lines []string
	addr  chan string
	msgs  chan string
}

func newLogLines() *logLines {
	return &logLines{addr: make(chan string, 1), msgs: make(chan string, 256)}
}

func (l *logLines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Write(p)
	for {
		line, err := l.buf.ReadString('\n')
		if err != nil {
			l.buf.WriteString(line)
			return len(p), nil
		}
		l.lines = append(l.lines, line)
		var rec struct{ Msg, Addr string }
		if json.Unmarshal([]byte(line), &rec) != nil {
			continue
		}
		if rec.Msg == "listening" {
			l.addr <- rec.Addr
		}
		select {
		case l.msgs <- rec.Msg:
		default:
		}
	}
}

// waitMsg returns once msg has been logged. The timeout is only a safety
// net that turns a hang into a failure.
func (l *logLines) waitMsg(t *testing.T, msg string) {
	t.Helper()
	safety := time.After(60 * time.Second)
	for {
		select {
		case m := <-l.msgs:
			if m == msg {
				return
			}
		case <-safety:
			t.Fatalf("no %q in the log after 60 s; log:\n%s", msg, l.text())
		}
	}
}

func (l *logLines) text() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "")
}

func waitAddr(t *testing.T, c <-chan string, stderr func() string) string {
	t.Helper()
	select {
	case a := <-c:
		return "http://" + a
	case <-time.After(60 * time.Second):
		t.Fatalf("server did not start; log:\n%s", stderr())
		return ""
	}
}

func post(t *testing.T, url, token string, body any) (int, map[string]any) {
	t.Helper()
	b, _ := json.Marshal(body)
	method := "POST"
	if body == nil {
		method = "GET"
	}
	req, _ := http.NewRequest(method, url, bytes.NewReader(b))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

var signupBody = map[string]string{"name": "Ada", "email": "ada@example.com", "password": "password1", "confirm_password": "password1"}
var loginBody = map[string]string{"email": "ada@example.com", "password": "password1"}

// TestServeGracefulShutdown starts run() itself, sends a request whose body
// is still arriving, stops the server and checks that the request finished,
// answered after the shutdown began. Each step waits for an event: the
// handler asking for the body (a 100 Continue), the shutdown's log line,
// the listener refusing new connections.
func TestServeGracefulShutdown(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			dbURL := e.URL(t)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			logs := newLogLines()
			done := make(chan int, 1)
			go func() {
				done <- run(ctx, []string{"serve"}, envFunc(map[string]string{
					"KEYBOX_ADDR": "127.0.0.1:0", "KEYBOX_DATABASE_URL": dbURL, "KEYBOX_LOG_FORMAT": "json",
					"KEYBOX_DB_MAX_CONNS": strconv.Itoa(storetest.PostgresPool),
					"KEYBOX_JWT_SECRET":   strings.Repeat("k", 32),
					"KEYBOX_SECRET_KEY":   strings.Repeat("s", 32),
				}), io.Discard, logs)
			}()
			base := waitAddr(t, logs.addr, logs.text)

			// The client sends the body only once the handler reads it: the
			// 100 Continue says the request is in the server's hands.
			reading := make(chan struct{})
			trace := &httptrace.ClientTrace{Got100Continue: func() { close(reading) }}
			pr, pw := io.Pipe()
			req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace), "POST", base+"/auth/signup", pr)
			req.Header.Set("Expect", "100-continue")
			hc := &http.Client{Transport: &http.Transport{ExpectContinueTimeout: time.Minute}}
			type result struct {
				status int
				closed bool
				err    error
			}
			res := make(chan result, 1)
			go func() {
				resp, err := hc.Do(req)
				if err != nil {
					res <- result{err: err}
					return
				}
				resp.Body.Close()
				res <- result{status: resp.StatusCode, closed: resp.Close}
			}()
			select {
			case <-reading:
			case <-time.After(60 * time.Second):
				t.Fatalf("the handler never read the body; log:\n%s", logs.text())
			}
			body, _ := json.Marshal(signupBody)
			if _, err := pw.Write(body[:10]); err != nil {
				t.Fatal(err)
			}
			cancel()
			logs.waitMsg(t, "shutting down: finishing requests in flight")
			waitRefused(t, strings.TrimPrefix(base, "http://"))
			if _, err := pw.Write(body[10:]); err != nil {
				t.Fatal(err)
			}
			pw.Close()
			r := <-res
			if r.err != nil || r.status != 201 {
				t.Fatalf("in-flight signup: status %d, err %v; want 201", r.status, r.err)
			}
			if !r.closed {
				t.Fatal("the in-flight signup was answered without Connection: close: not during the shutdown")
			}
			select {
			case code := <-done:
				if code != 0 {
					t.Fatalf("exit code %d, want 0; log:\n%s", code, logs.text())
				}
			case <-time.After(30 * time.Second):
				t.Fatal("server did not stop")
			}
			if !strings.Contains(logs.text(), `"msg":"stopped"`) {
				t.Fatalf("no clean stop in the log:\n%s", logs.text())
			}
		})
	}
}

// waitRefused returns once addr refuses connections: the server has closed
// its listener. The timeout is only a safety net.
func waitRefused(t *testing.T, addr string) {
	t.Helper()
	safety := time.After(60 * time.Second)
	for {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			return
		}
		c.Close()
		select {
		case <-safety:
			t.Fatalf("%s still accepts connections after 60 s", addr)
		default:
			runtime.Gosched()
		}
	}
}

// buildBinary compiles the real keybox binary once per test binary run.
var buildBinary = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "keybox-bin")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "keybox")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
})

// startBinary runs the real binary and returns its base URL.
func startBinary(t *testing.T, bin string, env ...string) (*exec.Cmd, string, *logLines) {
	t.Helper()
	cmd := exec.Command(bin, "serve")
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "KEYBOX_ADDR=127.0.0.1:0", "KEYBOX_LOG_FORMAT=json"}, env...)
	logs := newLogLines()
	cmd.Stderr = logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return cmd, waitAddr(t, logs.addr, logs.text), logs
}

// TestDurabilityAfterKill9: an acknowledged signup survives the process being
// killed without warning, and so does the generated JWT secret.
func TestDurabilityAfterKill9(t *testing.T) {
	bin, err := buildBinary()
	if err != nil {
		t.Fatal(err)
	}
	dataDir := t.TempDir()
	dbEnv := "KEYBOX_DATABASE_URL=sqlite://" + filepath.Join(dataDir, "keybox.db")

	cmd, base, _ := startBinary(t, bin, dbEnv)
	if status, body := post(t, base+"/auth/signup", "", signupBody); status != 201 {
		t.Fatalf("signup: %d %v", status, body)
	}
	status, body := post(t, base+"/auth/login", "", loginBody)
	if status != 200 {
		t.Fatalf("login: %d %v", status, body)
	}
	token := body["token"].(string)
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()

	st, err := os.Stat(filepath.Join(dataDir, "jwt-secret"))
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("jwt-secret mode %v, want 0600", st.Mode().Perm())
	}

	_, base, _ = startBinary(t, bin, dbEnv)
	if status, body := post(t, base+"/auth/login", "", loginBody); status != 200 {
		t.Fatalf("login after kill -9: %d %v", status, body)
	}
	if status, body := post(t, base+"/auth/me", token, nil); status != 200 {
		t.Fatalf("token from before the restart: %d %v", status, body)
	}
}

func TestMigrateAndRefuseNewerSchema(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "keybox.db")
	getenv := envFunc(map[string]string{"KEYBOX_DATABASE_URL": "sqlite://" + path})
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"migrate"}, getenv, &stdout, &stderr); code != 0 {
		t.Fatalf("migrate: exit %d: %s", code, stderr.String())
	}
	names, err := fs.Glob(sqlite.Migrations(), "*.sql")
	if err != nil || len(names) == 0 {
		t.Fatalf("migrations: %v %v", names, err)
	}
	newest, _, _ := strings.Cut(names[len(names)-1], "_")
	if want := "version " + strings.TrimLeft(newest, "0"); !strings.Contains(stdout.String(), want) {
		t.Fatalf("migrate printed %q, want %q", stdout.String(), want)
	}
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, '0999_future.sql', 0)`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	stderr.Reset()
	if code := run(context.Background(), []string{"migrate"}, getenv, &stdout, &stderr); code != 1 || !strings.Contains(stderr.String(), "newer than this keybox") {
		t.Fatalf("exit %d, stderr %q: want a refusal of the newer schema", code, stderr.String())
	}
}

// TestCommandLine: unknown commands and help.
func TestCommandLine(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"frobnicate"}, envFunc(nil), &out, &errb); code != 2 || !strings.Contains(errb.String(), `unknown command "frobnicate"`) {
		t.Fatalf("unknown command: exit %d, %q", code, errb.String())
	}
	if code := run(context.Background(), []string{"version"}, envFunc(nil), &out, &errb); code != 0 || !strings.HasPrefix(out.String(), "keybox ") {
		t.Fatalf("version: exit %d, %q", code, out.String())
	}
}
