package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
)

// pair is the baseline and keybox measured back to back.
type pair struct{ baseline, keybox wrkRun }

func (p pair) ratio() float64    { return p.keybox.rps / p.baseline.rps }
func (p pair) p99Ratio() float64 { return float64(p.keybox.p99) / float64(p.baseline.p99) }

// median of xs (the mean of the middle two for an even count).
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// record describes a run: what was measured, how, where and on which code.
type record struct {
	mode, engine, engineVersion string
	keys, conns, threads, pairs int
	duration, warmup            time.Duration
	note                        string
	started                     time.Time
	command                     string
	machine                     []string // "name: value" lines
	seeded                      string   // what seeding did, and how long it took
}

// commandLine is the command that ran, with any password in -db hidden.
func commandLine(args []string) string {
	out := []string{"go run ./bench"}
	for _, a := range args {
		flagName, value, ok := strings.Cut(a, "=")
		if !ok || !strings.HasPrefix(flagName, "-") {
			flagName, value = "", a
		} else {
			flagName += "="
		}
		if u, err := url.Parse(value); err == nil && u.User != nil {
			a = flagName + u.Redacted()
		}
		if strings.ContainsAny(a, " '\"$&;|<>()*?") {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		out = append(out, a)
	}
	return strings.Join(out, " ")
}

// describeMachine returns the facts that make runs comparable: processors,
// CPU, kernel, memory, load, Go, wrk and the code's git revision.
func describeMachine(ctx context.Context) []string {
	first := func(out []byte, err error) string {
		if err != nil {
			return "unknown"
		}
		line, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
		return line
	}
	procField := func(path, field string) string {
		f, err := os.Open(path)
		if err != nil {
			return "unknown"
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if name, value, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(name) == field {
				return strings.TrimSpace(value)
			}
		}
		return "unknown"
	}
	readFile := func(path string) string {
		b, err := os.ReadFile(path)
		if err != nil {
			return "unknown"
		}
		return strings.TrimSpace(string(b))
	}
	rev := first(exec.CommandContext(ctx, "git", "rev-parse", "HEAD").Output())
	if out, err := exec.CommandContext(ctx, "git", "status", "--porcelain", "--untracked-files=no").Output(); err == nil && len(out) > 0 {
		rev += " (with uncommitted changes)"
	}
	return []string{
		"nproc: " + strconv.Itoa(runtime.NumCPU()),
		"cpu: " + procField("/proc/cpuinfo", "model name"),
		"memory: " + procField("/proc/meminfo", "MemTotal"),
		"kernel: " + readFile("/proc/sys/kernel/ostype") + " " + readFile("/proc/sys/kernel/osrelease"),
		"load average at the start: " + loadAverage(),
		"go: " + first(exec.CommandContext(ctx, "go", "version").Output()),
		"wrk: " + wrkVersion(ctx),
		"git revision: " + rev,
	}
}

// wrkVersion is the first line wrk -v prints (it exits with status 1).
func wrkVersion(ctx context.Context) string {
	out, _ := exec.CommandContext(ctx, "wrk", "-v").CombinedOutput()
	line, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	if !strings.HasPrefix(line, "wrk ") {
		return "unknown"
	}
	return line
}

func (r record) header(w io.Writer) {
	fmt.Fprintf(w, "# keybox bench: %s mode, %s\n\n", r.mode, r.engine)
	if r.note != "" {
		fmt.Fprintf(w, "**%s**\n\n", r.note)
	}
	fmt.Fprintf(w, "- command: `%s`\n", r.command)
	fmt.Fprintf(w, "- date: %s\n", r.started.UTC().Format(time.RFC3339))
	engine := r.engine
	if r.engineVersion != "" {
		engine += " " + r.engineVersion
	}
	fmt.Fprintf(w, "- engine: %s\n", engine)
	if r.mode == modeRSS {
		fmt.Fprintf(w, "- %d distinct keys, %d connections (Go client)\n", r.keys, r.conns)
	} else {
		pairs := "pairs"
		if r.pairs == 1 {
			pairs = "pair"
		}
		fmt.Fprintf(w, "- %d connections, %d wrk threads, %v per run, %d %s, %v warm-up\n",
			r.conns, r.threads, r.duration, r.pairs, pairs, r.warmup)
		fmt.Fprintf(w, "- wrk script: %s, git blob %s\n", keysScriptPath, gitBlobID(keysScript))
	}
	fmt.Fprintf(w, "- seeded: %s\n", r.seeded)
	for _, m := range r.machine {
		fmt.Fprintf(w, "- %s\n", m)
	}
	fmt.Fprintln(w)
}

// summary writes the pairs, their median ratios and the server's memory.
func summary(w io.Writer, r record, pairs []pair, mem memory) {
	r.header(w)
	unit := "req/s"
	if r.mode == modeActivate {
		unit = "activations/s"
	}
	fmt.Fprintf(w, "| pair | baseline req/s | keybox %s | ratio | baseline p50 / p99 | keybox p50 / p99 | p99 ratio | errors (baseline / keybox) |\n", unit)
	fmt.Fprintln(w, "|---:|---:|---:|---:|---:|---:|---:|---:|")
	var ratios, p99s []float64
	for i, p := range pairs {
		ratios, p99s = append(ratios, p.ratio()), append(p99s, p.p99Ratio())
		fmt.Fprintf(w, "| %d | %.0f | %.0f | %.1f%% | %s / %s | %s / %s | %.2f× | %d / %d |\n", i+1, p.baseline.rps, p.keybox.rps,
			100*p.ratio(), ms(p.baseline.p50), ms(p.baseline.p99), ms(p.keybox.p50), ms(p.keybox.p99), p.p99Ratio(),
			p.baseline.errors(), p.keybox.errors())
	}
	fmt.Fprintf(w, "\nmedian ratio to the baseline: %.1f%%; median p99 ratio: %.2f×\n", 100*median(ratios), median(p99s))
	fmt.Fprintf(w, "keybox RSS: peak (VmHWM) %s, at the end (VmRSS) %s\n", mb(mem.peak), mb(mem.rss))
	fmt.Fprintf(w, "load average at the end: %s\n", loadAverage())
}

// rssSummary writes the RSS mode's result.
func rssSummary(w io.Writer, r record, before, after memory, took time.Duration) {
	r.header(w)
	fmt.Fprintf(w, "| keybox RSS | VmRSS | VmHWM (peak) |\n|---|---:|---:|\n")
	fmt.Fprintf(w, "| before validating | %s | %s |\n", mb(before.rss), mb(before.peak))
	fmt.Fprintf(w, "| after validating %d distinct keys | %s | %s |\n", r.keys, mb(after.rss), mb(after.peak))
	fmt.Fprintf(w, "\n%d validations, each of a different key, all valid, in %v (%.0f/s)\n",
		r.keys, took.Round(10*time.Millisecond), float64(r.keys)/took.Seconds())
	fmt.Fprintf(w, "load average at the end: %s\n", loadAverage())
}

// loadAverage is /proc/loadavg: on a shared host, how busy the others were.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(b))
}

func ms(d time.Duration) string { return strconv.FormatFloat(float64(d)/1e6, 'f', 2, 64) + " ms" }
func mb(b int64) string         { return strconv.FormatFloat(float64(b)/(1<<20), 'f', 1, 64) + " MB" }

// results writes a run's files under dir/<date>-<engine>-<mode>/.
type results struct{ dir string }

func newResults(parent string, r record) (*results, error) {
	if parent == "" {
		return nil, nil
	}
	dir := filepath.Join(parent, fmt.Sprintf("%s-%s-%s", r.started.UTC().Format("2006-01-02T150405Z"), r.engine, r.mode))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	return &results{dir: dir}, nil
}

// write saves one file; a nil results writes nothing.
func (rs *results) write(name string, data []byte) error {
	if rs == nil {
		return nil
	}
	return os.WriteFile(filepath.Join(rs.dir, name), data, 0o644)
}

// writeRun saves a wrk run's command line and raw output.
func (rs *results) writeRun(name string, run wrkRun) error {
	return rs.write(name, []byte("$ "+run.command+"\n"+string(run.output)))
}
