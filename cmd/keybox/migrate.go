package main

import (
	"context"
	"flag"
	"fmt"
	"io"
)

// migrateCommand is keybox migrate: the server applies its migrations at
// start too, and refuses a database whose schema is newer than itself.
var migrateCommand = []command{{
	offline: true,
	help: "Apply the database migrations (KEYBOX_DATABASE_URL) and exit, printing the schema version. " +
		"Servers started together on one fresh database wait for each other: one applies each migration.",
	setup: func(fs *flag.FlagSet) func(context.Context, *session, []string) error {
		dbURL := fs.String("database-url", "", "sqlite://PATH or postgres://… (KEYBOX_DATABASE_URL)")
		return func(ctx context.Context, s *session, _ []string) error {
			url := s.databaseURL(*dbURL)
			if _, _, err := parseDatabaseURL(url); err != nil {
				return fmt.Errorf("KEYBOX_DATABASE_URL: %w", err)
			}
			store, err := openStore(ctx, url)
			if err != nil {
				return err
			}
			defer store.Close()
			v, err := store.SchemaVersion(ctx)
			if err != nil {
				return err
			}
			return s.emit(map[string]int{"version": v}, func(w io.Writer) {
				fmt.Fprintf(w, "database schema is at version %d\n", v)
			})
		}
	},
}}
