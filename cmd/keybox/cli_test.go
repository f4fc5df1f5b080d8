package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keyboxhq/keybox/client"
	"github.com/keyboxhq/keybox/internal/servertest"
	"github.com/keyboxhq/keybox/internal/storetest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// testServer is the real server over a fresh SQLite store, with seeded ids
// and keys and a fixed clock, so that every run prints the same bytes.
func testServer(t *testing.T) string {
	t.Helper()
	return servertest.New(t, storetest.SQLite(t), servertest.Options{}).URL
}

// shell runs keybox commands as a user would, keeping a transcript.
type shell struct {
	t          *testing.T
	env        map[string]string
	transcript bytes.Buffer
	// replace hides what differs between runs (the server's port).
	replace *strings.Replacer
}

func newShell(t *testing.T, serverURL string, env ...string) *shell {
	s := &shell{t: t, env: map[string]string{"KEYBOX_SERVER": serverURL, "KEYBOX_CONFIG_DIR": filepath.Join(t.TempDir(), "keybox")},
		replace: strings.NewReplacer(serverURL, "http://keybox.test")}
	for i := 0; i+1 < len(env); i += 2 {
		s.env[env[i]] = env[i+1]
	}
	return s
}

// run runs one command with stdin and returns its exit code and output;
// both go to the transcript.
func (s *shell) run(stdin string, args ...string) (int, string) {
	s.t.Helper()
	var stdout, stderr bytes.Buffer
	code := runIO(context.Background(), args, cli{getenv: envFunc(s.env), stdin: strings.NewReader(stdin), stdout: &stdout, stderr: &stderr})
	quoted := make([]string, len(args))
	for i, a := range args {
		quoted[i] = a
		if strings.ContainsAny(a, " ?") {
			quoted[i] = "'" + a + "'"
		}
	}
	fmt.Fprintf(&s.transcript, "$ keybox %s\n", strings.Join(quoted, " "))
	s.transcript.WriteString(s.replace.Replace(stdout.String()))
	if code != 0 {
		fmt.Fprintf(&s.transcript, "[exit %d] %s", code, s.replace.Replace(stderr.String()))
	}
	s.transcript.WriteString("\n")
	return code, stdout.String() + stderr.String()
}

// ok runs a command that must succeed.
func (s *shell) ok(args ...string) string {
	s.t.Helper()
	code, out := s.run("", args...)
	if code != 0 {
		s.t.Fatalf("keybox %s: exit %d: %s", strings.Join(args, " "), code, out)
	}
	return out
}

// fails runs a command that must fail with code.
func (s *shell) fails(code int, args ...string) string {
	s.t.Helper()
	got, out := s.run("", args...)
	if got != code {
		s.t.Fatalf("keybox %s: got exit %d (%s), want %d", strings.Join(args, " "), got, out, code)
	}
	return out
}

func goldenFile(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("output differs from %s (go test -update rewrites it):\ngot:\n%s", path, got)
	}
}

// TestCLITranscripts runs every management command against a real server,
// once per output format, and compares the transcripts with golden files.
func TestCLITranscripts(t *testing.T) {
	for _, format := range []string{"table", "json"} {
		t.Run(format, func(t *testing.T) {
			url := testServer(t)
			ctx := context.Background()
			api, err := client.New(url, client.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := api.Signup(ctx, client.Signup{Name: "Ada", Email: "ada@example.com", Password: "correct horse"}); err != nil {
				t.Fatal(err)
			}
			sh := newShell(t, url)
			o := []string{"-o", format}
			cmd := func(args ...string) []string { return append(args, o...) }

			if code, out := sh.run("correct horse\n", cmd("login", "--email", "ada@example.com", "--password-stdin")...); code != 0 {
				t.Fatalf("login: exit %d: %s", code, out)
			}
			if _, err := api.Login(ctx, "ada@example.com", "correct horse"); err != nil {
				t.Fatal(err)
			}
			sh.ok(cmd("whoami")...)
			sh.ok(cmd("clients", "create", "--name", "Acme", "--email", "billing@acme.example")...)
			sh.ok(cmd("clients", "create", "--name", "Globex", "--email", "it@globex.example")...)
			sh.ok(cmd("clients", "list")...)
			sh.ok(cmd("clients", "list", "--limit", "1")...)
			sh.ok("-o", format, "clients", "list", "--limit", "1", "--page", "2")
			sh.ok(cmd("clients", "list", "--all")...)
			clients, err := api.Clients(ctx, client.ListOptions{})
			if err != nil {
				t.Fatal(err)
			}
			globex, acme := clients.Clients[0].ID, clients.Clients[1].ID
			sh.ok(cmd("clients", "update", acme, "--name", "Acme Corp")...)
			sh.ok(cmd("clients", "get", acme)...)
			sh.ok(cmd("projects", "createProject", "--client", acme, "--name", "Website", "--duration", "12", "--services", "Hosting,Domain")...)
			sh.ok(cmd("projects", "create", "--client", acme, "--name", "App")...)
			sh.ok(cmd("projects", "list", "--client", acme)...)
			projects, err := api.Projects(ctx, client.ProjectListOptions{ClientID: acme})
			if err != nil {
				t.Fatal(err)
			}
			app, website := projects.Projects[0].ID, projects.Projects[1].ID
			sh.ok(cmd("projects", "rename", app, "--name", "Mobile app")...)
			sh.ok(cmd("projects", "get", app)...)
			sh.ok(cmd("projects", "policy", app)...)
			sh.ok(cmd("projects", "set-policy", app, "--lease-seconds", "300", "--entitlements", "pro,export", "--require-machine-id")...)
			sh.fails(1, cmd("projects", "set-policy", app, "--lease-seconds", "5")...)
			sh.fails(2, cmd("projects", "set-policy", app)...)
			const key = "ACME/2026/0001"
			sh.ok(cmd("licenses", "create", "--client", acme, "--project", app, "--duration", "6", "--max-machines", "2", "--key", key, "--product", "mobile")...)
			lc, err := client.NewLicenseClient(url, key, client.LicenseOptions{MachineID: "laptop-1"})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := lc.Activate(ctx); err != nil {
				t.Fatal(err)
			}
			sh.ok(cmd("licenses", "get", key)...)
			sh.ok(cmd("licenses", "list")...)
			sh.ok(cmd("licenses", "list", "--status", "pending", "--project", website)...)
			sh.ok(cmd("licenses", "revoke", key)...)
			sh.ok(cmd("licenses", "revoke", key)...)
			websiteLicenses, err := api.Licenses(ctx, client.LicenseListOptions{ProjectID: website})
			if err != nil {
				t.Fatal(err)
			}
			sh.ok(cmd("licenses", "renew", websiteLicenses.Licenses[0].Key, "--duration", "3")...)
			sh.ok(cmd("licenses", "update", key, "--max-machines", "3", "--services", "Hosting,Domain")...)
			sh.ok(cmd("licenses", "update", key, "--entitlements", "pro", "--metadata", `{"plan":"gold"}`, "--lease-seconds", "600", "--require-machine-id=false")...)
			sh.fails(2, cmd("licenses", "update", key, "--metadata", "{plan}")...)
			sh.ok(cmd("licenses", "get", key)...)
			detail, err := api.License(ctx, key)
			if err != nil {
				t.Fatal(err)
			}
			sh.ok(cmd("licenses", "free-seat", key, detail.Activations[0].ID)...)
			me, err := api.Me(ctx)
			if err != nil {
				t.Fatal(err)
			}
			sh.ok(cmd("users", "list")...)
			sh.ok(cmd("users", "update", me.ID, "--name", "Ada L.")...)
			sh.ok(cmd("users", "get", me.ID)...)
			sh.ok(cmd("dashboard")...)
			sh.ok(cmd("dashboard", "--client", globex)...)
			sh.ok(cmd("stats")...)

			// Errors: one line on stderr, a non-zero exit.
			sh.fails(1, cmd("clients", "get", "000000000000000000000000")...)
			sh.fails(1, cmd("clients", "create", "--name", "Acme", "--email", "billing@acme.example")...)
			sh.fails(1, cmd("clients", "create", "--name", "X", "--email", "not-an-address")...)
			sh.fails(1, cmd("projects", "delete", app)...)
			sh.fails(2, cmd("licenses", "frobnicate")...)
			sh.fails(2, cmd("licenses", "get")...)

			sh.ok(cmd("projects", "delete", app, "--cascade")...)
			sh.ok(cmd("clients", "delete", globex)...)
			if code, out := sh.run("correct horse\nbattery staple\n", cmd("password", "--password-stdin")...); code != 0 {
				t.Fatalf("password: exit %d: %s", code, out)
			}
			// The change ended the kept token; the CLI kept the fresh one.
			sh.ok(cmd("whoami")...)
			sh.ok(cmd("refresh")...)
			sh.ok(cmd("whoami")...)
			anon, err := client.New(url, client.Options{})
			if err != nil {
				t.Fatal(err)
			}
			bob, err := anon.Signup(ctx, client.Signup{Name: "Bob", Email: "bob@example.com", Password: "correct horse"})
			if err != nil {
				t.Fatal(err)
			}
			sh.ok(cmd("users", "delete", bob)...)
			sh.fails(1, cmd("users", "delete", me.ID)...)
			sh.ok(cmd("logout-all")...)
			sh.fails(4, cmd("whoami")...)
			sh.ok(cmd("logout")...)
			sh.fails(4, cmd("whoami")...)
			goldenFile(t, "cli_"+format, sh.transcript.Bytes())
		})
	}
}

// TestLoginKeepsTokenPrivate: the token file is the owner's alone, and the
// token is sent only to the server it came from.
func TestLoginKeepsTokenPrivate(t *testing.T) {
	url := testServer(t)
	api, _ := client.New(url, client.Options{})
	if _, err := api.Signup(context.Background(), client.Signup{Name: "Ada", Email: "ada@example.com", Password: "correct horse"}); err != nil {
		t.Fatal(err)
	}
	sh := newShell(t, url, "KEYBOX_PASSWORD", "correct horse")
	sh.ok("login", "--email", "ada@example.com")
	path := filepath.Join(sh.env["KEYBOX_CONFIG_DIR"], "credentials.json")
	for _, p := range []struct {
		path string
		mode os.FileMode
	}{{path, 0o600}, {filepath.Dir(path), 0o700}} {
		st, err := os.Stat(p.path)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != p.mode {
			t.Errorf("%s: got mode %v, want %v", p.path, st.Mode().Perm(), p.mode)
		}
	}
	if out := sh.ok("whoami", "-o", "json"); !strings.Contains(out, `"ada@example.com"`) {
		t.Fatalf("whoami: %s", out)
	}

	// Another server: the kept token is not sent to it.
	other := testServer(t)
	out := sh.fails(4, "whoami", "--server", other)
	if !strings.Contains(out, "No token provided (HTTP 401); run keybox login") {
		t.Fatalf("got %q, want the other server to see no token", out)
	}
	// A script's KEYBOX_TOKEN is refreshed on standard output; the kept login stays as it was.
	kept, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sess, err := api.Login(context.Background(), "ada@example.com", "correct horse")
	if err != nil {
		t.Fatal(err)
	}
	sh.env["KEYBOX_TOKEN"] = sess.Token
	if out := sh.ok("refresh", "-o", "json"); !strings.Contains(out, `"token": "ey`) {
		t.Fatalf("refresh printed %q, want the fresh token", out)
	}
	if now, _ := os.ReadFile(path); !bytes.Equal(now, kept) {
		t.Fatal("refreshing KEYBOX_TOKEN rewrote the kept login")
	}
	// KEYBOX_TOKEN is sent wherever it is pointed (scripts).
	sh.env["KEYBOX_TOKEN"] = "not-a-token"
	if out := sh.fails(4, "whoami"); !strings.Contains(out, "Unauthorized") {
		t.Fatalf("got %q", out)
	}
	// No password anywhere: a clear refusal, not a hang.
	delete(sh.env, "KEYBOX_PASSWORD")
	if out := sh.fails(1, "login", "--email", "ada@example.com"); !strings.Contains(out, "--password-stdin") {
		t.Fatalf("got %q", out)
	}
	if out := sh.fails(3, "clients", "list", "--server", "http://127.0.0.1:1"); !strings.Contains(out, "cannot reach KeyBox at http://127.0.0.1:1") {
		t.Fatalf("got %q", out)
	}
}

func TestParseArgsAnywhere(t *testing.T) {
	cases := []struct {
		args []string
		pos  []string
		out  string
	}{
		{[]string{"KEY", "-o", "json"}, []string{"KEY"}, "json"},
		{[]string{"-o", "json", "A", "B"}, []string{"A", "B"}, "json"},
		{[]string{"A", "--", "-o"}, []string{"A", "-o"}, "table"},
	}
	for _, c := range cases {
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		out := fs.String("o", "table", "")
		pos, err := parseArgs(fs, c.args)
		if err != nil || strings.Join(pos, " ") != strings.Join(c.pos, " ") || *out != c.out {
			t.Errorf("%q: got %q, -o %q, %v; want %q, -o %q", c.args, pos, *out, err, c.pos, c.out)
		}
	}
}
