package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// runCLI runs keybox with args and env, and returns its exit code and output.
func runCLI(t *testing.T, env map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = runIO(context.Background(), args, cli{getenv: envFunc(env), stdin: strings.NewReader(""), stdout: &out, stderr: &errb})
	return code, out.String(), errb.String()
}

// oneSpace collapses every run of white space, to compare wrapped text.
func oneSpace(s string) string { return strings.Join(strings.Fields(s), " ") }

// flagSection is the "Flags:" part of a command's help.
func flagSection(help string) string {
	_, flags, _ := strings.Cut(help, "\nFlags:\n")
	flags, _, _ = strings.Cut(flags, "\nGlobal flags:")
	return flags
}

// TestHelpListsEveryCommand: keybox help is written from the command table:
// every command is there with its whole first sentence, and so are the
// global flags and the exit codes.
func TestHelpListsEveryCommand(t *testing.T) {
	code, out, _ := runCLI(t, nil, "help")
	if code != 0 {
		t.Fatalf("keybox help: exit %d", code)
	}
	for _, again := range [][]string{{"-h"}, {"--help"}} {
		if c, o, _ := runCLI(t, nil, again...); c != 0 || o != out {
			t.Errorf("keybox %s: exit %d, and not the same text as keybox help", again[0], c)
		}
	}
	flat := oneSpace(out)
	for _, want := range []string{"Exit codes:", "0 done", "1 the server refused", "2 the command line is wrong",
		"3 the server cannot be reached", "4 not logged in", "-o, --output FORMAT", "--server URL"} {
		if !strings.Contains(flat, want) {
			t.Errorf("keybox help does not say %q", want)
		}
	}
	for _, tp := range topics() {
		line := oneSpace("  " + tp.usageName() + " " + tp.oneLine())
		if !strings.Contains(flat, line) {
			t.Errorf("keybox help: no line %q", line)
		}
		if !strings.HasSuffix(tp.oneLine(), ".") {
			t.Errorf("keybox help: %s's summary %q stops before its sentence does", tp.name, tp.oneLine())
		}
		for _, c := range tp.cmds {
			if s := firstSentence(c.help); !strings.HasSuffix(s, ".") && !strings.HasSuffix(s, ".)") {
				t.Errorf("keybox %s %s: summary %q is not a whole sentence", tp.name, c.name, s)
			}
		}
		if len(tp.cmds) > 1 {
			code, group, _ := runCLI(t, nil, "help", tp.name)
			if code != 0 {
				t.Fatalf("keybox help %s: exit %d", tp.name, code)
			}
			for _, c := range tp.cmds {
				if !strings.Contains(oneSpace(group), oneSpace(firstSentence(c.help))) {
					t.Errorf("keybox help %s: %s's summary %q is cut off or missing:\n%s", tp.name, c.name, firstSentence(c.help), group)
				}
			}
		}
	}
	for _, line := range strings.Split(out, "\n") {
		if n := len([]rune(line)); n > helpWidth {
			t.Errorf("keybox help: line of %d characters, over %d: %q", n, helpWidth, line)
		}
	}
}

// TestCommandHelpShowsOwnFlags: keybox help CMD and keybox CMD -h print the
// same text, with the command's own flags only; the global ones have a line.
func TestCommandHelpShowsOwnFlags(t *testing.T) {
	cases := []struct {
		help, dashH []string
		want        []string // flags that must be listed
		wantNot     []string // flags that must not
	}{
		{[]string{"help", "clients", "list"}, []string{"clients", "list", "-h"},
			[]string{"-all", "-limit", "-page", "-q"}, []string{"-server", "-output", "-o "}},
		{[]string{"help", "whoami"}, []string{"whoami", "--help"}, nil, []string{"-server", "-output"}},
		{[]string{"help", "migrate"}, []string{"migrate", "-h"},
			[]string{"-database-url"}, []string{"-port", "-jwt-secret", "-signup", "-rate-limit", "-output"}},
		{[]string{"help", "users", "create"}, []string{"user", "create", "-h"},
			[]string{"-admin", "-database-url", "-email", "-name", "-password-stdin"}, []string{"-server"}},
		{[]string{"help", "serve"}, []string{"serve", "-h"}, []string{"-port", "-database-url", "-jwt-secret"}, nil},
		{[]string{"help", "restore"}, []string{"restore", "-h"}, []string{"-database-url", "-force", "-lost-secret"}, nil},
	}
	for _, c := range cases {
		t.Run(strings.Join(c.help, " "), func(t *testing.T) {
			code, out, errOut := runCLI(t, nil, c.help...)
			if code != 0 || errOut != "" {
				t.Fatalf("exit %d, stderr %q", code, errOut)
			}
			code2, out2, _ := runCLI(t, nil, c.dashH...)
			if code2 != 0 || out2 != out {
				t.Fatalf("keybox %s: exit %d, and not the same text as keybox %s:\n%s\n---\n%s",
					strings.Join(c.dashH, " "), code2, strings.Join(c.help, " "), out2, out)
			}
			flags := flagSection(out)
			for _, f := range c.want {
				if !strings.Contains(flags, "  "+f) {
					t.Errorf("flag %s missing:\n%s", f, out)
				}
			}
			for _, f := range c.wantNot {
				if strings.Contains(flags, "  "+f) {
					t.Errorf("flag %s is not this command's own:\n%s", f, out)
				}
			}
		})
	}
	// Help runs nothing: no server is asked, no database opened.
	if code, _, errOut := runCLI(t, map[string]string{"KEYBOX_SERVER": "http://127.0.0.1:1"}, "whoami", "-h"); code != 0 || errOut != "" {
		t.Fatalf("whoami -h: exit %d, %q", code, errOut)
	}
	for _, bad := range [][]string{{"help", "frobnicate"}, {"help", "clients", "frobnicate"}, {"help", "serve", "now"}} {
		if code, _, _ := runCLI(t, nil, bad...); code != exitUsage {
			t.Errorf("keybox %s: exit %d, want %d", strings.Join(bad, " "), code, exitUsage)
		}
	}
}

// TestServeHelpHidesSecrets: the defaults keybox serve -h shows are the
// built-in ones, never the environment's (which may hold secrets).
func TestServeHelpHidesSecrets(t *testing.T) {
	const secret = "jwt-secret-that-must-not-be-printed-0123456789"
	code, out, _ := runCLI(t, map[string]string{"KEYBOX_JWT_SECRET": secret, "KEYBOX_SECRET_KEY": secret}, "serve", "-h")
	if code != 0 || strings.Contains(out, secret) {
		t.Fatalf("serve -h: exit %d, printed the secret: %v", code, strings.Contains(out, secret))
	}
}

// TestGlobalFlagsBeforeTheCommand: --server and -o work before the command,
// the command's own flags win, and they are refused where they mean nothing.
func TestGlobalFlagsBeforeTheCommand(t *testing.T) {
	url := testServer(t)
	sh := newShell(t, url, "KEYBOX_SERVER", "http://127.0.0.1:1")
	// The server from --server before the command, the format from -o.
	if out := sh.fails(4, "--server", url, "-o", "json", "whoami"); !strings.Contains(out, "No token provided") {
		t.Fatalf("got %q", out)
	}
	if out := sh.fails(4, "--server="+url, "whoami", "-o", "table"); !strings.Contains(out, "No token provided") {
		t.Fatalf("got %q", out)
	}
	// The command's own flag, after it, wins over the one before it.
	if out := sh.fails(3, "--server", url, "whoami", "--server", "http://127.0.0.1:1"); !strings.Contains(out, "cannot reach KeyBox at http://127.0.0.1:1") {
		t.Fatalf("got %q", out)
	}
	if out := sh.fails(2, "-o", "yaml", "whoami"); !strings.Contains(out, `--output "yaml" must be table or json`) {
		t.Fatalf("got %q", out)
	}
	if out := sh.fails(2, "--server", url, "keys", "list"); !strings.Contains(out, "works on the database") {
		t.Fatalf("got %q", out)
	}
	if out := sh.fails(2, "--frobnicate", "whoami"); !strings.Contains(out, "before the command") {
		t.Fatalf("got %q", out)
	}
	sh.fails(2, "-o", "json", "serve")
	if out := sh.ok("--version"); !strings.HasPrefix(out, "keybox ") {
		t.Fatalf("--version: %q", out)
	}
}

// TestUserAndUsersAreOneGroup: keybox user and keybox users are the same
// group, database command included.
func TestUserAndUsersAreOneGroup(t *testing.T) {
	_, users, _ := runCLI(t, nil, "users", "-h")
	_, user, _ := runCLI(t, nil, "user", "--help")
	if users != user || !strings.Contains(users, "On the database itself") || !strings.Contains(users, "create") ||
		!strings.Contains(users, `"keybox user" works too`) {
		t.Fatalf("users -h and user -h:\n%s\n---\n%s", users, user)
	}
	db := "sqlite://" + t.TempDir() + "/keybox.db"
	env := map[string]string{"KEYBOX_DATABASE_URL": db, "KEYBOX_PASSWORD": "correct horse"}
	if code, out, errOut := runCLI(t, env, "users", "create", "--admin", "--name", "Root", "--email", "root@example.com"); code != 0 ||
		!strings.Contains(out, "Created ADMIN account root@example.com.") {
		t.Fatalf("users create: exit %d, %s%s", code, out, errOut)
	}
	if code, _, errOut := runCLI(t, env, "user", "create", "--name", "Dev", "--email", "dev@example.com"); code != 0 {
		t.Fatalf("user create: exit %d, %s", code, errOut)
	}
}
