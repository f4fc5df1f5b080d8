// Command bench measures POST /validate of the real keybox server against a
// baseline: a minimal net/http server answering a fixed JSON body of the
// same size, on the same machine, in the same run.
//
//	go run ./bench                          # SQLite
//	go run ./bench -db postgres://…         # PostgreSQL (a fresh schema is made and dropped)
//
// It builds and starts the keybox binary with rate limits off, creates one
// active license through the API, and drives POST /validate with wrk (from
// Debian's packages) at each concurrency, first with 1 license in the
// database, then with 1,000,000. It prints requests/s, p50 and p99 for each
// run, the ratio to the baseline, and the server's peak RSS.
package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

type options struct {
	db          string
	duration    time.Duration
	concurrency []int
	licenses    int
	profile     string
	baseline    string
	serverEnv   string
}

func run() error {
	var o options
	var conc string
	flag.StringVar(&o.db, "db", "sqlite", "sqlite, or a postgres:// URL of a server where a schema may be created")
	flag.DurationVar(&o.duration, "d", 10*time.Second, "duration of each load run")
	flag.StringVar(&conc, "c", "16,64", "concurrencies (open connections)")
	flag.IntVar(&o.licenses, "licenses", 1_000_000, "licenses in the database for the large run")
	flag.StringVar(&o.profile, "cpuprofile", "", "write the server's CPU profile during the last run to this file")
	flag.StringVar(&o.baseline, "baseline-server", "", "internal: serve the baseline on this address")
	flag.StringVar(&o.serverEnv, "server-env", "", "extra environment for the keybox server, e.g. GOGC=200 (comma-separated)")
	flag.Parse()
	if o.baseline != "" {
		return serveBaseline(o.baseline)
	}
	for _, c := range strings.Split(conc, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(c))
		if err != nil || n < 1 {
			return fmt.Errorf("-c: %q is not a concurrency", c)
		}
		o.concurrency = append(o.concurrency, n)
	}
	if _, err := exec.LookPath("wrk"); err != nil {
		return errors.New("wrk not found: apt-get install wrk")
	}
	ctx := context.Background()
	work, err := os.MkdirTemp("", "keybox-bench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)

	bin := filepath.Join(work, "keybox")
	fmt.Fprintln(os.Stderr, "building keybox…")
	build := exec.Command("go", "build", "-o", bin, "./cmd/keybox")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("go build: %v\n%s", err, out)
	}

	db, cleanup, err := prepareDatabase(ctx, o.db, work)
	if err != nil {
		return err
	}
	defer cleanup()

	// The baseline first: a fixed answer as long as a valid /validate answer.
	base, stopBase, err := startBaseline()
	if err != nil {
		return err
	}
	var results []result
	for _, c := range o.concurrency {
		r, err := load(base+"/validate", `{"key":"x"}`, c, o.duration)
		if err != nil {
			stopBase()
			return err
		}
		r.target, r.licenses = "baseline net/http", 0
		results = append(results, r)
	}
	stopBase()

	srv, err := startServer(bin, db, work, splitEnv(o.serverEnv))
	if err != nil {
		return err
	}
	defer srv.stop()
	key, err := setup(srv.url)
	if err != nil {
		return err
	}
	body := fmt.Sprintf(`{"key":%q,"machineId":"bench-machine"}`, key)
	runKeybox := func(licenses int, profileLast bool) error {
		for i, c := range o.concurrency {
			var prof chan error
			if profileLast && i == len(o.concurrency)-1 && o.profile != "" {
				prof = srv.profile(o.profile, o.duration)
			}
			r, err := load(srv.url+"/validate", body, c, o.duration)
			if err != nil {
				return err
			}
			if prof != nil {
				if err := <-prof; err != nil {
					return err
				}
			}
			r.target, r.licenses = "keybox /validate", licenses
			results = append(results, r)
		}
		return nil
	}
	if err := runKeybox(1, false); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "seeding %d licenses…\n", o.licenses-1)
	started := time.Now()
	if err := seed(ctx, db, key, o.licenses-1); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "seeded in %v\n", time.Since(started).Round(time.Second))
	if err := runKeybox(o.licenses, true); err != nil {
		return err
	}
	rss, err := srv.peakRSS()
	if err != nil {
		return err
	}
	report(os.Stdout, o, results, rss)
	return nil
}

// result is one load run.
type result struct {
	target      string
	licenses    int
	concurrency int
	rps         float64
	p50, p99    time.Duration
	errors      int
}

var (
	reRPS     = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)
	reLatency = regexp.MustCompile(`(?m)^\s+(50|99)%\s+([0-9.]+)(us|ms|s)\s*$`)
	reErrors  = regexp.MustCompile(`Non-2xx or 3xx responses: (\d+)|Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)`)
)

// load drives POST url with body at c connections for d, with wrk.
func load(target, body string, c int, d time.Duration) (result, error) {
	script, err := os.CreateTemp("", "keybox-bench-*.lua")
	if err != nil {
		return result{}, err
	}
	defer os.Remove(script.Name())
	fmt.Fprintf(script, "wrk.method = \"POST\"\nwrk.body = %s\nwrk.headers[\"Content-Type\"] = \"application/json\"\n", luaString(body))
	script.Close()
	threads := min(2, c)
	cmd := exec.Command("wrk", "-t"+strconv.Itoa(threads), "-c"+strconv.Itoa(c), "-d"+d.String(), "--latency", "-s", script.Name(), target)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return result{}, fmt.Errorf("wrk: %v\n%s", err, out)
	}
	r := result{concurrency: c}
	m := reRPS.FindSubmatch(out)
	if m == nil {
		return result{}, fmt.Errorf("wrk printed no Requests/sec:\n%s", out)
	}
	r.rps, _ = strconv.ParseFloat(string(m[1]), 64)
	for _, m := range reLatency.FindAllSubmatch(out, -1) {
		v, _ := strconv.ParseFloat(string(m[2]), 64)
		unit := map[string]time.Duration{"us": time.Microsecond, "ms": time.Millisecond, "s": time.Second}[string(m[3])]
		lat := time.Duration(v * float64(unit))
		if string(m[1]) == "50" {
			r.p50 = lat
		} else {
			r.p99 = lat
		}
	}
	for _, m := range reErrors.FindAllSubmatch(out, -1) {
		for _, g := range m[1:] {
			n, _ := strconv.Atoi(string(g))
			r.errors += n
		}
	}
	fmt.Fprintf(os.Stderr, "  c=%d %s: %.0f req/s, p50 %v, p99 %v\n", c, target, r.rps, r.p50, r.p99)
	return r, nil
}

func luaString(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

func report(w io.Writer, o options, results []result, rss int64) {
	engine := "sqlite"
	if o.db != "sqlite" {
		engine = "postgres"
	}
	baseline := map[int]float64{}
	for _, r := range results {
		if r.licenses == 0 {
			baseline[r.concurrency] = r.rps
		}
	}
	fmt.Fprintf(w, "\nengine %s, %v per run, %s\n\n", engine, o.duration, time.Now().UTC().Format(time.RFC3339))
	fmt.Fprintln(w, "| target | licenses | conc. | req/s | p50 | p99 | vs baseline | errors |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|---:|")
	for _, r := range results {
		lic := "–"
		if r.licenses > 0 {
			lic = strconv.Itoa(r.licenses)
		}
		fmt.Fprintf(w, "| %s | %s | %d | %.0f | %s | %s | %.0f%% | %d |\n", r.target, lic, r.concurrency, r.rps,
			ms(r.p50), ms(r.p99), 100*r.rps/baseline[r.concurrency], r.errors)
	}
	fmt.Fprintf(w, "\nkeybox peak RSS: %.1f MB\n", float64(rss)/(1<<20))
}

func ms(d time.Duration) string { return strconv.FormatFloat(float64(d)/1e6, 'f', 2, 64) + " ms" }

// baselineBody is as long as the answer to a valid /validate.
var baselineBody = []byte(`{"valid":true,"status":"active","duration":"12 months","expiresAt":1795000000000}` + "\n")

func serveBaseline(addr string) error {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /validate", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		_, _ = w.Write(baselineBody)
	})
	return http.ListenAndServe(addr, mux)
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// startBaseline runs this program again as the baseline server, so that it
// is a process of its own, like keybox.
func startBaseline() (string, func(), error) {
	addr, err := freeAddr()
	if err != nil {
		return "", nil, err
	}
	self, err := os.Executable()
	if err != nil {
		return "", nil, err
	}
	cmd := exec.Command(self, "-baseline-server", addr)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return "", nil, err
	}
	stop := func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }
	if err := waitHTTP("http://"+addr, "POST", "/validate"); err != nil {
		stop()
		return "", nil, err
	}
	return "http://" + addr, stop, nil
}

func waitHTTP(base, method, path string) error {
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		req, _ := http.NewRequest(method, base+path, strings.NewReader("{}"))
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			return nil
		}
	}
	return fmt.Errorf("%s did not answer", base)
}

type server struct {
	url, debug string
	cmd        *exec.Cmd
}

func splitEnv(s string) []string {
	var out []string
	for _, kv := range strings.Split(s, ",") {
		if kv = strings.TrimSpace(kv); kv != "" {
			out = append(out, kv)
		}
	}
	return out
}

func startServer(bin, db, work string, extraEnv []string) (*server, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	debug, err := freeAddr()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "serve")
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"),
		"KEYBOX_ADDR=" + addr,
		"KEYBOX_DEBUG_ADDR=" + debug,
		"KEYBOX_DATABASE_URL=" + db,
		"KEYBOX_RATE_LIMIT=off",
		"KEYBOX_LOG_FORMAT=json",
		"KEYBOX_JWT_SECRET=bench-secret-bench-secret-bench-secret",
		"KEYBOX_SECRET_KEY=bench-secret-key-bench-secret-key",
	}
	cmd.Env = append(cmd.Env, extraEnv...)
	logFile, err := os.Create(filepath.Join(work, "keybox.log"))
	if err != nil {
		return nil, err
	}
	cmd.Stderr = logFile
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &server{url: "http://" + addr, debug: "http://" + debug, cmd: cmd}
	if err := waitHTTP(s.url, "GET", "/healthz"); err != nil {
		s.stop()
		return nil, err
	}
	return s, nil
}

func (s *server) stop() {
	_ = s.cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { _ = s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = s.cmd.Process.Kill()
	}
}

// peakRSS reads the server's high-water resident set size from /proc.
func (s *server) peakRSS() (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb << 10, err
		}
	}
	return 0, errors.New("no VmHWM in /proc status")
}

// profile fetches a CPU profile of the server while the next run goes on.
func (s *server) profile(path string, d time.Duration) chan error {
	done := make(chan error, 1)
	go func() {
		secs := max(1, int(d.Seconds())-1)
		resp, err := http.Get(fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", s.debug, secs))
		if err != nil {
			done <- err
			return
		}
		defer resp.Body.Close()
		f, err := os.Create(path)
		if err != nil {
			done <- err
			return
		}
		_, err = io.Copy(f, resp.Body)
		done <- errors.Join(err, f.Close())
	}()
	return done
}

// call sends a JSON request and decodes the JSON answer.
func call(method, u, token string, body any) (map[string]any, error) {
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(method, u, bytes.NewReader(b))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return nil, err
	}
	if resp.StatusCode >= 300 {
		return out, fmt.Errorf("%s %s: %d %v", method, u, resp.StatusCode, out)
	}
	return out, nil
}

// setup creates a developer, a client, a project with a 12-month license
// holding three entitlements (every valid answer lists them), and
// activates it; it returns the key.
func setup(base string) (string, error) {
	if _, err := call("POST", base+"/auth/signup", "", map[string]string{
		"name": "Bench", "email": "bench@example.com", "password": "bench password", "confirm_password": "bench password",
	}); err != nil {
		return "", err
	}
	login, err := call("POST", base+"/auth/login", "", map[string]string{"email": "bench@example.com", "password": "bench password"})
	if err != nil {
		return "", err
	}
	token, _ := login["token"].(string)
	c, err := call("POST", base+"/clients", token, map[string]string{"name": "Bench client", "email": "client@example.com"})
	if err != nil {
		return "", err
	}
	clientID, _ := c["client"].(map[string]any)["_id"].(string)
	p, err := call("POST", base+"/projects/createProject", token, map[string]any{
		"clientId": clientID, "projectName": "Bench", "duration": 12, "services": []string{"Hosting"},
		"policy": map[string]any{"entitlements": []string{"export", "pro", "reports"}},
	})
	if err != nil {
		return "", err
	}
	key, _ := p["license"].(map[string]any)["key"].(string)
	if _, err := call("POST", base+"/validate/activate", "", map[string]string{"key": key, "machineId": "bench-machine"}); err != nil {
		return "", err
	}
	v, err := call("POST", base+"/validate", "", map[string]string{"key": key, "machineId": "bench-machine"})
	if err != nil || v["valid"] != true {
		return "", fmt.Errorf("the bench license does not validate: %v %v", v, err)
	}
	if codes, _ := v["entitlements"].([]any); len(codes) != 3 {
		return "", fmt.Errorf("the bench license's valid answer lists entitlements %v, want 3", v["entitlements"])
	}
	return key, nil
}

// prepareDatabase returns the database URL the server will use: a file in
// the work directory, or a fresh schema on the PostgreSQL server.
func prepareDatabase(ctx context.Context, db, work string) (string, func(), error) {
	if db == "sqlite" {
		return "sqlite://" + filepath.Join(work, "keybox.db"), func() {}, nil
	}
	if !strings.HasPrefix(db, "postgres://") && !strings.HasPrefix(db, "postgresql://") {
		return "", nil, fmt.Errorf("-db: %q is neither sqlite nor a postgres:// URL", db)
	}
	var b [4]byte
	_, _ = rand.Read(b[:])
	schema := "keybox_bench_" + hex.EncodeToString(b[:])
	if err := execPostgres(ctx, db, "CREATE SCHEMA "+schema); err != nil {
		return "", nil, err
	}
	u, err := url.Parse(db)
	if err != nil {
		return "", nil, err
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String(), func() { _ = execPostgres(context.Background(), db, "DROP SCHEMA "+schema+" CASCADE") }, nil
}
