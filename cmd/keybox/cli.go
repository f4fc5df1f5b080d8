package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/keyboxhq/keybox"
	"github.com/keyboxhq/keybox/client"
	"github.com/keyboxhq/keybox/internal/buildinfo"
)

// cli is what a command may use of the outside world.
type cli struct {
	getenv func(string) string
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	// server and output are the global flags given before the command
	// (keybox -o json clients list): its own flags' defaults.
	server, output string
}

// usageError is a command line that cannot be run as typed (exit code 2).
type usageError string

func (u usageError) Error() string { return string(u) }

// command is one subcommand of a group, such as "clients get".
type command struct {
	name string // "" when the group is itself the command (keybox whoami)
	args string // positional arguments, for the usage line: "ID", "KEY ACTIVATION_ID"
	// help says what the command does; its first sentence is its summary
	// in lists.
	help string
	// offline commands work on the database, not through a server.
	offline bool
	// setup registers the command's flags and returns what runs it. It does
	// nothing else: help and completion call it to learn the flags.
	setup func(fs *flag.FlagSet) func(ctx context.Context, s *session, args []string) error
}

// session is a command's connection to a server and its output.
type session struct {
	cli
	api    *client.Client
	http   *http.Client
	server string
	json   bool
	// name is the command's, as typed: "keybox clients list".
	name string
	// kept is the kept login whose token the session sends, nil when the
	// token comes from KEYBOX_TOKEN or there is none.
	kept *credentials
	// apiToken is set when KEYBOX_TOKEN holds an API token (kbx_…) rather
	// than a login token: it is never refreshed, and its refusals say so.
	apiToken bool
}

const defaultServer = "http://localhost:5000"

// group runs one command of a topic.
func (c cli) group(ctx context.Context, t topic, args []string) error {
	cmd, name, args, err := pick(t.name, t.cmds, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(c.stdout, groupUsage(t))
		}
		return err
	}
	short := strings.TrimPrefix(name, "keybox ")
	if cmd.offline && c.server != "" {
		return usageError(fmt.Sprintf("%s works on the database, not through a server: --server does not apply (see %s -h)", short, name))
	}
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	runCmd := cmd.setup(fs)
	server, output := c.server, firstOf(c.output, "table")
	globalFlags(fs, cmd, &server, &output)
	pos, err := parseArgs(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		commandHelp(c.stdout, name, cmd)
		return err
	}
	if err != nil {
		return usageError(fmt.Sprintf("%s: %v (see %s -h)", short, err, name))
	}
	if want := len(strings.Fields(cmd.args)); len(pos) != want {
		if want == 0 {
			return usageError(fmt.Sprintf("%s takes no arguments, got %q", short, strings.Join(pos, " ")))
		}
		return usageError(fmt.Sprintf("usage: %s %s [flags]", name, cmd.args))
	}
	if output != "table" && output != "json" {
		return usageError(fmt.Sprintf("%s: --output %q must be table or json", short, output))
	}
	s := &session{cli: c, json: output == "json", name: name}
	if !cmd.offline {
		if err := s.connect(server); err != nil {
			return err
		}
	}
	if err := runCmd(ctx, s, pos); err != nil {
		return s.explain(err)
	}
	return nil
}

// globalFlags registers the flags every command takes (after its own, so
// that a command's flag of the same name would win).
func globalFlags(fs *flag.FlagSet, cmd command, server, output *string) {
	if !cmd.offline && fs.Lookup("server") == nil {
		fs.StringVar(server, "server", *server, "KeyBox server URL (KEYBOX_SERVER; default: the one you logged in to, else "+defaultServer+")")
	}
	fs.StringVar(output, "output", *output, "output format: table or json")
	fs.StringVar(output, "o", *output, "short for --output")
}

// explain adds what a user can do about an error.
func (s *session) explain(err error) error {
	var e *client.APIError
	switch {
	case s.api != nil && unreachable(err) && !errors.As(err, &e):
		return fmt.Errorf("cannot reach KeyBox at %s (%w); check --server or KEYBOX_SERVER", s.server, causeOf(err))
	case errors.As(err, &e) && e.Status == http.StatusUnauthorized && s.apiToken:
		return fmt.Errorf("%w; the API token in KEYBOX_TOKEN is unknown, expired or revoked", err)
	case errors.As(err, &e) && e.Status == http.StatusForbidden && s.apiToken && e.Message == "Token scope does not allow this":
		return fmt.Errorf("%w; KEYBOX_TOKEN holds an API token: changes need one of write scope, and account and token commands a login (unset KEYBOX_TOKEN, keybox login)", err)
	case errors.As(err, &e) && e.Status == http.StatusUnauthorized && s.name != "keybox login":
		return fmt.Errorf("%w; run keybox login", err)
	case errors.As(err, &e) && e.Status >= 500:
		return fmt.Errorf("%w; the server could not do it: try again later", err)
	}
	return err
}

// causeOf is the innermost reason a request got no answer.
func causeOf(err error) error {
	var na *noAnswer
	if errors.As(err, &na) {
		return na.err
	}
	return err
}

// pick finds the subcommand args name.
func pick(group string, cmds []command, args []string) (command, string, []string, error) {
	if len(cmds) == 1 && cmds[0].name == "" {
		return cmds[0], "keybox " + group, args, nil
	}
	if len(args) == 0 {
		return command{}, "", nil, usageError(fmt.Sprintf("%s: which command? One of %s (see keybox %s -h)", group, names(cmds), group))
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		return command{}, "", nil, flag.ErrHelp
	}
	for _, c := range cmds {
		if c.name == args[0] {
			return c, "keybox " + group + " " + c.name, args[1:], nil
		}
	}
	return command{}, "", nil, usageError(fmt.Sprintf("%s: unknown command %q; use one of %s", group, args[0], names(cmds)))
}

func names(cmds []command) string {
	var n []string
	for _, c := range cmds {
		n = append(n, c.name)
	}
	return strings.Join(n, ", ")
}

// parseArgs parses flags wherever they stand among the arguments (keybox
// licenses get KEY -o json) and returns the positional ones.
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if consumed := len(args) - len(rest); consumed > 0 && args[consumed-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// connect makes the session's API client: the server from --server,
// KEYBOX_SERVER, the last login, or the default; the token from
// KEYBOX_TOKEN or the last login, which is sent only to the server it came from.
func (s *session) connect(flagServer string) error {
	creds, err := s.loadCredentials()
	if err != nil {
		return err
	}
	s.server = firstOf(flagServer, strings.TrimSpace(s.getenv("KEYBOX_SERVER")), creds.Server, defaultServer)
	s.server = strings.TrimSuffix(s.server, "/")
	token := strings.TrimSpace(s.getenv("KEYBOX_TOKEN"))
	s.apiToken = strings.HasPrefix(token, keybox.APITokenPrefix)
	if token == "" && creds.Server == s.server && creds.Token != "" {
		token, s.kept = creds.Token, &creds
	}
	s.http = &http.Client{Timeout: client.DefaultTimeout, Transport: markNoAnswer{http.DefaultTransport}}
	s.api, err = client.New(s.server, client.Options{Token: token, UserAgent: userAgent(), HTTPClient: s.http})
	if err != nil {
		return usageError(fmt.Sprintf("--server %q: %v", s.server, err))
	}
	return nil
}

// userAgent is what the command line sends as User-Agent.
func userAgent() string { return "keybox-cli/" + buildinfo.Get().Version }

func firstOf(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}

// describe turns an error into the line printed after "keybox: ".
func describe(err error) string {
	var e *client.APIError
	var rule *keybox.Error
	switch {
	case errors.As(err, &rule) && rule.Code != keybox.Internal:
		return rule.Message // a licensing rule's sentence, without its code
	case errors.As(err, &e) && strings.Contains(e.Message, "?cascade=true"):
		return e.Error() + "; use --cascade"
	}
	return err.Error()
}

// emit prints v as indented JSON, or as the table that table writes.
func (s *session) emit(v any, table func(w io.Writer)) error {
	if s.json {
		enc := json.NewEncoder(s.stdout)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	tw := tabwriter.NewWriter(s.stdout, 0, 0, 2, ' ', 0)
	table(tw)
	return tw.Flush()
}

// say prints a confirmation: the message alone in a table, {"message"} in JSON.
func (s *session) say(message string) error {
	return s.emit(client.Message{Message: message}, func(w io.Writer) { fmt.Fprintln(w, message) })
}

// row writes one tab-separated table row.
func row(w io.Writer, cols ...string) { fmt.Fprintln(w, strings.Join(cols, "\t")) }

// fields writes name/value pairs, one per line.
func fields(w io.Writer, pairs ...string) {
	for i := 0; i+1 < len(pairs); i += 2 {
		row(w, pairs[i]+":", pairs[i+1])
	}
}

// when shows a time in UTC to the minute; "-" for none.
func when(t keybox.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04")
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func services(ss []keybox.Service) string {
	var out []string
	for _, s := range ss {
		out = append(out, string(s))
	}
	return strings.Join(out, ",")
}

// intFlag is a number flag that knows whether it was given.
type intFlag struct {
	set   bool
	value int
}

func (f *intFlag) String() string { return fmt.Sprint(f.value) }

func (f *intFlag) Set(s string) error {
	var n int
	if _, err := fmt.Sscan(s, &n); err != nil {
		return fmt.Errorf("%q is not a whole number", s)
	}
	f.set, f.value = true, n
	return nil
}

func (f *intFlag) ptr() *int {
	if !f.set {
		return nil
	}
	return &f.value
}

// boolFlag is a boolean flag that knows whether it was given
// (--require-machine-id, or --require-machine-id=false).
type boolFlag struct {
	set   bool
	value bool
}

func (f *boolFlag) String() string { return fmt.Sprint(f.value) }

func (f *boolFlag) IsBoolFlag() bool { return true }

func (f *boolFlag) Set(s string) error {
	v, err := strconv.ParseBool(s)
	if err != nil {
		return fmt.Errorf("%q is not true or false", s)
	}
	f.set, f.value = true, v
	return nil
}

func (f *boolFlag) ptr() *bool {
	if !f.set {
		return nil
	}
	return &f.value
}

// stringFlag is a string flag that knows whether it was given (to tell
// an empty --name from no --name at all).
type stringFlag struct {
	set   bool
	value string
}

func (f *stringFlag) String() string { return f.value }

func (f *stringFlag) Set(s string) error {
	f.set, f.value = true, s
	return nil
}

func (f *stringFlag) ptr() *string {
	if !f.set {
		return nil
	}
	return &f.value
}

// parseServices reads --services Hosting,Domain.
func parseServices(s string) []keybox.Service {
	var out []keybox.Service
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, keybox.Service(p))
		}
	}
	return out
}
