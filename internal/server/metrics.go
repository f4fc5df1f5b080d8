package server

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/keyboxhq/keybox"
	"github.com/keyboxhq/keybox/internal/licensing"
)

// metrics holds the counters /metrics exposes in Prometheus' text format.
// Updating them on the hot path is a map read under a read lock and a few
// atomic adds.
type metrics struct {
	mu          sync.RWMutex
	requests    map[requestKey]*atomic.Uint64
	durations   map[string]*histogram
	validations map[string]*atomic.Uint64
}

type requestKey struct {
	route, method string
	status        int
}

// latencyBuckets are upper bounds in seconds, from 100 µs to 2.5 s.
var latencyBuckets = []float64{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5}

type histogram struct {
	buckets []atomic.Uint64 // one per bound, then +Inf
	count   atomic.Uint64
	sumNano atomic.Uint64
}

func newMetrics() *metrics {
	m := &metrics{
		requests:    make(map[requestKey]*atomic.Uint64),
		durations:   make(map[string]*histogram),
		validations: make(map[string]*atomic.Uint64),
	}
	for _, v := range []string{licensing.VerdictActive, licensing.VerdictInvalid, licensing.VerdictRevoked, licensing.VerdictPending,
		licensing.VerdictExpired, licensing.VerdictMachineMismatch, licensing.VerdictInstanceMismatch,
		licensing.VerdictEntitlementsMissing} {
		m.validations[v] = new(atomic.Uint64)
	}
	return m
}

// observe records one finished request.
func (m *metrics) observe(route, method string, status int, d time.Duration) {
	if route == "" {
		route = "unmatched"
	}
	k := requestKey{route, methodLabel(method), status}
	m.mu.RLock()
	c, h := m.requests[k], m.durations[route]
	m.mu.RUnlock()
	if c == nil || h == nil {
		m.mu.Lock()
		if c = m.requests[k]; c == nil {
			c = new(atomic.Uint64)
			m.requests[k] = c
		}
		if h = m.durations[route]; h == nil {
			h = &histogram{buckets: make([]atomic.Uint64, len(latencyBuckets)+1)}
			m.durations[route] = h
		}
		m.mu.Unlock()
	}
	c.Add(1)
	sec := d.Seconds()
	i := sort.SearchFloat64s(latencyBuckets, sec)
	h.buckets[i].Add(1)
	h.count.Add(1)
	h.sumNano.Add(uint64(d.Nanoseconds()))
}

// methodLabel is the method as /metrics shows it. Any token is a method to
// net/http, so a client making up a new one for every request would add a
// series each time, for as long as the process lives: all but the standard
// methods count as "OTHER".
func methodLabel(method string) string {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return method
	}
	return "OTHER"
}

// labelValue escapes a label value as the text exposition format wants:
// backslash, double quote and line feed, nothing else (Go's %q would also
// escape other bytes, in forms the format does not know).
func labelValue(v string) string {
	if !strings.ContainsAny(v, "\\\"\n") {
		return v
	}
	return labelEscaper.Replace(v)
}

var labelEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)

func (m *metrics) validated(status string) {
	if c := m.validations[status]; c != nil {
		c.Add(1)
	}
}

// metricsText is the Prometheus text exposition format.
type metricsText string

// errMetricsElsewhere is the API's answer to GET /metrics when the metrics
// are served on a listener of their own: the answer of a path that does not
// exist, so the public port says nothing of them.
var errMetricsElsewhere = &keybox.Error{Code: keybox.NotFound, Message: "Not found"}

// metricsContentType is the text exposition format's media type.
const metricsContentType = "text/plain; version=0.0.4; charset=utf-8"

// handleMetrics is GET /metrics on the API's listener.
func (s *Server) handleMetrics(w http.ResponseWriter, r *http.Request, _ keybox.User) error {
	if s.metricsElsewhere {
		return errMetricsElsewhere
	}
	w.Header().Set("Content-Type", metricsContentType)
	s.writeMetrics(r.Context(), w)
	return nil
}

// MetricsHandler serves GET /metrics alone, for a listener of its own
// (KEYBOX_METRICS_ADDR) that need not be reachable from where the API is:
// what it shows (routes' traffic, the database pool, the build) is for the
// operator. Its requests are not counted among the API's.
func (s *Server) MetricsHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", metricsContentType)
		s.writeMetrics(r.Context(), w)
	})
	return mux
}

// writeMetrics writes every metric in Prometheus' text exposition format.
func (s *Server) writeMetrics(ctx context.Context, w io.Writer) {
	bw := bufio.NewWriter(w)
	defer bw.Flush()
	m := s.metrics
	m.mu.RLock()
	reqs := make([]requestKey, 0, len(m.requests))
	for k := range m.requests {
		reqs = append(reqs, k)
	}
	routes := make([]string, 0, len(m.durations))
	for k := range m.durations {
		routes = append(routes, k)
	}
	m.mu.RUnlock()
	sort.Slice(reqs, func(i, j int) bool {
		a, b := reqs[i], reqs[j]
		if a.route != b.route {
			return a.route < b.route
		}
		if a.method != b.method {
			return a.method < b.method
		}
		return a.status < b.status
	})
	sort.Strings(routes)

	fmt.Fprintln(bw, "# HELP keybox_http_requests_total HTTP requests by route, method and status.")
	fmt.Fprintln(bw, "# TYPE keybox_http_requests_total counter")
	m.mu.RLock()
	for _, k := range reqs {
		fmt.Fprintf(bw, "keybox_http_requests_total{route=\"%s\",method=\"%s\",status=\"%d\"} %d\n", labelValue(k.route), labelValue(k.method), k.status, m.requests[k].Load())
	}
	m.mu.RUnlock()

	fmt.Fprintln(bw, "# HELP keybox_http_request_duration_seconds HTTP request latency by route.")
	fmt.Fprintln(bw, "# TYPE keybox_http_request_duration_seconds histogram")
	for _, route := range routes {
		m.mu.RLock()
		h := m.durations[route]
		m.mu.RUnlock()
		label := labelValue(route)
		var cum uint64
		for i, le := range latencyBuckets {
			cum += h.buckets[i].Load()
			fmt.Fprintf(bw, "keybox_http_request_duration_seconds_bucket{route=\"%s\",le=\"%s\"} %d\n", label, strconv.FormatFloat(le, 'g', -1, 64), cum)
		}
		cum += h.buckets[len(latencyBuckets)].Load()
		fmt.Fprintf(bw, "keybox_http_request_duration_seconds_bucket{route=\"%s\",le=\"+Inf\"} %d\n", label, cum)
		fmt.Fprintf(bw, "keybox_http_request_duration_seconds_sum{route=\"%s\"} %s\n", label, strconv.FormatFloat(float64(h.sumNano.Load())/1e9, 'g', -1, 64))
		fmt.Fprintf(bw, "keybox_http_request_duration_seconds_count{route=\"%s\"} %d\n", label, h.count.Load())
	}

	fmt.Fprintln(bw, "# HELP keybox_validations_total Validations answered, by result.")
	fmt.Fprintln(bw, "# TYPE keybox_validations_total counter")
	results := make([]string, 0, len(m.validations))
	for k := range m.validations {
		results = append(results, k)
	}
	sort.Strings(results)
	for _, k := range results {
		fmt.Fprintf(bw, "keybox_validations_total{result=\"%s\"} %d\n", labelValue(k), m.validations[k].Load())
	}

	st := s.svc.StoreStats()
	engine := labelValue(st.Engine)
	gauge := func(name, help string, v float64) {
		fmt.Fprintf(bw, "# HELP %s %s\n# TYPE %s gauge\n%s{engine=\"%s\"} %s\n", name, help, name, name, engine, strconv.FormatFloat(v, 'g', -1, 64))
	}
	counter := func(name, help string, v float64) {
		fmt.Fprintf(bw, "# HELP %s %s\n# TYPE %s counter\n%s{engine=\"%s\"} %s\n", name, help, name, name, engine, strconv.FormatFloat(v, 'g', -1, 64))
	}
	gauge("keybox_db_open_connections", "Open database connections.", float64(st.OpenConnections))
	gauge("keybox_db_in_use_connections", "Database connections in use.", float64(st.InUse))
	gauge("keybox_db_idle_connections", "Idle database connections.", float64(st.Idle))
	counter("keybox_db_wait_total", "Waits for a database connection.", float64(st.WaitCount))
	counter("keybox_db_wait_seconds_total", "Time spent waiting for a database connection.", st.WaitDuration.Seconds())
	counter("keybox_db_queries_total", "Statements run.", float64(st.Queries))

	s.writeEventMetrics(ctx, bw)
	writeBuildInfo(bw, s.build)
	writeRuntimeMetrics(bw)
	writeProcessMetrics(bw)
}
