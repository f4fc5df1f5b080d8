package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// buildKeybox builds the server binary into dir.
func buildKeybox(ctx context.Context, dir string) (string, error) {
	bin := filepath.Join(dir, "keybox")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/keybox")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
}

// serveBaseline answers every request with the body read from bodyFile: a
// minimal net/http server, the most a Go server can do on this machine.
func serveBaseline(addr, bodyFile string) error {
	body, err := os.ReadFile(bodyFile)
	if err != nil {
		return err
	}
	return http.ListenAndServe(addr, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		_, _ = w.Write(body)
	}))
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
// is a process of its own, like keybox, answering body.
func startBaseline(work string, body []byte) (string, func(), error) {
	bodyFile := filepath.Join(work, "baseline-body.json")
	if err := os.WriteFile(bodyFile, body, 0o600); err != nil {
		return "", nil, err
	}
	addr, err := freeAddr()
	if err != nil {
		return "", nil, err
	}
	self, err := os.Executable()
	if err != nil {
		return "", nil, err
	}
	cmd := exec.Command(self, "-baseline-server", addr, "-baseline-body", bodyFile)
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
	log        string
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

// startServer runs keybox serve on db with rate limits off, logging to a
// file in work.
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
	logPath := filepath.Join(work, "keybox.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer logFile.Close() // the child keeps its own descriptor
	cmd.Stderr = logFile
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &server{url: "http://" + addr, debug: "http://" + debug, cmd: cmd, log: logPath}
	if err := waitHTTP(s.url, "GET", "/healthz"); err != nil {
		s.stop()
		return nil, fmt.Errorf("%w; its log:\n%s", err, s.logTail())
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

// logTail returns the last lines of the server's log, for error messages.
func (s *server) logTail() string {
	b, _ := os.ReadFile(s.log)
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// memory is a process's resident set size now and at its peak, in bytes.
type memory struct{ rss, peak int64 }

// memory reads the server's VmRSS and VmHWM from /proc.
func (s *server) memory() (memory, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	if err != nil {
		return memory{}, err
	}
	defer f.Close()
	var m memory
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok || (name != "VmRSS" && name != "VmHWM") {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
		if err != nil {
			return memory{}, fmt.Errorf("%s in /proc status: %w", name, err)
		}
		if name == "VmRSS" {
			m.rss = kb << 10
		} else {
			m.peak = kb << 10
		}
	}
	if m.rss == 0 || m.peak == 0 {
		return memory{}, errors.New("no VmRSS or VmHWM in /proc status")
	}
	return m, sc.Err()
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

// call sends a JSON request and returns the raw answer, which must be a 2xx.
func call(method, u, token string, body any) ([]byte, error) {
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(method, u, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode >= 300 {
		return raw, fmt.Errorf("%s %s: %d %s", method, u, resp.StatusCode, raw)
	}
	return raw, nil
}

// callJSON is call with the answer decoded.
func callJSON(method, u, token string, body any) (map[string]any, error) {
	raw, err := call(method, u, token, body)
	if err != nil {
		return nil, err
	}
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, u, err)
	}
	return out, nil
}

// setupResult is what the API made: one ACTIVE license bound to a machine,
// and the server's answers, whose sizes the baseline copies.
type setupResult struct {
	key, machine string
	validated    []byte // the answer to POST /validate of key on machine
	activated    []byte // the answer to the activation of key on machine
}

// setup creates a developer, a client, a project with a 12-month license
// holding three entitlements (every valid answer lists them), and activates
// it on a machine, as a developer and an application would.
func setup(base string) (setupResult, error) {
	if _, err := call("POST", base+"/auth/signup", "", map[string]string{
		"name": "Bench", "email": "bench@example.com", "password": "bench password", "confirm_password": "bench password",
	}); err != nil {
		return setupResult{}, err
	}
	login, err := callJSON("POST", base+"/auth/login", "", map[string]string{"email": "bench@example.com", "password": "bench password"})
	if err != nil {
		return setupResult{}, err
	}
	token, _ := login["token"].(string)
	c, err := callJSON("POST", base+"/clients", token, map[string]string{"name": "Bench client", "email": "client@example.com"})
	if err != nil {
		return setupResult{}, err
	}
	clientID, _ := c["client"].(map[string]any)["_id"].(string)
	p, err := callJSON("POST", base+"/projects/createProject", token, map[string]any{
		"clientId": clientID, "projectName": "Bench", "duration": 12, "services": []string{"Hosting"},
		"policy": map[string]any{"entitlements": []string{"export", "pro", "reports"}},
	})
	if err != nil {
		return setupResult{}, err
	}
	r := setupResult{machine: newMachineID()}
	r.key, _ = p["license"].(map[string]any)["key"].(string)
	check := map[string]string{"key": r.key, "machineId": r.machine}
	if r.activated, err = call("POST", base+"/validate/activate", "", check); err != nil {
		return setupResult{}, err
	}
	if r.validated, err = call("POST", base+"/validate", "", check); err != nil {
		return setupResult{}, err
	}
	if !bytes.Contains(r.validated, []byte(`"valid":true`)) {
		return setupResult{}, fmt.Errorf("the bench license does not validate: %s", r.validated)
	}
	if !bytes.Contains(r.validated, []byte(`"entitlements":["export","pro","reports"]`)) {
		return setupResult{}, fmt.Errorf("the bench license's valid answer does not list its three entitlements: %s", r.validated)
	}
	return r, nil
}

// newMachineID returns a machine id such as an SDK sends: 32 hex digits.
func newMachineID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
