package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// completionScript writes keybox completion SHELL to a file.
func completionScript(t *testing.T, shell string) string {
	t.Helper()
	code, out, errOut := runCLI(t, nil, "completion", shell)
	if code != 0 {
		t.Fatalf("completion %s: exit %d, %s", shell, code, errOut)
	}
	path := filepath.Join(t.TempDir(), "keybox."+shell)
	if err := os.WriteFile(path, []byte(out), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// needShell skips the test when the shell is not installed.
func needShell(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("%s is not installed", name)
	}
	return p
}

// completionCase is a command line typed up to the cursor (the last word is
// the one being completed) and words that must be offered, or must not be.
type completionCase struct {
	line    []string
	want    []string
	wantNot []string
}

// completionCases come from the command table itself: every command and
// subcommand completes where it may be typed, with its flags, so a command
// added to the table completes without touching the scripts.
func completionCases() []completionCase {
	var names []string
	cases := []completionCase{
		{line: []string{"cl"}, want: []string{"clients"}, wantNot: []string{"serve"}},
		{line: []string{"-"}, want: []string{"--server", "--output", "-o"}},
		{line: []string{"-o", "json", "clients", "l"}, want: []string{"list"}},
		{line: []string{"--server", "http://x", "whoami", "--s"}, want: []string{"--server"}},
		{line: []string{"clients", "list", "--a"}, want: []string{"--all"}, wantNot: []string{"--limit"}},
		{line: []string{"user", ""}, want: []string{"create", "list", "update", "delete", "get"}},
		{line: []string{"completion", ""}, want: []string{"bash", "zsh", "fish"}},
		{line: []string{"backup", "--"}, want: []string{"--database-url", "--no-secrets"}, wantNot: []string{"--server"}},
		{line: []string{"restore", ""}, wantNot: []string{"restore", "serve", "--force"}}, // a file name
		{line: []string{"checkout", "--"}, want: []string{"--machine-id", "--out", "--activate", "--server"}},
	}
	for _, tp := range topics() {
		names = append(names, tp.name)
		if len(tp.cmds) > 1 || (len(tp.cmds) == 1 && tp.cmds[0].name != "") {
			var subs []string
			for _, c := range tp.cmds {
				subs = append(subs, c.name)
				cases = append(cases, completionCase{line: []string{tp.name, c.name, "--"}, want: commandFlagWords(c)})
			}
			cases = append(cases, completionCase{line: []string{tp.name, ""}, want: subs})
		} else if len(tp.cmds) == 1 {
			cases = append(cases, completionCase{line: []string{tp.name, "--"}, want: commandFlagWords(tp.cmds[0])})
		}
	}
	cases = append(cases, completionCase{line: []string{""}, want: names}, completionCase{line: []string{"help", ""}, want: names})
	return cases
}

func commandFlagWords(c command) []string {
	var w []string
	for _, f := range commandFlags(c) {
		if len(f.name) > 1 {
			w = append(w, "--"+f.name)
		}
	}
	return w
}

func checkCompletion(t *testing.T, c completionCase, got []string) {
	t.Helper()
	for _, w := range c.want {
		if !slices.Contains(got, w) {
			t.Errorf("keybox %s<TAB>: %q not offered; got %q", strings.Join(c.line, " "), w, got)
		}
	}
	for _, w := range c.wantNot {
		if slices.Contains(got, w) {
			t.Errorf("keybox %s<TAB>: %q offered", strings.Join(c.line, " "), w)
		}
	}
}

func TestCompletionBash(t *testing.T) {
	bash := needShell(t, "bash")
	script := completionScript(t, "bash")
	var prog strings.Builder
	prog.WriteString("source " + script + "\n")
	cases := completionCases()
	for _, c := range cases {
		words := append([]string{"keybox"}, c.line...)
		for i := range words {
			words[i] = "'" + words[i] + "'"
		}
		prog.WriteString("COMP_WORDS=(" + strings.Join(words, " ") + "); COMP_CWORD=$((${#COMP_WORDS[@]}-1)); COMPREPLY=(); _keybox; echo \"${COMPREPLY[*]}\"\n")
	}
	out, err := exec.Command(bash, "--norc", "-c", prog.String()).CombinedOutput()
	if err != nil {
		t.Fatalf("bash: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	if len(lines) != len(cases) {
		t.Fatalf("bash printed %d lines for %d cases:\n%s", len(lines), len(cases), out)
	}
	for i, c := range cases {
		checkCompletion(t, c, strings.Fields(lines[i]))
	}
}

func TestCompletionZsh(t *testing.T) {
	zsh := needShell(t, "zsh")
	script := completionScript(t, "zsh")
	if out, err := exec.Command(zsh, "-n", script).CombinedOutput(); err != nil {
		t.Fatalf("zsh -n: %v\n%s", err, out)
	}
	// The completion system's own functions stand in, printing what they
	// are given, one line per call.
	var prog strings.Builder
	prog.WriteString("compdef() {}\ncompadd() { print -r -- \"${(j: :)@[2,-1]}\" }\n_files() { print -r -- _files }\nsource " + script + "\n")
	cases := completionCases()
	for _, c := range cases {
		words := append([]string{"keybox"}, c.line...)
		for i := range words {
			words[i] = "'" + words[i] + "'"
		}
		prog.WriteString("words=(" + strings.Join(words, " ") + "); CURRENT=${#words}; _keybox\n")
	}
	out, err := exec.Command(zsh, "-f", "-c", prog.String()).CombinedOutput()
	if err != nil {
		t.Fatalf("zsh: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	if len(lines) != len(cases) {
		t.Fatalf("zsh printed %d lines for %d cases:\n%s", len(lines), len(cases), out)
	}
	for i, c := range cases {
		// zsh's compadd keeps what matches the word typed so far.
		var got []string
		for _, w := range strings.Fields(lines[i]) {
			if strings.HasPrefix(w, c.line[len(c.line)-1]) {
				got = append(got, w)
			}
		}
		checkCompletion(t, c, got)
	}
	// A file argument completes file names.
	if !strings.Contains(string(out), "_files") {
		t.Error("no case completed file names")
	}
}

func TestCompletionFish(t *testing.T) {
	fish := needShell(t, "fish")
	script := completionScript(t, "fish")
	if out, err := exec.Command(fish, "--no-execute", script).CombinedOutput(); err != nil {
		t.Fatalf("fish --no-execute: %v\n%s", err, out)
	}
	var prog strings.Builder
	prog.WriteString("source " + script + "\nfunction keybox; end\n")
	cases := completionCases()
	for _, c := range cases {
		line := "keybox " + strings.Join(c.line, " ")
		prog.WriteString("echo (complete -C '" + line + "' | string split -f1 \\t)\n")
	}
	cmd := exec.Command(fish, "--no-config", "-c", prog.String())
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir(), "XDG_CONFIG_HOME="+t.TempDir(), "XDG_DATA_HOME="+t.TempDir())
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("fish: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	if len(lines) != len(cases) {
		t.Fatalf("fish printed %d lines for %d cases:\n%s", len(lines), len(cases), out)
	}
	for i, c := range cases {
		checkCompletion(t, c, strings.Fields(lines[i]))
	}
}

// TestCompletionNames: every name the scripts embed is a plain word, safe
// unquoted in a shell's case pattern.
func TestCompletionNames(t *testing.T) {
	word := regexp.MustCompile(`^[A-Za-z][A-Za-z0-9-]*$`)
	for _, tp := range completionTree().subs {
		for _, n := range tp.names {
			if !word.MatchString(n) {
				t.Errorf("command name %q", n)
			}
		}
		for _, c := range tp.subs {
			if !word.MatchString(c.names[0]) {
				t.Errorf("%s: command name %q", tp.names[0], c.names[0])
			}
		}
	}
	if code, _, _ := runCLI(t, nil, "completion", "powershell"); code != exitUsage {
		t.Errorf("completion powershell: exit %d, want %d", code, exitUsage)
	}
	if code, out, _ := runCLI(t, nil, "help", "completion"); code != 0 || !strings.Contains(out, "source <(keybox completion bash)") {
		t.Errorf("help completion: exit %d, %q", code, out)
	}
}
