package main

import (
	"context"
	"crypto/sha1"
	_ "embed"
	"encoding/hex"
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// keysScript is the wrk script that draws each request's body from a file.
//
//go:embed keys.lua
var keysScript []byte

// keysScriptPath is where keys.lua lives in the repository, as a results
// directory names it.
const keysScriptPath = "bench/keys.lua"

// gitBlobID is the id git gives a file with this content (what
// `git hash-object` prints), so that a results directory can name the exact
// script it was driven with, and `git cat-file -p ID` can show it, without
// keeping a copy.
func gitBlobID(content []byte) string {
	h := sha1.New()
	fmt.Fprintf(h, "blob %d\x00", len(content))
	h.Write(content)
	return hex.EncodeToString(h.Sum(nil))
}

// Orders in which keys.lua sends the lines of its file.
const (
	orderRandom     = "random"     // a line drawn at random per request
	orderSequential = "sequential" // every line once, then an unknown key
)

// loadSpec is one wrk run.
type loadSpec struct {
	url      string // with the path, e.g. http://127.0.0.1:8080/validate
	dir      string // where wrk runs, so that the files' names below are short
	script   string // keys.lua on disk
	keys     string // the file of JSON bodies, one a line
	order    string
	conns    int
	threads  int
	duration time.Duration
	seed     int64
}

// wrkRun is what one wrk run measured, and its raw output.
type wrkRun struct {
	command  string
	output   []byte
	requests int64
	rps      float64
	p50, p99 time.Duration
	non2xx   int64
	sockErrs int64
}

func (r wrkRun) errors() int64 { return r.non2xx + r.sockErrs }

// args returns wrk's command line for s.
func (s loadSpec) args() []string {
	threads := max(1, min(s.threads, s.conns))
	return []string{"-t" + strconv.Itoa(threads), "-c" + strconv.Itoa(s.conns), "-d" + strconv.Itoa(int(s.duration.Seconds())) + "s",
		"--latency", "-s", s.script, s.url, "--", s.keys, s.order, strconv.FormatInt(s.seed, 10), strconv.Itoa(threads)}
}

// runWrk runs wrk and parses what it printed.
func runWrk(ctx context.Context, s loadSpec) (wrkRun, error) {
	args := s.args()
	cmd := exec.CommandContext(ctx, "wrk", args...)
	cmd.Dir = s.dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		return wrkRun{}, fmt.Errorf("wrk: %v\n%s", err, out)
	}
	r, err := parseWrk(out)
	if err != nil {
		return wrkRun{}, err
	}
	r.command = "wrk " + strings.Join(args, " ")
	return r, nil
}

var (
	reRequests = regexp.MustCompile(`(\d+) requests in `)
	reRPS      = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)
	reLatency  = regexp.MustCompile(`(?m)^\s+(50|99)%\s+([0-9.]+)(us|ms|s|m)\s*$`)
	reNon2xx   = regexp.MustCompile(`Non-2xx or 3xx responses: (\d+)`)
	reSocket   = regexp.MustCompile(`Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)`)
)

// parseWrk reads wrk's --latency report.
func parseWrk(out []byte) (wrkRun, error) {
	r := wrkRun{output: out}
	m := reRPS.FindSubmatch(out)
	if m == nil {
		return r, fmt.Errorf("wrk printed no Requests/sec:\n%s", out)
	}
	r.rps, _ = strconv.ParseFloat(string(m[1]), 64)
	if m := reRequests.FindSubmatch(out); m != nil {
		r.requests, _ = strconv.ParseInt(string(m[1]), 10, 64)
	}
	units := map[string]time.Duration{"us": time.Microsecond, "ms": time.Millisecond, "s": time.Second, "m": time.Minute}
	for _, m := range reLatency.FindAllSubmatch(out, -1) {
		v, _ := strconv.ParseFloat(string(m[2]), 64)
		lat := time.Duration(v * float64(units[string(m[3])]))
		if string(m[1]) == "50" {
			r.p50 = lat
		} else {
			r.p99 = lat
		}
	}
	if r.p50 == 0 || r.p99 == 0 {
		return r, fmt.Errorf("wrk printed no 50%%/99%% latency:\n%s", out)
	}
	if m := reNon2xx.FindSubmatch(out); m != nil {
		r.non2xx, _ = strconv.ParseInt(string(m[1]), 10, 64)
	}
	if m := reSocket.FindSubmatch(out); m != nil {
		for _, g := range m[1:] {
			n, _ := strconv.ParseInt(string(g), 10, 64)
			r.sockErrs += n
		}
	}
	return r, nil
}
