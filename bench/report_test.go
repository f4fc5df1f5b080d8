package main

import (
	"os/exec"
	"strings"
	"testing"
	"time"
)

// The command line recorded with the results never carries a password.
func TestCommandLine(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-mode", "cold", "-keys", "1000"}, "go run ./bench -mode cold -keys 1000"},
		{[]string{"-db", "postgres://bench:hunter2@db:5432/x?sslmode=disable"}, "go run ./bench -db 'postgres://bench:xxxxx@db:5432/x?sslmode=disable'"},
		{[]string{"-db=postgres://bench:hunter2@db/x"}, "go run ./bench -db=postgres://bench:xxxxx@db/x"},
		{[]string{"-note", "format sample"}, "go run ./bench -note 'format sample'"},
	} {
		if got := commandLine(tc.args); got != tc.want {
			t.Errorf("commandLine(%q) = %s, want %s", tc.args, got, tc.want)
		}
	}
}

func TestMedian(t *testing.T) {
	for _, tc := range []struct {
		xs   []float64
		want float64
	}{{nil, 0}, {[]float64{3}, 3}, {[]float64{0.9, 0.2, 0.5}, 0.5}, {[]float64{4, 1, 3, 2}, 2.5}} {
		if got := median(tc.xs); got != tc.want {
			t.Errorf("median(%v) = %v, want %v", tc.xs, got, tc.want)
		}
	}
}

// A results directory names its wrk script by the id git gives its content.
func TestGitBlobID(t *testing.T) {
	for _, tc := range []struct{ content, want string }{
		{"", "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"},
		{"hello\n", "ce013625030ba8dba906f756967f9e9ca394464a"},
	} {
		if got := gitBlobID([]byte(tc.content)); got != tc.want {
			t.Errorf("gitBlobID(%q) = %s, want %s", tc.content, got, tc.want)
		}
	}
	if out, err := exec.Command("git", "hash-object", "keys.lua").Output(); err == nil {
		if got, want := gitBlobID(keysScript), strings.TrimSpace(string(out)); got != want {
			t.Errorf("keys.lua: got %s, git hash-object says %s", got, want)
		}
	}
}

// A load mode's summary names the script; the rss mode, which runs no wrk, does not.
func TestSummaryNamesTheScript(t *testing.T) {
	line := "- wrk script: bench/keys.lua, git blob " + gitBlobID(keysScript) + "\n"
	var load, rss strings.Builder
	summary(&load, record{mode: modeHot, engine: "sqlite", pairs: 1}, nil, memory{})
	rssSummary(&rss, record{mode: modeRSS, engine: "sqlite"}, memory{}, memory{}, time.Second)
	if !strings.Contains(load.String(), line) {
		t.Errorf("hot mode's summary lacks %q:\n%s", line, load.String())
	}
	if strings.Contains(rss.String(), "wrk script") {
		t.Errorf("rss mode's summary names a wrk script:\n%s", rss.String())
	}
}
