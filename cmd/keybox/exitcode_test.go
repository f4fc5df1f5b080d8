package main

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keyboxhq/keybox/client"
)

// silentServer accepts connections and never answers: a server that hangs.
func silentServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return "http://" + ln.Addr().String()
}

// failingServer answers every request with status and KeyBox's JSON body.
func failingServer(t *testing.T, status int, body string) string {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Request-Id", "req-1")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(s.Close)
	return s.URL
}

// closedPort is a loopback address where nothing listens.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr
}

// TestExitCodes: each outcome a script must tell apart has its own exit code.
func TestExitCodes(t *testing.T) {
	url := testServer(t)
	ctx := context.Background()
	api, err := client.New(url, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := api.Signup(ctx, client.Signup{Name: "Ada", Email: "ada@example.com", Password: "correct horse"}); err != nil {
		t.Fatal(err)
	}
	if _, err := api.Signup(ctx, client.Signup{Name: "Bob", Email: "bob@example.com", Password: "correct horse"}); err != nil {
		t.Fatal(err)
	}
	ada, err := api.Login(ctx, "ada@example.com", "correct horse")
	if err != nil {
		t.Fatal(err)
	}
	bob, err := api.Login(ctx, "bob@example.com", "correct horse")
	if err != nil {
		t.Fatal(err)
	}
	pg := "postgres://postgres@" + strings.TrimPrefix(closedPort(t), "http://") + "/keybox?sslmode=disable&connect_timeout=5"

	cases := []struct {
		name string
		env  []string // name, value pairs
		args []string
		code int
		says string
	}{
		{"done", []string{"KEYBOX_TOKEN", ada.Token}, []string{"whoami"}, exitOK, ""},
		{"help", nil, []string{"help"}, exitOK, ""},

		{"not found (404)", []string{"KEYBOX_TOKEN", ada.Token}, []string{"clients", "get", "000000000000000000000000"}, exitFailed, "Client not found (HTTP 404)"},
		{"forbidden (403)", []string{"KEYBOX_TOKEN", bob.Token}, []string{"users", "list"}, exitFailed, "(HTTP 403)"},
		{"invalid (400)", []string{"KEYBOX_TOKEN", ada.Token}, []string{"clients", "create", "--name", "X", "--email", "not-an-address"}, exitFailed, "HTTP 400"},
		{"a local file", []string{"KEYBOX_TOKEN", ada.Token}, []string{"verify", "/nonexistent/license.txt", "--public-keys", "/nonexistent/keys.json"}, exitFailed, "no such file"},

		{"unknown command", nil, []string{"frobnicate"}, exitUsage, `unknown command "frobnicate"`},
		{"unknown subcommand", nil, []string{"clients", "frobnicate"}, exitUsage, `unknown command "frobnicate"`},
		{"unknown flag", nil, []string{"clients", "list", "--frobnicate"}, exitUsage, "flag provided but not defined"},
		{"a missing argument", nil, []string{"clients", "get"}, exitUsage, "usage: keybox clients get ID"},
		{"no command", nil, nil, exitUsage, "Usage: keybox"},
		{"serve's unknown flag", nil, []string{"serve", "--frobnicate"}, exitUsage, "flag provided but not defined"},
		{"a bad page", nil, []string{"clients", "list", "--page", "0"}, exitUsage, "pages count from 1"},

		{"connection refused", []string{"KEYBOX_SERVER", closedPort(t)}, []string{"whoami"}, exitUnreachable, "cannot reach KeyBox at"},
		{"unknown host", []string{"KEYBOX_SERVER", "http://keybox.invalid"}, []string{"whoami"}, exitUnreachable, "cannot reach KeyBox at http://keybox.invalid"},
		{"server failed (500)", []string{"KEYBOX_SERVER", failingServer(t, 500, `{"message":"Internal server error","requestId":"req-1"}`)},
			[]string{"whoami"}, exitUnreachable, "Internal server error (HTTP 500, request req-1); the server could not do it: try again later"},
		{"server busy (503)", []string{"KEYBOX_SERVER", failingServer(t, 503, `{"message":"Service temporarily unavailable"}`)},
			[]string{"clients", "list"}, exitUnreachable, "Service temporarily unavailable (HTTP 503, request req-1); the server could not do it"},
		{"a database command's PostgreSQL", []string{"KEYBOX_DATABASE_URL", pg}, []string{"migrate"}, exitUnreachable, ""},

		{"no credentials", nil, []string{"whoami"}, exitUnauthorized, "No token provided (HTTP 401); run keybox login"},
		{"a bad token", []string{"KEYBOX_TOKEN", "not-a-token"}, []string{"clients", "list"}, exitUnauthorized, "run keybox login"},
		{"a wrong password", []string{"KEYBOX_PASSWORD", "wrong horse"}, []string{"login", "--email", "ada@example.com"}, exitUnauthorized, "Invalid credentials (HTTP 401)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sh := newShell(t, url, c.env...)
			code, out := sh.run("", c.args...)
			if code != c.code || !strings.Contains(out, c.says) {
				t.Fatalf("keybox %s: exit %d, %q; want exit %d saying %q", strings.Join(c.args, " "), code, out, c.code, c.says)
			}
			if c.code != exitOK && c.code != exitUsage && strings.Count(strings.TrimSpace(out), "\n") != 0 {
				t.Errorf("keybox %s: want one line on stderr, got %q", strings.Join(c.args, " "), out)
			}
		})
	}

	// A server that accepts the connection and never answers: when time
	// runs out the command exits 3 too.
	t.Run("timeout", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		defer cancel()
		var stdout, stderr bytes.Buffer
		env := map[string]string{"KEYBOX_SERVER": silentServer(t), "KEYBOX_CONFIG_DIR": t.TempDir()}
		code := runIO(ctx, []string{"whoami"}, cli{getenv: envFunc(env), stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr})
		if code != exitUnreachable || !strings.Contains(stderr.String(), "cannot reach KeyBox") {
			t.Fatalf("exit %d, %q; want %d", code, stderr.String(), exitUnreachable)
		}
	})
}

// TestExitCodesDocumented: keybox help and the README list the same codes
// as the code uses.
func TestExitCodesDocumented(t *testing.T) {
	_, help, _ := runCLI(t, nil, "help")
	readme := readREADME(t)
	for _, code := range []int{exitOK, exitFailed, exitUsage, exitUnreachable, exitUnauthorized} {
		want := "\n  " + string(rune('0'+code)) + "  "
		if !strings.Contains(help, want) {
			t.Errorf("keybox help does not explain exit code %d", code)
		}
		if !strings.Contains(readme, "| "+string(rune('0'+code))+" |") {
			t.Errorf("README.md does not explain exit code %d", code)
		}
	}
}

func readREADME(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
