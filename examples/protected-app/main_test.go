package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keyboxhq/keybox/client"
	"github.com/keyboxhq/keybox/internal/servertest"
	"github.com/keyboxhq/keybox/internal/storetest"
)

// TestProtectedApp runs the example against a real KeyBox: it serves while
// the license is active, answers 402 from its next check after a revoke,
// and serves again from its next check after a restore. The checks run on
// the guard's own (short) interval; the test waits for the application's
// log lines that report them, never for an amount of time.
func TestProtectedApp(t *testing.T) {
	kb := servertest.New(t, storetest.SQLite(t), servertest.Options{})
	ctx := context.Background()
	token, key := kb.NewLicense(t, "ada@example.com", 12)
	dev, err := client.New(kb.URL, client.Options{Token: token})
	if err != nil {
		t.Fatal(err)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	const interval = 100 * time.Millisecond
	env := map[string]string{
		"KEYBOX_SERVER": kb.URL, "LICENSE_KEY": key, "CHECK_INTERVAL": interval.String(),
		"INSTANCE_ID_FILE": t.TempDir() + "/instance-id",
	}
	t.Setenv(client.MachineIDEnv, "example-host") // the SDK reads it from the process environment
	appCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	logs := newLogEvents()
	go func() { done <- run(appCtx, func(k string) string { return env[k] }, logs, ln) }()
	t.Cleanup(func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	})
	url := "http://" + ln.Addr().String()

	fetch := func(path string) (int, map[string]any) {
		t.Helper()
		resp, err := http.Get(url + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&body)
		return resp.StatusCode, body
	}

	// The listener is open before run starts and run checks the license
	// before it serves: the first request waits for both.
	if status, body := fetch("/"); status != http.StatusOK {
		t.Fatalf("after start: got %d %v, want 200", status, body)
	}
	if _, err := dev.ToggleRevoke(ctx, key); err != nil {
		t.Fatal(err)
	}
	logs.wait(t, "license lost: answering 402")
	if status, body := fetch("/"); status != http.StatusPaymentRequired || body["state"] != "REVOKED" || body["error"] != "LICENSE_INACTIVE" {
		t.Fatalf("got %d %v, want 402 LICENSE_INACTIVE in state REVOKED", status, body)
	}
	if status, _ := fetch("/health"); status != http.StatusOK {
		t.Fatalf("health while revoked: got %d, want 200", status)
	}
	if _, err := dev.ToggleRevoke(ctx, key); err != nil {
		t.Fatal(err)
	}
	logs.wait(t, "license back: serving again")
	if status, body := fetch("/"); status != http.StatusOK {
		t.Fatalf("after the restore: got %d %v, want 200", status, body)
	}

	d, err := dev.License(ctx, key)
	if err != nil || len(d.Activations) != 1 || d.Activations[0].MachineID != "example-host" || d.Activations[0].InstanceID == "" {
		t.Fatalf("got seats %+v, %v; want one for example-host with an instance id", d.Activations, err)
	}
}

func TestProtectedAppNeedsAKey(t *testing.T) {
	err := run(context.Background(), func(string) string { return "" }, io.Discard, nil)
	if err == nil {
		t.Fatal("got no error without LICENSE_KEY")
	}
}

// logEvents hands the application's log lines to the test as they are
// written.
type logEvents struct {
	mu    sync.Mutex
	part  []byte
	lines chan string
}

func newLogEvents() *logEvents { return &logEvents{lines: make(chan string, 1024)} }

func (l *logEvents) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.part = append(l.part, p...)
	for {
		i := bytes.IndexByte(l.part, '\n')
		if i < 0 {
			return len(p), nil
		}
		l.lines <- string(l.part[:i])
		l.part = l.part[i+1:]
	}
}

// wait returns once a line with message msg has been logged. The timeout
// is only a safety net that turns a hang into a failure.
func (l *logEvents) wait(t *testing.T, msg string) {
	t.Helper()
	want := "msg=" + strconv.Quote(msg)
	safety := time.After(30 * time.Second)
	for {
		select {
		case line := <-l.lines:
			if strings.Contains(line, want) {
				return
			}
		case <-safety:
			t.Fatalf("no log line %s after 30 s", want)
		}
	}
}
