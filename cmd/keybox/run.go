package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"

	"github.com/keyboxhq/keybox/client"
)

// Exit codes, for scripts: keybox help lists them, and so does the README.
const (
	exitOK = 0
	// exitFailed: the server refused the request (a 4xx answer other than
	// 401), or a local step failed (a file, the database).
	exitFailed = 1
	// exitUsage: the command line cannot be run as typed.
	exitUsage = 2
	// exitUnreachable: no answer from the server (refused, unknown host,
	// timed out, TLS failed) or an answer saying it failed (5xx); also a
	// database command's PostgreSQL server out of reach. Trying again later
	// may succeed.
	exitUnreachable = 3
	// exitUnauthorized: not logged in, or the login is no longer valid (401).
	exitUnauthorized = 4
)

// run is the whole program; main only calls it. It returns the exit code.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	return runIO(ctx, args, cli{getenv: getenv, stdin: os.Stdin, stdout: stdout, stderr: stderr})
}

// runIO is run with every standard stream given, so that tests can type.
func runIO(ctx context.Context, args []string, c cli) int {
	args, err := c.globalFlags(args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(c.stdout, usage())
		return exitOK
	}
	if err == nil && len(args) == 0 {
		fmt.Fprint(c.stderr, usage())
		return exitUsage
	}
	if err == nil {
		t, ok := findTopic(args[0])
		if !ok {
			fmt.Fprintf(c.stderr, "keybox: unknown command %q\n\n%s", args[0], usage())
			return exitUsage
		}
		err = t.run(ctx, c, args[1:])
	}
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		for _, line := range strings.Split(describe(err), "\n") {
			fmt.Fprintln(c.stderr, "keybox:", line)
		}
	}
	return exitCode(err)
}

// globalFlags reads the flags given before the command (keybox -o json
// clients list), which every command takes as its defaults.
func (c *cli) globalFlags(args []string) ([]string, error) {
	fs := flag.NewFlagSet("keybox", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	fs.StringVar(&c.server, "server", "", "")
	fs.StringVar(&c.output, "output", "", "")
	fs.StringVar(&c.output, "o", "", "")
	showVersion := fs.Bool("version", false, "")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, err
		}
		return nil, usageError(fmt.Sprintf("%v before the command; keybox takes --server and -o/--output there (see keybox help)", err))
	}
	if *showVersion {
		return append([]string{"version"}, fs.Args()...), nil
	}
	return fs.Args(), nil
}

// run runs the topic with the arguments after its name.
func (t topic) run(ctx context.Context, c cli, args []string) error {
	if t.raw == nil {
		return c.group(ctx, t, args)
	}
	if c.server != "" || c.output != "" {
		return usageError(fmt.Sprintf("keybox %s takes neither --server nor --output", t.name))
	}
	err := t.raw(ctx, c, args)
	if errors.Is(err, flag.ErrHelp) {
		t.help(c.stdout)
	}
	return err
}

// exitCode is the exit code that tells a script what became of the command.
func exitCode(err error) int {
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	var u usageError
	if errors.As(err, &u) {
		return exitUsage
	}
	var e *client.APIError
	if errors.As(err, &e) {
		switch {
		case e.Status == http.StatusUnauthorized:
			return exitUnauthorized
		case e.Status >= 500:
			return exitUnreachable
		}
		return exitFailed
	}
	if unreachable(err) {
		return exitUnreachable
	}
	return exitFailed
}

// noAnswer is a request that got no answer at all: the connection was
// refused or broken, the host unknown, TLS failed, or time ran out.
type noAnswer struct{ err error }

func (n *noAnswer) Error() string { return n.err.Error() }
func (n *noAnswer) Unwrap() error { return n.err }

// markNoAnswer is the command line's HTTP transport: it marks the failures
// of requests that got no answer, so that they are told from the server's own
// refusals.
type markNoAnswer struct{ next http.RoundTripper }

func (m markNoAnswer) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := m.next.RoundTrip(r)
	if err != nil {
		return nil, &noAnswer{err}
	}
	return resp, nil
}

// unreachable reports whether err says a server could not be reached: the
// KeyBox server, or the PostgreSQL server of a database command.
func unreachable(err error) bool {
	if errors.Is(err, context.Canceled) {
		return false // interrupted
	}
	var na *noAnswer
	var op *net.OpError
	var dns *net.DNSError
	var ne net.Error
	return errors.As(err, &na) || errors.As(err, &op) || errors.As(err, &dns) || (errors.As(err, &ne) && ne.Timeout())
}
