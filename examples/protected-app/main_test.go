package main

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/keyboxhq/keybox/client"
	"github.com/keyboxhq/keybox/internal/servertest"
	"github.com/keyboxhq/keybox/internal/storetest"
)

// TestProtectedApp runs the example against a real KeyBox: it serves while
// the license is active, answers 402 after a revoke within one (short)
// check interval, and serves again after a restore.
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
	go func() { done <- run(appCtx, func(k string) string { return env[k] }, io.Discard, ln) }()
	t.Cleanup(func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	})
	url := "http://" + ln.Addr().String()

	wait := func(status int) map[string]any {
		t.Helper()
		deadline := time.Now().Add(20 * interval)
		for {
			resp, err := http.Get(url + "/")
			if err == nil {
				var body map[string]any
				_ = json.NewDecoder(resp.Body).Decode(&body)
				resp.Body.Close()
				if resp.StatusCode == status {
					return body
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("no %d within %v (last: %v)", status, 20*interval, err)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}

	wait(http.StatusOK)
	if _, err := dev.ToggleRevoke(ctx, key); err != nil {
		t.Fatal(err)
	}
	if body := wait(http.StatusPaymentRequired); body["state"] != "REVOKED" || body["error"] != "LICENSE_INACTIVE" {
		t.Fatalf("got %v, want LICENSE_INACTIVE in state REVOKED", body)
	}
	resp, err := http.Get(url + "/health")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("health while revoked: got %v, %v; want 200", resp, err)
	}
	resp.Body.Close()
	if _, err := dev.ToggleRevoke(ctx, key); err != nil {
		t.Fatal(err)
	}
	wait(http.StatusOK)

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
