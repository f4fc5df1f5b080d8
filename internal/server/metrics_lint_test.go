package server_test

import (
	"bufio"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// family is one metric family of an exposition: its declaration and samples.
type family struct {
	name, typ, help string
	samples         []sample
}

// Words a metric name must not contain: units that are not base units
// (Prometheus wants seconds and bytes, and ratios rather than percents),
// their abbreviations, and the metric's type.
var (
	nonBaseUnits = map[string]string{
		"nanoseconds": "seconds", "microseconds": "seconds", "milliseconds": "seconds", "minutes": "seconds",
		"hours": "seconds", "days": "seconds", "weeks": "seconds", "ns": "seconds", "us": "seconds", "ms": "seconds",
		"sec": "seconds", "secs": "seconds", "mins": "seconds", "bits": "bytes", "kilobytes": "bytes",
		"megabytes": "bytes", "gigabytes": "bytes", "kb": "bytes", "mb": "bytes", "gb": "bytes", "kib": "bytes",
		"mib": "bytes", "gib": "bytes", "percent": "ratio", "pct": "ratio",
	}
	typeWords = map[string]bool{"counter": true, "gauge": true, "histogram": true, "summary": true}
	// timeWords name durations and instants, which are measured in seconds.
	timeWords = map[string]bool{"duration": true, "latency": true, "time": true, "age": true, "uptime": true}
)

// lintExposition reads a whole exposition in Prometheus' text format
// (version 0.0.4), strictly, and holds it to the rules `promtool check
// metrics` applies: every family has a HELP and a TYPE before its samples,
// and its samples together; counters end in _total and nothing else does;
// _bucket, _sum and _count only where a histogram or summary puts them, and
// le and quantile only there; histograms' buckets cumulative up to +Inf,
// which equals the count; units are base units; metric and label names are
// snake_case; no series appears twice.
func lintExposition(text string) (map[string]*family, []string) {
	families := map[string]*family{}
	var order []string
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	closed := map[string]bool{} // families whose lines have ended
	current := ""
	declare := func(name string) *family {
		if name != current {
			if closed[name] {
				bad("the lines of %s are not together", name)
			}
			if current != "" {
				closed[current] = true
			}
			current = name
		}
		f := families[name]
		if f == nil {
			f = &family{name: name}
			families[name] = f
			order = append(order, name)
		}
		return f
	}
	seen := map[string]bool{}
	sc := bufio.NewScanner(strings.NewReader(text))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if line == "" {
			continue
		}
		if rest, ok := strings.CutPrefix(line, "# "); ok {
			kw, rest, _ := strings.Cut(rest, " ")
			if kw != "HELP" && kw != "TYPE" {
				continue // a comment
			}
			name, val, _ := strings.Cut(rest, " ")
			if !validName(name, true) {
				bad("line %d: bad metric name in %q", n, line)
				continue
			}
			f := declare(name)
			if len(f.samples) > 0 {
				bad("line %d: %s of %s after its samples", n, kw, name)
			}
			if kw == "HELP" {
				if f.help != "" {
					bad("line %d: a second HELP for %s", n, name)
				}
				if f.help = strings.TrimSpace(val); f.help == "" {
					bad("line %d: %s has an empty HELP", n, name)
				}
			} else {
				if f.typ != "" {
					bad("line %d: a second TYPE for %s", n, name)
				}
				f.typ = val
			}
			continue
		}
		if strings.HasPrefix(line, "#") {
			continue
		}
		s, err := parseSample(line)
		if err != nil {
			bad("line %d %q: %v", n, line, err)
			continue
		}
		f := families[s.name]
		if f == nil || f.typ == "histogram" || f.typ == "summary" {
			for _, suffix := range []string{"_bucket", "_sum", "_count"} {
				if base, ok := strings.CutSuffix(s.name, suffix); ok && families[base] != nil {
					f = families[base]
				}
			}
		}
		if f == nil {
			bad("line %d: %s has no HELP and TYPE", n, s.name)
			continue
		}
		if f.name != current {
			bad("line %d: a sample of %s among the lines of %s", n, f.name, current)
		}
		key := seriesKey(s)
		if seen[key] {
			bad("line %d: the series %s appears twice", n, key)
		}
		seen[key] = true
		f.samples = append(f.samples, s)
	}
	if err := sc.Err(); err != nil {
		bad("reading: %v", err)
	}
	for _, name := range order {
		lintFamily(families[name], bad)
	}
	return families, problems
}

// lintFamily checks one family's name, type, labels and samples.
func lintFamily(f *family, bad func(string, ...any)) {
	name := f.name
	if f.help == "" {
		bad("%s has no HELP", name)
	}
	switch f.typ {
	case "counter", "gauge", "histogram", "summary":
	case "":
		bad("%s has no TYPE", name)
	default:
		bad("%s has the type %q (want counter, gauge, histogram or summary)", name, f.typ)
	}
	if strings.ToLower(name) != name || strings.Contains(name, ":") {
		bad("%s is not snake_case (colons are for recording rules)", name)
	}
	if f.typ == "counter" && !strings.HasSuffix(name, "_total") {
		bad("the counter %s does not end in _total", name)
	}
	if f.typ != "counter" && strings.HasSuffix(name, "_total") {
		bad("%s ends in _total but is a %s", name, f.typ)
	}
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		if strings.HasSuffix(name, suffix) {
			bad("%s ends in %s, which histograms and summaries reserve", name, suffix)
		}
	}
	parts := strings.Split(name, "_")
	hasSeconds := false
	for _, p := range parts {
		if base, ok := nonBaseUnits[p]; ok {
			bad("%s is in %s; measure in %s", name, p, base)
		}
		if typeWords[p] {
			bad("%s names its type", name)
		}
		hasSeconds = hasSeconds || p == "seconds"
	}
	for _, p := range parts {
		if timeWords[p] && !hasSeconds {
			bad("%s is a %s without its unit, seconds", name, p)
		}
	}
	for _, s := range f.samples {
		for l := range s.labels {
			if strings.HasPrefix(l, "__") || strings.ToLower(l) != l {
				bad("%s: the label %s is reserved or not snake_case", name, l)
			}
		}
		_, hasLe := s.labels["le"]
		_, hasQuantile := s.labels["quantile"]
		if hasLe && !(f.typ == "histogram" && s.name == name+"_bucket") {
			bad("%s: le on a sample that is not a histogram's bucket", s.name)
		}
		if hasQuantile && !(f.typ == "summary" && s.name == name) {
			bad("%s: quantile on a sample that is not a summary's quantile", s.name)
		}
		if math.IsNaN(s.value) || f.typ == "counter" && s.value < 0 {
			bad("%s: the value %v", s.name, s.value)
		}
		switch f.typ {
		case "histogram":
			if s.name != name+"_bucket" && s.name != name+"_sum" && s.name != name+"_count" {
				bad("%s: the histogram %s has a sample %s", s.name, name, s.name)
			}
		case "summary":
			if s.name != name && s.name != name+"_sum" && s.name != name+"_count" {
				bad("%s: the summary %s has a sample %s", s.name, name, s.name)
			}
		default:
			if s.name != name {
				bad("%s: the %s %s has a sample %s", s.name, f.typ, name, s.name)
			}
		}
	}
	switch f.typ {
	case "histogram":
		lintHistogram(f, bad)
	case "summary":
		lintSummary(f, bad)
	}
}

// lintHistogram checks each series of a histogram: buckets in rising order
// of le, counts that never fall, a +Inf bucket equal to the count, a sum.
func lintHistogram(f *family, bad func(string, ...any)) {
	type series struct {
		les           []float64
		counts        []float64
		count         float64
		hasCount, sum bool
	}
	all := map[string]*series{}
	get := func(s sample) *series {
		k := labelsKey(s.labels, "le")
		if all[k] == nil {
			all[k] = &series{}
		}
		return all[k]
	}
	for _, s := range f.samples {
		h := get(s)
		switch s.name {
		case f.name + "_bucket":
			le, err := strconv.ParseFloat(s.labels["le"], 64)
			if err != nil {
				bad("%s: le=%q is not a number", f.name, s.labels["le"])
				continue
			}
			h.les, h.counts = append(h.les, le), append(h.counts, s.value)
		case f.name + "_count":
			h.count, h.hasCount = s.value, true
		case f.name + "_sum":
			h.sum = true
		}
	}
	for k, h := range all {
		if !h.hasCount || !h.sum || len(h.les) == 0 || !math.IsInf(h.les[len(h.les)-1], 1) {
			bad("%s%s: a histogram needs buckets up to +Inf, a sum and a count", f.name, k)
			continue
		}
		for i := 1; i < len(h.les); i++ {
			if h.les[i] <= h.les[i-1] || h.counts[i] < h.counts[i-1] {
				bad("%s%s: buckets out of order or not cumulative at le=%v", f.name, k, h.les[i])
			}
		}
		if h.counts[len(h.counts)-1] != h.count {
			bad("%s%s: the +Inf bucket is %v, the count %v", f.name, k, h.counts[len(h.counts)-1], h.count)
		}
	}
}

// lintSummary checks that each series of a summary has quantiles from 0 to
// 1, a sum and a count.
func lintSummary(f *family, bad func(string, ...any)) {
	parts := map[string]map[string]bool{}
	for _, s := range f.samples {
		k := labelsKey(s.labels, "quantile")
		if parts[k] == nil {
			parts[k] = map[string]bool{}
		}
		parts[k][strings.TrimPrefix(s.name, f.name)] = true
		if s.name == f.name {
			if q, err := strconv.ParseFloat(s.labels["quantile"], 64); err != nil || q < 0 || q > 1 {
				bad("%s: quantile=%q is not a number from 0 to 1", f.name, s.labels["quantile"])
			}
		}
	}
	for k, p := range parts {
		if !p["_sum"] || !p["_count"] {
			bad("%s%s: a summary needs a sum and a count", f.name, k)
		}
	}
}

// seriesKey names a sample's series: its name and labels.
func seriesKey(s sample) string { return s.name + labelsKey(s.labels, "") }

// labelsKey is {a="1",b="2"} in the order of the names, without skip.
func labelsKey(labels map[string]string, skip string) string {
	names := make([]string, 0, len(labels))
	for k := range labels {
		if k != skip {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteByte('{')
	for i, k := range names {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%s=%q", k, labels[k])
	}
	b.WriteByte('}')
	return b.String()
}

// TestLintExposition: the linter the /metrics tests rely on finds each kind
// of mistake it claims to, and passes a well-formed exposition.
func TestLintExposition(t *testing.T) {
	const good = "# HELP a_requests_total Requests.\n# TYPE a_requests_total counter\n" +
		"a_requests_total{route=\"GET /\"} 3\n" +
		"# HELP a_latency_seconds Latency.\n# TYPE a_latency_seconds histogram\n" +
		"a_latency_seconds_bucket{le=\"0.1\"} 1\na_latency_seconds_bucket{le=\"+Inf\"} 2\n" +
		"a_latency_seconds_sum 0.3\na_latency_seconds_count 2\n" +
		"# HELP a_pause_seconds Pauses.\n# TYPE a_pause_seconds summary\n" +
		"a_pause_seconds{quantile=\"0\"} 0.1\na_pause_seconds{quantile=\"1\"} 0.2\na_pause_seconds_sum 0.3\na_pause_seconds_count 2\n" +
		"# HELP a_heap_bytes Heap.\n# TYPE a_heap_bytes gauge\na_heap_bytes 5\n"
	if _, problems := lintExposition(good); len(problems) > 0 {
		t.Fatalf("a well-formed exposition: %q", problems)
	}
	for _, tc := range []struct{ name, text, want string }{
		{"no HELP", "# TYPE a_total counter\na_total 1\n", "no HELP"},
		{"no TYPE", "# HELP a_total A.\na_total 1\n", "no TYPE"},
		{"no declaration", "a_total 1\n", "no HELP and TYPE"},
		{"untyped", "# HELP a A.\n# TYPE a untyped\na 1\n", "type \"untyped\""},
		{"counter without _total", "# HELP a_requests A.\n# TYPE a_requests counter\na_requests 1\n", "does not end in _total"},
		{"gauge with _total", "# HELP a_total A.\n# TYPE a_total gauge\na_total 1\n", "ends in _total but is a gauge"},
		{"milliseconds", "# HELP a_latency_milliseconds A.\n# TYPE a_latency_milliseconds gauge\na_latency_milliseconds 1\n", "measure in seconds"},
		{"ms", "# HELP a_duration_ms A.\n# TYPE a_duration_ms gauge\na_duration_ms 1\n", "measure in seconds"},
		{"no unit", "# HELP a_duration A.\n# TYPE a_duration gauge\na_duration 1\n", "without its unit"},
		{"kilobytes", "# HELP a_kilobytes A.\n# TYPE a_kilobytes gauge\na_kilobytes 1\n", "measure in bytes"},
		{"type in name", "# HELP a_gauge A.\n# TYPE a_gauge gauge\na_gauge 1\n", "names its type"},
		{"camelCase", "# HELP aHeap_bytes A.\n# TYPE aHeap_bytes gauge\naHeap_bytes 1\n", "snake_case"},
		{"colon", "# HELP a:b A.\n# TYPE a:b gauge\na:b 1\n", "snake_case"},
		{"camelCase label", "# HELP a A.\n# TYPE a gauge\na{userId=\"x\"} 1\n", "label userId"},
		{"reserved label", "# HELP a A.\n# TYPE a gauge\na{__x=\"x\"} 1\n", "label __x"},
		{"bad label name", "# HELP a A.\n# TYPE a gauge\na{1x=\"x\"} 1\n", "bad label"},
		{"duplicate series", "# HELP a A.\n# TYPE a gauge\na{x=\"1\"} 1\na{x=\"1\"} 2\n", "appears twice"},
		{"scattered family", "# HELP a A.\n# TYPE a gauge\na 1\n# HELP b B.\n# TYPE b gauge\nb 1\n# HELP a A.\n", "not together"},
		{"sample elsewhere", "# HELP a A.\n# TYPE a gauge\n# HELP b B.\n# TYPE b gauge\nb 1\na 1\n", "among the lines of b"},
		{"HELP after samples", "# TYPE a gauge\na 1\n# HELP a A.\n", "after its samples"},
		{"le on a gauge", "# HELP a A.\n# TYPE a gauge\na{le=\"1\"} 1\n", "le on a sample"},
		{"_count of a gauge", "# HELP a A.\n# TYPE a gauge\na_count 1\n", "has a sample a_count"},
		{"not cumulative", "# HELP a_seconds A.\n# TYPE a_seconds histogram\na_seconds_bucket{le=\"1\"} 2\na_seconds_bucket{le=\"2\"} 1\na_seconds_bucket{le=\"+Inf\"} 2\na_seconds_sum 1\na_seconds_count 2\n", "not cumulative"},
		{"no +Inf", "# HELP a_seconds A.\n# TYPE a_seconds histogram\na_seconds_bucket{le=\"1\"} 2\na_seconds_sum 1\na_seconds_count 2\n", "up to +Inf"},
		{"+Inf not the count", "# HELP a_seconds A.\n# TYPE a_seconds histogram\na_seconds_bucket{le=\"+Inf\"} 2\na_seconds_sum 1\na_seconds_count 3\n", "the count 3"},
		{"summary without sum", "# HELP a_seconds A.\n# TYPE a_seconds summary\na_seconds{quantile=\"0.5\"} 1\na_seconds_count 3\n", "a sum and a count"},
		{"quantile out of range", "# HELP a_seconds A.\n# TYPE a_seconds summary\na_seconds{quantile=\"2\"} 1\na_seconds_sum 1\na_seconds_count 3\n", "from 0 to 1"},
		{"unknown escape", "# HELP a A.\n# TYPE a gauge\na{x=\"\\t\"} 1\n", "escape"},
		{"negative counter", "# HELP a_total A.\n# TYPE a_total counter\na_total -1\n", "the value -1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, problems := lintExposition(tc.text)
			for _, p := range problems {
				if strings.Contains(p, tc.want) {
					return
				}
			}
			t.Errorf("problems %q, want one saying %q", problems, tc.want)
		})
	}
}
