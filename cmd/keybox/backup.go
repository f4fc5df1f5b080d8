package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/keyboxhq/keybox/internal/sqlite"
)

// backupCommand is keybox backup FILE.
var backupCommand = []command{{
	args: "FILE", offline: true,
	help: "Write a consistent copy of the embedded SQLite database (KEYBOX_DATABASE_URL) to FILE\n" +
		"while the server keeps serving. FILE must not exist. For PostgreSQL use pg_dump.",
	setup: func(fs *flag.FlagSet) func(context.Context, *session, []string) error {
		dbURL := fs.String("database-url", "", "sqlite://PATH (KEYBOX_DATABASE_URL)")
		return func(ctx context.Context, s *session, args []string) error {
			u := s.databaseURL(*dbURL)
			engine, path, err := parseDatabaseURL(u)
			if err != nil {
				return fmt.Errorf("KEYBOX_DATABASE_URL: %w", err)
			}
			if engine != "sqlite" {
				return errors.New("backup copies the embedded SQLite database only; for PostgreSQL use pg_dump, e.g. pg_dump --format=custom --file=keybox.dump \"$KEYBOX_DATABASE_URL\"")
			}
			dest := args[0]
			if err := sqlite.Backup(ctx, path, dest); err != nil {
				return err
			}
			st, err := os.Stat(dest)
			if err != nil {
				return err
			}
			out := map[string]any{"database": path, "backup": dest, "bytes": st.Size()}
			return s.emit(out, func(w io.Writer) {
				fmt.Fprintf(w, "Backed up %s to %s (%d bytes).\n", path, dest, st.Size())
			})
		}
	},
}}
