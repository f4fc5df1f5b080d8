package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"

	"github.com/keyboxhq/keybox/internal/licensing"
)

// importCommands are keybox import …: another installation's data, loaded
// into the database itself.
var importCommands = []command{{
	name: "keybox", args: "DIR", offline: true,
	help: "Load a KeyBox installation (Node and MongoDB) into the database (KEYBOX_DATABASE_URL)\n" +
		"from its MongoDB export in DIR: users.json, clients.json, projects.json and licenses.json,\n" +
		"as written by mongoexport --jsonArray --collection=NAME --out=DIR/NAME.json. Ids, keys,\n" +
		"statuses, dates, passwords, seats and Google ids are kept. Running it again changes\n" +
		"nothing; a bad record stops it, naming the file and the record, and nothing is loaded.",
	setup: func(fs *flag.FlagSet) func(context.Context, *session, []string) error {
		dbURL := fs.String("database-url", "", "sqlite://PATH or postgres://… (KEYBOX_DATABASE_URL)")
		dryRun := fs.Bool("dry-run", false, "check and count everything, then load nothing")
		return func(ctx context.Context, s *session, args []string) error {
			dir := args[0]
			if st, err := os.Stat(dir); err != nil {
				return err
			} else if !st.IsDir() {
				return fmt.Errorf("%s is not a directory", dir)
			}
			svc, closeDB, err := offlineService(ctx, s.databaseURL(*dbURL), nil)
			if err != nil {
				return err
			}
			defer closeDB()
			sum, err := svc.ImportKeyBox(ctx, os.DirFS(dir), licensing.ImportOptions{DryRun: *dryRun})
			var ie *licensing.ImportError
			if errors.As(err, &ie) {
				return fmt.Errorf("%s: nothing was imported", ie)
			}
			if err != nil {
				return err
			}
			return s.emit(sum, func(w io.Writer) { importTable(w, dir, sum) })
		}
	},
}}

func importTable(w io.Writer, dir string, sum licensing.ImportSummary) {
	if sum.DryRun {
		fmt.Fprintf(w, "Checked the KeyBox export in %s: it would load as below (dry run: nothing was stored).\n", dir)
	} else {
		fmt.Fprintf(w, "Imported the KeyBox export in %s.\n", dir)
	}
	row(w, "", "IMPORTED", "ALREADY PRESENT")
	counts := []struct {
		what string
		n    licensing.ImportCount
	}{
		{"users", sum.Users}, {"google sign-ins", sum.Identities}, {"clients", sum.Clients},
		{"projects", sum.Projects}, {"licenses", sum.Licenses}, {"seats", sum.Seats},
	}
	for _, c := range counts {
		row(w, c.what, strconv.Itoa(c.n.Imported), strconv.Itoa(c.n.Present))
	}
	if len(sum.Placeholders) > 0 {
		fmt.Fprintln(w, "\nClients without an email in KeyBox, given a placeholder address (change it with keybox clients update):")
		for _, p := range sum.Placeholders {
			row(w, "  "+p.ClientID, p.Name, p.Email)
		}
	}
	if len(sum.Notes) > 0 {
		fmt.Fprintln(w, "\nNotes:")
		for _, n := range sum.Notes {
			fmt.Fprintln(w, "  "+n)
		}
	}
}
