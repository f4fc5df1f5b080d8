package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// recorder is a server that keeps the bodies each connection sent, in order.
type recorder struct {
	mu     sync.Mutex
	byConn map[string][]string
	types  map[string]bool
}

func (rec *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	rec.mu.Lock()
	rec.byConn[r.RemoteAddr] = append(rec.byConn[r.RemoteAddr], string(b))
	rec.types[r.Method+" "+r.URL.Path+" "+r.Header.Get("Content-Type")] = true
	rec.mu.Unlock()
	_, _ = w.Write([]byte(`{"ok":true}`))
}

// driveRecorder runs keys.lua through wrk at two threads with one
// connection each against a recorder, with lines as its file.
func driveRecorder(t *testing.T, order string, lines []string) (*recorder, wrkRun) {
	t.Helper()
	if _, err := exec.LookPath("wrk"); err != nil {
		t.Skip("wrk is not installed (apt-get install wrk)")
	}
	dir := t.TempDir()
	script, keys := "keys.lua", "keys.txt"
	if err := os.WriteFile(filepath.Join(dir, script), keysScript, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, keys), []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	rec := &recorder{byConn: map[string][]string{}, types: map[string]bool{}}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	run, err := runWrk(context.Background(), loadSpec{url: srv.URL + "/validate", dir: dir, script: script, keys: keys, order: order,
		conns: 2, threads: 2, duration: time.Second, seed: 42})
	if err != nil {
		t.Fatal(err)
	}
	srv.Close() // every handler has returned
	if len(rec.byConn) != 2 {
		t.Fatalf("got %d connections, want 2", len(rec.byConn))
	}
	if len(rec.types) != 1 || !rec.types["POST /validate application/json"] {
		t.Errorf("got requests %v, want only POST /validate with a JSON body", rec.types)
	}
	total := 0
	for _, bodies := range rec.byConn {
		total += len(bodies)
	}
	if run.requests <= 0 || run.requests > int64(total) {
		t.Errorf("wrk reported %d requests, the server answered %d", run.requests, total)
	}
	return rec, run
}

func keyLines(n int) []string {
	lines := make([]string, n)
	for i := range lines {
		lines[i] = fmt.Sprintf(`{"key":"KEY-%d","machineId":"machine-%d"}`, i, i)
	}
	return lines
}

// Each request draws a line of the file at random, and the two threads draw
// different sequences.
func TestKeysScriptRandom(t *testing.T) {
	lines := keyLines(5000)
	inFile := map[string]bool{}
	for _, l := range lines {
		inFile[l] = true
	}
	rec, _ := driveRecorder(t, orderRandom, lines)
	var seqs [][]string
	for conn, bodies := range rec.byConn {
		distinct := map[string]bool{}
		for _, b := range bodies {
			if !inFile[b] {
				t.Fatalf("connection %s sent %q, which is not a line of the file", conn, b)
			}
			distinct[b] = true
		}
		// k draws at random from n lines find n(1-(1-1/n)^k) distinct
		// lines on average, give or take a few dozen here; drawn in order,
		// they would find min(k, n).
		n, k := float64(len(lines)), float64(len(bodies))
		want := n * (1 - math.Pow(1-1/n, k))
		if k < 200 || float64(len(distinct)) < 0.9*want || float64(len(distinct)) > 1.1*want {
			t.Errorf("connection %s sent %.0f requests of %d distinct lines; at random, want about %.0f", conn, k, len(distinct), want)
		}
		seqs = append(seqs, bodies)
	}
	same := 0
	for i := range min(100, len(seqs[0]), len(seqs[1])) {
		if seqs[0][i] == seqs[1][i] {
			same++
		}
	}
	if same > 5 {
		t.Errorf("the two threads sent the same line at %d of their first 100 requests: their sequences are not their own", same)
	}
}

// Every line is sent once at most, then only the unknown key.
func TestKeysScriptSequential(t *testing.T) {
	lines := keyLines(300)
	rec, run := driveRecorder(t, orderSequential, lines)
	seen := map[string]int{}
	extra := 0
	for _, bodies := range rec.byConn {
		for i, b := range bodies {
			if strings.Contains(b, "BENCH-POOL-EXHAUSTED") {
				extra++
				continue
			}
			if extra > 0 && i > 0 && strings.Contains(bodies[i-1], "BENCH-POOL-EXHAUSTED") {
				t.Fatalf("a line came after the pool was exhausted: %q", b)
			}
			seen[b]++
		}
	}
	// wrk calls the first thread's request() once before the run, to
	// inspect it: that line is drawn but never sent.
	for _, l := range lines {
		if seen[l] > 1 {
			t.Errorf("line %q sent %d times, want once", l, seen[l])
		}
	}
	if len(seen) < len(lines)-1 {
		t.Errorf("sent %d distinct lines, want the file's %d (but one)", len(seen), len(lines))
	}
	if extra == 0 || run.requests < int64(len(lines)) {
		t.Errorf("got %d requests with %d past the end; want the pool exhausted within the run", run.requests, extra)
	}
}
