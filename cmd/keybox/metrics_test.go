package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestServeMetricsListener: the real binary with KEYBOX_METRICS_ADDR serves
// /metrics on that address only (the API's port answers 404), and its
// /healthz and keybox_build_info name the build keybox version prints.
func TestServeMetricsListener(t *testing.T) {
	bin, err := buildBinary()
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "version", "-o", "json").Output()
	if err != nil {
		t.Fatalf("keybox version: %v", err)
	}
	var build struct{ Version, Revision string }
	if err := json.Unmarshal(out, &build); err != nil || build.Version == "" {
		t.Fatalf("keybox version -o json: %q, %v", out, err)
	}

	_, base, logs := startBinary(t, bin, "KEYBOX_DATABASE_URL=sqlite://"+filepath.Join(t.TempDir(), "keybox.db"),
		"KEYBOX_METRICS_ADDR=127.0.0.1:0")
	// The metrics listener is up, and logged, before the API's.
	var metricsAddr string
	for _, line := range strings.Split(logs.text(), "\n") {
		var rec struct{ Msg, Addr string }
		if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "metrics listener" {
			metricsAddr = rec.Addr
		}
	}
	if metricsAddr == "" {
		t.Fatalf("no metrics listener in the log:\n%s", logs.text())
	}

	get := func(url string) (int, string) {
		t.Helper()
		req, err := http.NewRequestWithContext(context.Background(), "GET", url, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	if status, body := get(base + "/metrics"); status != 404 || strings.Contains(body, "keybox_") {
		t.Errorf("the API's /metrics answered %d %q, want 404", status, body)
	}
	status, text := get("http://" + metricsAddr + "/metrics")
	if status != 200 {
		t.Fatalf("the metrics listener answered %d %q", status, text)
	}
	want := `keybox_build_info{version="` + build.Version + `",revision="` + build.Revision + `",`
	if !strings.Contains(text, want) || !strings.Contains(text, `keybox_http_requests_total{route="GET /metrics",method="GET",status="404"} 1`) {
		t.Errorf("the metrics lack %s… or the count of the API's 404:\n%s", want, text)
	}
	_, body := get(base + "/healthz")
	var health struct{ Status, Version, Revision string }
	if err := json.Unmarshal([]byte(body), &health); err != nil || health.Status != "ok" ||
		health.Version != build.Version || health.Revision != build.Revision {
		t.Errorf("/healthz answered %s (%v), want ok and the build %+v", body, err, build)
	}
}

// TestConfigMetricsAddr: KEYBOX_METRICS_ADDR, or --metrics-addr over it,
// must be host:port.
func TestConfigMetricsAddr(t *testing.T) {
	c, err := loadConfig("serve", nil, envFunc(map[string]string{"KEYBOX_METRICS_ADDR": "127.0.0.1:5001"}))
	if err != nil || c.metricsAddr != "127.0.0.1:5001" {
		t.Fatalf("got %q, %v", c.metricsAddr, err)
	}
	c, err = loadConfig("serve", []string{"--metrics-addr", ":9200"}, envFunc(map[string]string{"KEYBOX_METRICS_ADDR": "127.0.0.1:5001"}))
	if err != nil || c.metricsAddr != ":9200" {
		t.Fatalf("--metrics-addr over the environment: got %q, %v", c.metricsAddr, err)
	}
	if _, err := loadConfig("serve", nil, envFunc(map[string]string{"KEYBOX_METRICS_ADDR": "5001"})); err == nil ||
		!strings.Contains(err.Error(), `KEYBOX_METRICS_ADDR: "5001" is not host:port`) {
		t.Fatalf("a bare port: %v", err)
	}
}
