package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

const usage = `keybox — a self-hosted software licensing server

Usage:
  keybox serve [flags]      run the HTTP server (see "keybox serve -h")
  keybox migrate [flags]    apply database migrations and exit
  keybox backup FILE        copy the embedded (SQLite) database while it serves
  keybox user create        create an account directly in the database (--admin)
  keybox keys list|rotate   the signing keys of offline licensing, in the database
  keybox import keybox DIR  load a KeyBox (MongoDB) export into the database
  keybox audit verify       check the event log's hash chains in the database
  keybox version            print the version and source revision of this build
  keybox healthcheck        exit 0 when the local server answers /healthz (for containers)

Talking to a server (KEYBOX_SERVER or --server; --output table|json):
  keybox login              log in; the token is kept in your config directory
  keybox logout | whoami | password
  keybox refresh            renew the login token before it expires
  keybox logout-all         end every login token of your account, everywhere
  keybox clients            list, get, create, update, delete
  keybox projects           list, get, create, createProject, rename, delete
  keybox licenses           list, get, create, revoke, renew, update, free-seat
  keybox users              list, get, update, delete
  keybox dashboard | stats
  keybox events             your event log (--type, --subject, --since)
  keybox webhooks           list, get, create, update, delete, deliveries, test
  keybox verify FILE        verify an offline license file

Run "keybox COMMAND -h" for a command's flags. Configuration comes from the
environment (KEYBOX_*, PORT); flags override it.
`

// run is the whole program; main only calls it. It returns the exit code.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	return runIO(ctx, args, cli{getenv: getenv, stdin: os.Stdin, stdout: stdout, stderr: stderr})
}

// runIO is run with every standard stream given, so that tests can type.
func runIO(ctx context.Context, args []string, c cli) int {
	getenv, stdout, stderr := c.getenv, c.stdout, c.stderr
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
	case "backup":
		err = c.group(ctx, "backup", backupCommand, rest)
	case "login":
		err = c.group(ctx, "login", loginCommand, rest)
	case "logout":
		err = c.group(ctx, "logout", logoutCommand, rest)
	case "refresh":
		err = c.group(ctx, "refresh", refreshCommand, rest)
	case "logout-all":
		err = c.group(ctx, "logout-all", logoutAllCommand, rest)
	case "whoami":
		err = c.group(ctx, "whoami", whoamiCommand, rest)
	case "password":
		err = c.group(ctx, "password", passwordCommand, rest)
	case "clients", "client":
		err = c.group(ctx, "clients", clientCommands, rest)
	case "projects", "project":
		err = c.group(ctx, "projects", projectCommands, rest)
	case "licenses", "license":
		err = c.group(ctx, "licenses", licenseCommands, rest)
	case "users", "user":
		err = c.group(ctx, "users", userCommands, rest)
	case "dashboard":
		err = c.group(ctx, "dashboard", dashboardCommand, rest)
	case "stats":
		err = c.group(ctx, "stats", statsCommand, rest)
	case "keys":
		err = c.group(ctx, "keys", keyCommands, rest)
	case "import":
		err = c.group(ctx, "import", importCommands, rest)
	case "verify":
		err = c.group(ctx, "verify", verifyCommand, rest)
	case "events":
		err = c.group(ctx, "events", eventsCommand, rest)
	case "webhooks", "webhook":
		err = c.group(ctx, "webhooks", webhookCommands, rest)
	case "audit":
		err = c.group(ctx, "audit", auditCommands, rest)
	case "version", "--version", "-version":
		err = c.group(ctx, "version", versionCommand, rest)
	case "healthcheck":
		err = c.group(ctx, "healthcheck", healthcheckCommand, rest)
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
		for _, line := range strings.Split(describe(err), "\n") {
			fmt.Fprintln(stderr, "keybox:", line)
		}
		var u usageError
		if errors.As(err, &u) {
			return 2
		}
		return 1
	}
	return 0
}
