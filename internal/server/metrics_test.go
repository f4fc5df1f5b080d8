package server_test

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/keyboxhq/keybox/internal/storetest"
)

// TestMetricsMethods: a client that makes up a method for every request
// adds one series, method="OTHER", not one per method that never goes away.
func TestMetricsMethods(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t))
	_, token := e.developer("ada@example.com")
	for i := range 200 {
		for _, path := range []string{"/", "/clients"} {
			req, err := http.NewRequestWithContext(context.Background(), fmt.Sprintf("MADEUP%03d", i), e.url+path, nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Authorization", "Bearer "+token)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusMethodNotAllowed {
				t.Fatalf("%s %s: %d, want 405", req.Method, path, resp.StatusCode)
			}
		}
	}
	e.do("PATCH", "/clients/nope", token, map[string]any{"name": "x"}).want(t, 404, "Client not found")

	methods := map[string]float64{}
	series := 0
	for _, s := range e.metrics() {
		if s.name == "keybox_http_requests_total" {
			series++
			methods[s.labels["method"]] += s.value
		}
	}
	if methods["OTHER"] != 400 {
		t.Errorf(`method="OTHER" counts %v requests, want 400 (all: %v)`, methods["OTHER"], methods)
	}
	var madeUp []string
	for m := range methods {
		switch m {
		case "GET", "POST", "PATCH", "OTHER":
		default:
			madeUp = append(madeUp, m)
		}
	}
	if len(madeUp) > 0 {
		t.Errorf("%d made-up methods have labels of their own (%.3q…); they must count as OTHER", len(madeUp), madeUp)
	}
	if series > 12 {
		t.Errorf("%d request series after 400 requests with made-up methods; they must share one", series)
	}
}

// TestMetricsLabelEscaping: label values are escaped as the text exposition
// format says (backslash, double quote and line feed, nothing else), so that
// a parser of the format reads back exactly the value recorded. Go's %q
// escapes tabs, control characters and some spaces in forms the format does
// not know.
func TestMetricsLabelEscaping(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t))
	weird := "GET /a\\b\"c\nd\te\x01f é\u00a0g"
	e.server.ObserveForTest(weird, "GET", 200)
	seen := 0
	for _, s := range e.metrics() {
		if s.labels["route"] == weird {
			seen++
		}
	}
	// One request count, 15 buckets, a sum and a count.
	if seen != 18 {
		t.Errorf("the route %q reads back in %d samples, want 18", weird, seen)
	}
}

// metrics reads /metrics with a strict parser of the exposition format,
// holding it to promtool's rules (see lintExposition).
func (e *env) metrics() []sample {
	e.t.Helper()
	r := e.do("GET", "/metrics", "", nil).want(e.t, 200, "")
	return checkedSamples(e.t, string(r.raw))
}

// checkedSamples are the samples of an exposition that passes lintExposition.
func checkedSamples(t testing.TB, text string) []sample {
	t.Helper()
	families, problems := lintExposition(text)
	if len(problems) > 0 {
		t.Fatalf("/metrics breaks the exposition format's rules:\n%s", strings.Join(problems, "\n"))
	}
	var out []sample
	for _, f := range families {
		out = append(out, f.samples...)
	}
	return out
}

// sample is one line of the text exposition format.
type sample struct {
	name   string
	labels map[string]string
	value  float64
}

func parseSample(line string) (sample, error) {
	s := sample{labels: map[string]string{}}
	i := strings.IndexAny(line, "{ ")
	if i < 0 {
		return s, fmt.Errorf("no value")
	}
	s.name, line = line[:i], line[i:]
	if !validName(s.name, true) {
		return s, fmt.Errorf("bad metric name %q", s.name)
	}
	if line[0] == '{' {
		line = line[1:]
		for !strings.HasPrefix(line, "}") {
			eq := strings.IndexByte(line, '=')
			if eq < 0 || !validName(line[:eq], false) || len(line) < eq+2 || line[eq+1] != '"' {
				return s, fmt.Errorf("bad label at %q", line)
			}
			name := line[:eq]
			line = line[eq+2:]
			var v strings.Builder
			for {
				if line == "" {
					return s, fmt.Errorf("unterminated label value")
				}
				c := line[0]
				line = line[1:]
				if c == '"' {
					break
				}
				if c != '\\' {
					v.WriteByte(c)
					continue
				}
				if line == "" {
					return s, fmt.Errorf("unterminated escape")
				}
				switch line[0] {
				case '\\':
					v.WriteByte('\\')
				case '"':
					v.WriteByte('"')
				case 'n':
					v.WriteByte('\n')
				default:
					return s, fmt.Errorf("escape \\%c is not in the format", line[0])
				}
				line = line[1:]
			}
			if _, dup := s.labels[name]; dup {
				return s, fmt.Errorf("label %s twice", name)
			}
			s.labels[name] = v.String()
			line = strings.TrimPrefix(line, ",")
		}
		line = line[1:]
	}
	fields := strings.Fields(line)
	if len(fields) < 1 || len(fields) > 2 || !strings.HasPrefix(line, " ") {
		return s, fmt.Errorf("want a value and an optional timestamp, got %q", line)
	}
	v, err := strconv.ParseFloat(fields[0], 64)
	if err != nil {
		return s, err
	}
	s.value = v
	return s, nil
}

// validName checks a metric name (colons allowed) or a label name.
func validName(s string, metric bool) bool {
	if s == "" {
		return false
	}
	for i, c := range s {
		ok := c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (i > 0 && c >= '0' && c <= '9') || (metric && c == ':')
		if !ok {
			return false
		}
	}
	return true
}
