package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestLocalHealthURL(t *testing.T) {
	cases := []struct {
		name, addr, port, want string
	}{
		{"defaults", "", "", "http://127.0.0.1:5000/healthz"},
		{"PORT", "", "6000", "http://127.0.0.1:6000/healthz"},
		{"every IPv4 address", "0.0.0.0:5000", "", "http://127.0.0.1:5000/healthz"},
		{"every address", ":7000", "6000", "http://127.0.0.1:7000/healthz"},
		{"every IPv6 address", "[::]:5000", "", "http://[::1]:5000/healthz"},
		{"one address", "10.1.2.3:5000", "", "http://10.1.2.3:5000/healthz"},
		{"a name", "localhost:5000", "", "http://localhost:5000/healthz"},
		{"an IPv6 address", "[fd00::7]:5000", "", "http://[fd00::7]:5000/healthz"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := localHealthURL(envFunc(map[string]string{"KEYBOX_ADDR": tc.addr, "PORT": tc.port}))
			if err != nil || got != tc.want {
				t.Fatalf("got %q, %v; want %q", got, err, tc.want)
			}
		})
	}
	for _, addr := range []string{"127.0.0.1:0", "nonsense", "127.0.0.1:"} {
		if got, err := localHealthURL(envFunc(map[string]string{"KEYBOX_ADDR": addr})); err == nil {
			t.Errorf("KEYBOX_ADDR %q: got %q, want an error (no port to ask)", addr, got)
		}
	}
}

// TestHealthcheck: keybox healthcheck against the real server, found from
// the same settings that started it, and against what is not a healthy one.
func TestHealthcheck(t *testing.T) {
	base := startServe(t, map[string]string{"KEYBOX_DATABASE_URL": "sqlite://" + filepath.Join(t.TempDir(), "keybox.db")})
	addr := strings.TrimPrefix(base, "http://")
	check := func(env map[string]string, args ...string) (int, string, string) {
		t.Helper()
		var out, errb bytes.Buffer
		code := run(context.Background(), append([]string{"healthcheck"}, args...), envFunc(env), &out, &errb)
		return code, out.String(), errb.String()
	}

	t.Run("the server that KEYBOX_ADDR starts", func(t *testing.T) {
		code, out, errs := check(map[string]string{"KEYBOX_ADDR": addr})
		if code != 0 || out != base+"/healthz answered 200\n" {
			t.Fatalf("exit %d, stdout %q, stderr %q; want 0 and the answer", code, out, errs)
		}
	})
	t.Run("--url, in JSON", func(t *testing.T) {
		code, out, errs := check(nil, "--url", base+"/readyz", "-o", "json")
		var got struct {
			URL    string
			Status int
		}
		if code != 0 || json.Unmarshal([]byte(out), &got) != nil || got.URL != base+"/readyz" || got.Status != 200 {
			t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errs)
		}
	})

	unhealthy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/healthz":
			http.Error(w, `{"status":"unavailable"}`, http.StatusServiceUnavailable)
		case "/moved":
			http.Redirect(w, r, base+"/healthz", http.StatusFound)
		case "/slow":
			<-r.Context().Done()
		}
	}))
	defer unhealthy.Close()
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()

	for _, tc := range []struct {
		name, url, want string
	}{
		{"a 503", unhealthy.URL + "/healthz", "answered 503 Service Unavailable"},
		{"a redirect, even to a healthy server", unhealthy.URL + "/moved", "answered 302 Found"},
		{"nothing listening", closed.URL + "/healthz", "connection refused"},
		{"no answer in time", unhealthy.URL + "/slow", "deadline exceeded"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errs := check(nil, "--url", tc.url, "--timeout", "300ms")
			if code != 1 || out != "" || !strings.Contains(errs, "unhealthy: "+tc.url) || !strings.Contains(errs, tc.want) {
				t.Fatalf("exit %d, stdout %q, stderr %q; want 1 and %q", code, out, errs, tc.want)
			}
		})
	}
	t.Run("no port to ask", func(t *testing.T) {
		code, _, errs := check(map[string]string{"KEYBOX_ADDR": "127.0.0.1:0"})
		if code != 1 || !strings.Contains(errs, "use --url") {
			t.Fatalf("exit %d, stderr %q", code, errs)
		}
	})
}

// TestVersionOfABuild builds the real binary as a user would, from a git
// checkout (a copy of this source tree committed in a fresh repository) and
// as a release does (the version stamped by the linker), and checks what
// keybox version says of each.
func TestVersionOfABuild(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary three times")
	}
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	repo := t.TempDir()
	copyTree(t, filepath.Join("..", ".."), repo)
	git := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("git", append([]string{"-c", "commit.gpgsign=false", "-c", "init.defaultBranch=main"}, args...)...)
		cmd.Dir = repo
		cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1",
			"GIT_AUTHOR_NAME=KeyBox test", "GIT_AUTHOR_EMAIL=test@example.com", "GIT_AUTHOR_DATE=2026-12-01T01:06:35Z",
			"GIT_COMMITTER_NAME=KeyBox test", "GIT_COMMITTER_EMAIL=test@example.com", "GIT_COMMITTER_DATE=2026-12-01T01:06:35Z")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return strings.TrimSpace(string(out))
	}
	git("init", "-q")
	git("add", "-A")
	git("commit", "-q", "-m", "a checkout")
	head := git("rev-parse", "HEAD")

	type version struct {
		Version, Revision, Time, Go, Platform string
		Modified                              bool
	}
	build := func(flags ...string) version {
		t.Helper()
		bin := filepath.Join(t.TempDir(), "keybox")
		// Built as buildBinary builds, so that the modules' packages come
		// from the build cache and only KeyBox's own are compiled, once;
		// -buildvcs=true overrides a GOFLAGS that turns the stamp off.
		cmd := exec.Command("go", append(append([]string{"build", "-buildvcs=true"}, flags...), "-o", bin, "./cmd/keybox")...)
		cmd.Dir = repo
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build: %v\n%s", err, out)
		}
		out, err := exec.Command(bin, "version", "-o", "json").Output()
		if err != nil {
			t.Fatalf("keybox version: %v", err)
		}
		var v version
		if err := json.Unmarshal(out, &v); err != nil {
			t.Fatalf("keybox version -o json: %v\n%s", err, out)
		}
		table, err := exec.Command(bin, "version").Output()
		if err != nil {
			t.Fatalf("keybox version: %v", err)
		}
		if !strings.HasPrefix(string(table), "keybox "+v.Version+" (") || !strings.Contains(string(table), head[:12]) {
			t.Errorf("keybox version printed %q, want the version %s and the revision %s", table, v.Version, head[:12])
		}
		return v
	}

	t.Run("go build in a checkout", func(t *testing.T) {
		v := build()
		if v.Revision != head || v.Modified || v.Time != "2026-12-01T01:06:35Z" || !strings.HasSuffix(v.Version, "-"+head[:12]) {
			t.Fatalf("got %+v, want a pseudo-version and the revision %s of 2026-12-01T01:06:35Z, unmodified", v, head)
		}
	})
	t.Run("go build in a modified checkout", func(t *testing.T) {
		f, err := os.OpenFile(filepath.Join(repo, "README.md"), os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		_, err = f.WriteString("\nA local change.\n")
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { git("checkout", "-q", "--", "README.md") })
		v := build()
		if v.Revision != head || !v.Modified || !strings.HasSuffix(v.Version, "+dirty") {
			t.Fatalf("got %+v, want the revision %s, modified", v, head)
		}
	})
	t.Run("a release build stamps its version", func(t *testing.T) {
		const pkg = "github.com/keyboxhq/keybox/internal/buildinfo"
		v := build("-ldflags", "-s -w -X "+pkg+".version=v1.4.0 -X "+pkg+".revision="+head)
		if v.Version != "v1.4.0" || v.Revision != head {
			t.Fatalf("got %+v, want v1.4.0 at %s", v, head)
		}
	})
}

// copyTree copies the source tree at src (files and folders whose names do
// not start with a dot, and no data directory) into dst.
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		if rel != "." && (strings.HasPrefix(d.Name(), ".") || d.Name() == "keybox-data") {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		in, err := os.Open(path)
		if err != nil {
			return err
		}
		defer in.Close()
		out, err := os.Create(target)
		if err != nil {
			return err
		}
		if _, err := io.Copy(out, in); err != nil {
			out.Close()
			return err
		}
		return out.Close()
	})
	if err != nil {
		t.Fatal(err)
	}
}
