// Command bench measures the real keybox server against a baseline: a
// minimal net/http server answering a fixed body as long as keybox's answer,
// on the same machine, driven by the same wrk script, in interleaved pairs.
//
//	go run ./bench -mode cold -keys 100000          # SQLite
//	go run ./bench -mode cold -db postgres://…      # PostgreSQL (a fresh schema is made and dropped)
//
// It builds and starts the keybox binary with rate limits off, creates and
// activates one license through the API, seeds more through the Store, and
// measures one mode:
//
//	hot       POST /validate of that one license (-keys other licenses in the database)
//	cold      POST /validate of a random one of -keys ACTIVE licenses, each with its machine
//	activate  POST /validate/activate: a new machine on a fresh PENDING license per request
//	rss       the server's RSS after validating each of -keys ACTIVE licenses once
//
// wrk draws each request's body from a file with keys.lua; the baseline is
// driven by the same script and file. The load modes run -pairs pairs, each
// the baseline then keybox back to back, and print each pair's ratio, the
// median ratio, p50 and p99 of both sides and the server's peak RSS. -out
// writes the raw results under DIR/<date>-<engine>-<mode>/.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// Modes.
const (
	modeHot      = "hot"
	modeCold     = "cold"
	modeActivate = "activate"
	modeRSS      = "rss"
)

type options struct {
	mode         string
	db           string
	keys         int
	conns        int
	threads      int
	pairs        int
	duration     time.Duration
	warmup       time.Duration
	out          string
	note         string
	profile      string
	serverEnv    string
	baselineAddr string
	baselineBody string
}

func parseFlags(args []string) (options, error) {
	var o options
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.StringVar(&o.mode, "mode", modeCold, "hot, cold, activate or rss")
	fs.StringVar(&o.db, "db", "sqlite", "sqlite, or a postgres:// URL of a server where a schema may be created")
	fs.IntVar(&o.keys, "keys", 100_000, "licenses seeded: ACTIVE ones (hot, cold, rss), or PENDING ones per keybox run (activate)")
	fs.IntVar(&o.conns, "c", 0, "connections (default 64; 16 for activate and rss)")
	fs.IntVar(&o.threads, "t", 2, "wrk threads")
	fs.IntVar(&o.pairs, "pairs", 3, "baseline/keybox pairs, measured back to back")
	fs.DurationVar(&o.duration, "d", 10*time.Second, "duration of each load run")
	fs.DurationVar(&o.warmup, "warmup", 2*time.Second, "unrecorded load on both servers before the pairs (not in activate mode)")
	fs.StringVar(&o.out, "out", "", "write the raw results under this directory, e.g. bench/results")
	fs.StringVar(&o.note, "note", "", "a remark recorded with the results")
	fs.StringVar(&o.profile, "cpuprofile", "", "write the server's CPU profile during the last run to this file")
	fs.StringVar(&o.serverEnv, "server-env", "", "extra environment for the keybox server, e.g. GOGC=200 (comma-separated)")
	fs.StringVar(&o.baselineAddr, "baseline-server", "", "internal: serve the baseline on this address")
	fs.StringVar(&o.baselineBody, "baseline-body", "", "internal: the file the baseline answers")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if o.baselineAddr != "" {
		return o, nil
	}
	switch o.mode {
	case modeHot, modeCold, modeActivate, modeRSS:
	default:
		return o, fmt.Errorf("-mode: %q is not hot, cold, activate or rss", o.mode)
	}
	if o.conns == 0 {
		o.conns = 64
		if o.mode == modeActivate || o.mode == modeRSS {
			o.conns = 16
		}
	}
	switch {
	case o.keys < 0 || o.keys == 0 && o.mode != modeHot:
		return o, fmt.Errorf("-keys: %d licenses are too few for the %s mode", o.keys, o.mode)
	case o.conns < 1 || o.threads < 1 || o.pairs < 1:
		return o, errors.New("-c, -t and -pairs must be at least 1")
	case o.duration < time.Second:
		return o, errors.New("-d: runs of less than a second measure nothing")
	}
	return o, nil
}

func run() error {
	o, err := parseFlags(os.Args[1:])
	if err != nil {
		return err
	}
	if o.baselineAddr != "" {
		return serveBaseline(o.baselineAddr, o.baselineBody)
	}
	if _, err := exec.LookPath("wrk"); err != nil && o.mode != modeRSS {
		return errors.New("wrk not found: apt-get install wrk")
	}
	ctx := context.Background()
	rec := record{mode: o.mode, engine: "sqlite", keys: o.keys, conns: o.conns, threads: o.threads, pairs: o.pairs,
		duration: o.duration, warmup: o.warmup, note: o.note, started: time.Now(), command: commandLine(os.Args[1:])}
	if isPostgres(o.db) {
		rec.engine = "postgres"
		if rec.engineVersion, err = postgresVersion(ctx, o.db); err != nil {
			return fmt.Errorf("postgres: %w", err)
		}
	}
	if o.mode == modeActivate {
		rec.warmup = 0
	}
	rec.machine = describeMachine(ctx)

	work, err := os.MkdirTemp("", "keybox-bench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	fmt.Fprintln(os.Stderr, "building keybox…")
	bin, err := buildKeybox(ctx, work)
	if err != nil {
		return err
	}
	db, cleanup, err := prepareDatabase(ctx, o.db, work)
	if err != nil {
		return err
	}
	defer cleanup()
	srv, err := startServer(bin, db, work, splitEnv(o.serverEnv))
	if err != nil {
		return err
	}
	defer srv.stop()
	made, err := setup(srv.url)
	if err != nil {
		return err
	}
	files, err := seedFor(ctx, o, db, work, made, &rec)
	if err != nil {
		return err
	}
	out, err := newResults(o.out, rec)
	if err != nil {
		return err
	}
	if o.mode == modeRSS {
		return measureRSS(ctx, o, rec, srv, files[0], out)
	}
	return measurePairs(ctx, o, rec, srv, work, made, files, out)
}

// seedFor seeds what the mode needs and returns the keys files: one for
// the load modes, one per pair for activate.
func seedFor(ctx context.Context, o options, db, work string, made setupResult, rec *record) ([]string, error) {
	s, err := openSeeder(ctx, db)
	if err != nil {
		return nil, err
	}
	defer s.store.Close()
	tmpl, err := s.store.License(ctx, made.key)
	if err != nil {
		return nil, err
	}
	activated, files, perFile := true, []string{filepath.Join(work, "keys.txt")}, o.keys
	if o.mode == modeActivate {
		activated, files = false, nil
		for i := range o.pairs {
			files = append(files, filepath.Join(work, fmt.Sprintf("keys-%d.txt", i+1)))
		}
	}
	kind := "ACTIVE licenses, each with a seat on its own machine"
	if !activated {
		kind = fmt.Sprintf("PENDING licenses (%d for each keybox run)", o.keys)
	}
	started := time.Now()
	fmt.Fprintf(os.Stderr, "seeding %d %s…\n", perFile*len(files), kind)
	for _, name := range files {
		f, err := os.Create(name)
		if err != nil {
			return nil, err
		}
		err = s.seed(ctx, tmpl, perFile, activated, f)
		if err := errors.Join(err, f.Close()); err != nil {
			return nil, err
		}
	}
	took := time.Since(started)
	if rec.engine == "postgres" {
		// Fresh statistics, so that autovacuum's ANALYZE does not run during a measurement.
		if err := execPostgres(ctx, db, "ANALYZE licenses, activations"); err != nil {
			return nil, err
		}
	}
	rec.seeded = "only the license made through the API"
	if n := perFile * len(files); n > 0 {
		rec.seeded = fmt.Sprintf("%d %s through the Store in %v (%.0f/s), besides the one made through the API",
			n, kind, took.Round(10*time.Millisecond), float64(n)/took.Seconds())
	}
	fmt.Fprintln(os.Stderr, "seeded:", rec.seeded)
	if o.mode == modeHot {
		// Every request is the license made through the API.
		hot := filepath.Join(work, "hot.txt")
		line := fmt.Sprintf("{\"key\":%q,\"machineId\":%q}\n", made.key, made.machine)
		return []string{hot}, os.WriteFile(hot, []byte(line), 0o600)
	}
	return files, nil
}

// measureRSS validates every seeded key once and reads the server's memory.
func measureRSS(ctx context.Context, o options, rec record, srv *server, keys string, out *results) error {
	before, err := srv.memory()
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "validating %d keys once each…\n", o.keys)
	started := time.Now()
	n, err := validateEach(ctx, srv.url, keys, o.conns, 0)
	if err != nil {
		return err
	}
	if n != o.keys {
		return fmt.Errorf("validated %d keys, want %d", n, o.keys)
	}
	took := time.Since(started)
	after, err := srv.memory()
	if err != nil {
		return err
	}
	var b strings.Builder
	rssSummary(&b, rec, before, after, took)
	fmt.Print("\n" + b.String())
	return out.write("summary.md", []byte(b.String()))
}

// measurePairs runs the baseline and keybox in pairs, back to back.
func measurePairs(ctx context.Context, o options, rec record, srv *server, work string, made setupResult, files []string, out *results) error {
	path, order, body := "/validate", orderRandom, made.validated
	if o.mode == modeActivate {
		path, order, body = "/validate/activate", orderSequential, made.activated
	} else {
		// Every key validates before it is measured (and the load is not 200s of refusals).
		if _, err := validateEach(ctx, srv.url, files[0], 4, 100); err != nil {
			return fmt.Errorf("the seeded licenses do not validate: %w", err)
		}
	}
	base, stopBase, err := startBaseline(work, body)
	if err != nil {
		return err
	}
	defer stopBase()
	if err := os.WriteFile(filepath.Join(work, "keys.lua"), keysScript, 0o600); err != nil {
		return err
	}
	spec := func(url string, pair int) loadSpec {
		return loadSpec{url: url + path, dir: work, script: "keys.lua", keys: filepath.Base(files[min(pair, len(files)-1)]),
			order: order, conns: o.conns, threads: o.threads, duration: o.duration, seed: time.Now().UnixNano() % 1e9}
	}
	if rec.warmup > 0 {
		fmt.Fprintf(os.Stderr, "warming up both servers for %v each…\n", rec.warmup)
		for _, u := range []string{base, srv.url} {
			s := spec(u, 0)
			s.duration = rec.warmup
			if _, err := runWrk(ctx, s); err != nil {
				return err
			}
		}
	}
	var pairs []pair
	for i := range o.pairs {
		var p pair
		if p.baseline, err = runWrk(ctx, spec(base, i)); err != nil {
			return err
		}
		var prof chan error
		if i == o.pairs-1 && o.profile != "" {
			prof = srv.profile(o.profile, o.duration)
		}
		if p.keybox, err = runWrk(ctx, spec(srv.url, i)); err != nil {
			return err
		}
		if prof != nil {
			if err := <-prof; err != nil {
				return err
			}
		}
		fmt.Fprintf(os.Stderr, "pair %d: baseline %.0f req/s (p99 %s), keybox %.0f req/s (p99 %s): %.1f%%\n",
			i+1, p.baseline.rps, ms(p.baseline.p99), p.keybox.rps, ms(p.keybox.p99), 100*p.ratio())
		pairs = append(pairs, p)
		if err := errors.Join(out.writeRun(fmt.Sprintf("pair%d-baseline.txt", i+1), p.baseline),
			out.writeRun(fmt.Sprintf("pair%d-keybox.txt", i+1), p.keybox)); err != nil {
			return err
		}
	}
	mem, err := srv.memory()
	if err != nil {
		return err
	}
	var b strings.Builder
	summary(&b, rec, pairs, mem)
	fmt.Print("\n" + b.String())
	if err := out.write("summary.md", []byte(b.String())); err != nil {
		return err
	}
	for i, p := range pairs {
		if p.keybox.errors() == 0 {
			continue
		}
		if o.mode == modeActivate && p.keybox.requests >= int64(o.keys) {
			return fmt.Errorf("pair %d: keybox used up its %d fresh keys: raise -keys", i+1, o.keys)
		}
		return fmt.Errorf("pair %d: keybox answered %d requests with an error (see its log)\n%s", i+1, p.keybox.errors(), srv.logTail())
	}
	return nil
}
