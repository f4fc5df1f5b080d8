package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

const usage = `keybox — a self-hosted software licensing server

Usage:
  keybox serve [flags]      run the HTTP server (see "keybox serve -h")
  keybox migrate [flags]    apply database migrations and exit
  keybox version            print the version

Configuration comes from the environment (KEYBOX_*, PORT); flags override it.
`

// run is the whole program; main only calls it. It returns the exit code.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch cmd, rest := args[0], args[1:]; cmd {
	case "serve":
		err = serve(ctx, rest, getenv, stdout, stderr)
	case "migrate":
		err = migrate(ctx, rest, getenv, stdout, stderr)
	case "version", "--version", "-version":
		fmt.Fprintln(stdout, "keybox", version)
	case "help", "-h", "--help", "-help":
		fmt.Fprint(stdout, usage)
	default:
		fmt.Fprintf(stderr, "keybox: unknown command %q\n\n%s", cmd, usage)
		return 2
	}
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		for _, line := range strings.Split(err.Error(), "\n") {
			fmt.Fprintln(stderr, "keybox:", line)
		}
		return 1
	}
	return 0
}
