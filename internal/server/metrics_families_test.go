package server_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/keyboxhq/keybox/internal/buildinfo"
	"github.com/keyboxhq/keybox/internal/servertest"
	"github.com/keyboxhq/keybox/internal/storetest"
)

// testBuild is a release build, as a server under test reports it.
var testBuild = buildinfo.Info{Version: "v1.4.0", Revision: "60e02c31615c0c2f0f0ba5fbbdb4b38ec7fbe29d", GoVersion: "go1.26.8"}

func withBuild(b buildinfo.Info) envOption { return func(o *servertest.Options) { o.Build = b } }

func separateMetrics() envOption { return func(o *servertest.Options) { o.SeparateMetrics = true } }

// TestMetricsFamilies: after traffic of every kind, the whole of /metrics
// passes the exposition format's rules (lintExposition), and holds the
// families an operator's dashboards expect: the API's, the database pool's,
// the build's, the Go runtime's and, on Linux, the process's, with values
// that describe this process.
func TestMetricsFamilies(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		_, token := e.developer("ada@example.com")
		_, key := e.projectWithLicense(token, e.client(token, "Acme", "acme@example.com"), "Website")
		e.do("POST", "/validate", "", map[string]any{"key": key, "machineId": "m"}).want(t, 200, "")
		e.do("GET", "/nope", "", nil).want(t, 404, "")
		e.do("DELETE", "/healthz", "", nil).want(t, 405, "")
		e.server.ObserveForTest("GET /a\\b\"c\nd", "GET", 200)

		r := e.do("GET", "/metrics", "", nil).want(t, 200, "")
		if ct := r.header.Get("Content-Type"); ct != "text/plain; version=0.0.4; charset=utf-8" {
			t.Errorf("Content-Type %q", ct)
		}
		families, problems := lintExposition(string(r.raw))
		if len(problems) > 0 {
			t.Fatalf("/metrics breaks the rules:\n%s\n\n%s", strings.Join(problems, "\n"), r.raw)
		}
		want := map[string]string{
			"keybox_http_requests_total": "counter", "keybox_http_request_duration_seconds": "histogram",
			"keybox_validations_total": "counter", "keybox_db_open_connections": "gauge", "keybox_db_queries_total": "counter",
			"keybox_build_info": "gauge", "go_info": "gauge", "go_goroutines": "gauge", "go_threads": "gauge",
			"go_gc_duration_seconds": "summary", "go_memstats_heap_alloc_bytes": "gauge", "go_memstats_alloc_bytes_total": "counter",
			"go_memstats_sys_bytes": "gauge", "go_memstats_next_gc_bytes": "gauge", "process_start_time_seconds": "gauge",
		}
		if runtime.GOOS == "linux" {
			for name, typ := range map[string]string{"process_cpu_seconds_total": "counter", "process_resident_memory_bytes": "gauge",
				"process_virtual_memory_bytes": "gauge", "process_open_fds": "gauge", "process_max_fds": "gauge"} {
				want[name] = typ
			}
		}
		for name, typ := range want {
			if f := families[name]; f == nil || f.typ != typ || len(f.samples) == 0 {
				t.Errorf("no %s %s with samples in /metrics", typ, name)
			}
		}
		value := func(name string) float64 {
			if f := families[name]; f != nil && len(f.samples) == 1 {
				return f.samples[0].value
			}
			t.Errorf("%s is not one sample", name)
			return 0
		}
		if value("go_goroutines") < 1 || value("go_threads") < 1 || value("go_memstats_heap_alloc_bytes") <= 0 {
			t.Errorf("the runtime's figures are not this process's: %v goroutines, %v threads, %v bytes of heap",
				value("go_goroutines"), value("go_threads"), value("go_memstats_heap_alloc_bytes"))
		}
		if start := value("process_start_time_seconds"); start <= 0 || start > float64(time.Now().Unix()+1) {
			t.Errorf("process_start_time_seconds %v is not a time before now", start)
		}
		if runtime.GOOS == "linux" {
			if value("process_cpu_seconds_total") <= 0 || value("process_resident_memory_bytes") < 1<<20 {
				t.Errorf("the process used %v s of CPU and has %v bytes resident", value("process_cpu_seconds_total"), value("process_resident_memory_bytes"))
			}
			if fds := value("process_open_fds"); fds < 3 || fds >= value("process_max_fds") {
				t.Errorf("%v file descriptors open of at most %v", fds, value("process_max_fds"))
			}
		}
		var created bool
		for _, s := range families["keybox_http_requests_total"].samples {
			if s.labels["route"] == "POST /clients" && s.labels["method"] == "POST" && s.labels["status"] == "201" && s.value == 1 {
				created = true
			}
		}
		if !created {
			t.Error("the client's creation is not counted under its route")
		}
	})
}

// TestBuildReported: /healthz and /metrics name the build that runs, the
// same one keybox version prints; the health answer keeps its status.
func TestBuildReported(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t), withBuild(testBuild))
	r := e.do("GET", "/healthz", "", nil).want(t, 200, "")
	want := map[string]any{"status": "ok", "version": testBuild.Version, "revision": testBuild.Revision}
	if len(r.body) != len(want) {
		t.Errorf("/healthz answered %s, want %v", r.raw, want)
	}
	for k, v := range want {
		if r.body[k] != v {
			t.Errorf("/healthz %s = %v, want %v", k, r.body[k], v)
		}
	}
	info := buildInfo(t, e.metrics())
	if info["version"] != testBuild.Version || info["revision"] != testBuild.Revision || info["goversion"] != testBuild.GoVersion {
		t.Errorf("keybox_build_info%v, want %+v", info, testBuild)
	}

	// Without a build given, the server reports this binary's, as keybox
	// version does; a stamped version with any characters reads back whole.
	e = newEnv(t, storetest.SQLite(t))
	if v := e.do("GET", "/healthz", "", nil).want(t, 200, "").str("version"); v != buildinfo.Get().Version || v == "" {
		t.Errorf("/healthz version %q, want this binary's %q", v, buildinfo.Get().Version)
	}
	odd := buildinfo.Info{Version: "v1.4.0-\"rc\"\\1\nx", Revision: "abc"}
	e = newEnv(t, storetest.SQLite(t), withBuild(odd))
	if info := buildInfo(t, e.metrics()); info["version"] != odd.Version || info["goversion"] != runtime.Version() {
		t.Errorf("keybox_build_info%v, want the version %q and this Go", info, odd.Version)
	}
}

// buildInfo returns the labels of the one keybox_build_info sample, whose value is 1.
func buildInfo(t *testing.T, samples []sample) map[string]string {
	t.Helper()
	var found []sample
	for _, s := range samples {
		if s.name == "keybox_build_info" {
			found = append(found, s)
		}
	}
	if len(found) != 1 || found[0].value != 1 {
		t.Fatalf("keybox_build_info: %v, want one sample of 1", found)
	}
	return found[0].labels
}

// TestMetricsOnSeparateListener: with a metrics listener, /metrics is
// served there, counting the API's requests, and the API's port answers
// GET /metrics as it answers a path that does not exist; the metrics
// listener serves nothing of the API.
func TestMetricsOnSeparateListener(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t), separateMetrics(), withBuild(testBuild))
	hidden := e.do("GET", "/metrics", "", nil).want(t, 404, "Not found")
	missing := e.do("GET", "/no-such-path", "", nil).want(t, 404, "Not found")
	if !bytes.Equal(hidden.raw, missing.raw) || hidden.header.Get("Content-Type") != missing.header.Get("Content-Type") {
		t.Errorf("GET /metrics answered %q (%s), a missing path %q (%s)", hidden.raw, hidden.header.Get("Content-Type"),
			missing.raw, missing.header.Get("Content-Type"))
	}
	if bytes.Contains(hidden.raw, []byte("keybox_")) {
		t.Error("the API's port shows metrics")
	}

	get := func(method, path string) (int, string, string) {
		t.Helper()
		req, err := http.NewRequestWithContext(context.Background(), method, e.metricsURL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header.Get("Content-Type"), string(body)
	}
	status, ct, text := get("GET", "/metrics")
	if status != 200 || ct != "text/plain; version=0.0.4; charset=utf-8" {
		t.Fatalf("the metrics listener answered %d %s: %s", status, ct, text)
	}
	samples := checkedSamples(t, text)
	counted := false
	for _, s := range samples {
		if s.name == "keybox_http_requests_total" && s.labels["route"] == "GET /metrics" && s.labels["status"] == "404" && s.value == 1 {
			counted = true
		}
	}
	if !counted {
		t.Errorf("the API's GET /metrics is not counted by the metrics listener:\n%s", text)
	}
	if info := buildInfo(t, samples); info["version"] != testBuild.Version {
		t.Errorf("keybox_build_info%v on the metrics listener", info)
	}
	for _, c := range []struct {
		method, path string
		status       int
	}{{"GET", "/healthz", 404}, {"GET", "/clients", 404}, {"GET", "/openapi.json", 404}, {"POST", "/metrics", 405}} {
		if status, _, body := get(c.method, c.path); status != c.status {
			t.Errorf("%s %s on the metrics listener: %d %s, want %d", c.method, c.path, status, body, c.status)
		}
	}
}
