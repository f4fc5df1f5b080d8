package sqlite_test

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keyboxhq/keybox/internal/sqlite"
	"github.com/keyboxhq/keybox/internal/sqlstore"
)

// TestSettleRefusesADatabaseInUse: while a store has the database open,
// Settle says it is in use and leaves it alone; once the store is closed, it
// folds the log into the file, which then holds the whole database.
func TestSettleRefusesADatabaseInUse(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "keybox.db")
	s, err := sqlite.Open(ctx, path, sqlstore.Options{Migrate: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := sqlite.Settle(ctx, path); !errors.Is(err, sqlite.ErrInUse) {
		t.Fatalf("with a store open: got %v, want ErrInUse", err)
	}
	if _, err := s.SchemaVersion(ctx); err != nil {
		t.Fatalf("the store after the refused settle: %v", err)
	}
	s.Close()
	if err := sqlite.Settle(ctx, path); err != nil {
		t.Fatalf("with nothing open: %v", err)
	}
	if _, err := os.Stat(path + "-wal"); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the log is still beside the settled database: %v", err)
	}
	if _, err := sqlite.CheckCopy(ctx, path); err != nil {
		t.Fatalf("the settled database: %v", err)
	}
	if err := sqlite.Settle(ctx, filepath.Join(t.TempDir(), "missing.db")); err != nil {
		t.Fatalf("a missing database: %v", err)
	}
}

// TestCheckCopyRefusesWhatIsNotKeyBox: a file is a KeyBox database only with
// SQLite's header and KeyBox's record of migrations, none newer than this
// binary's.
func TestCheckCopyRefusesWhatIsNotKeyBox(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	good := filepath.Join(dir, "keybox.db")
	s, err := sqlite.Open(ctx, good, sqlstore.Options{Migrate: true})
	if err != nil {
		t.Fatal(err)
	}
	want, err := s.SchemaVersion(ctx)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if v, err := sqlite.CheckCopy(ctx, good); err != nil || v != want {
		t.Fatalf("a KeyBox database: got %d, %v; want %d", v, err, want)
	}

	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	other := filepath.Join(dir, "other.db")
	db, err := sql.Open("sqlite", "file:"+other)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`CREATE TABLE notes (body TEXT)`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	newer := filepath.Join(dir, "newer.db")
	copyFile(t, good, newer)
	db, err = sql.Open("sqlite", "file:"+newer)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, '0999_future.sql', 0)`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	damaged := filepath.Join(dir, "damaged.db")
	copyFile(t, good, damaged)
	b, err := os.ReadFile(damaged)
	if err != nil {
		t.Fatal(err)
	}
	for i := 4096; i < len(b); i++ { // every page after the first
		b[i] = 0xAA
	}
	if err := os.WriteFile(damaged, b, 0o600); err != nil {
		t.Fatal(err)
	}

	for _, c := range []struct {
		name, path, want string
	}{
		{"empty", write("empty.db", ""), "not a SQLite database"},
		{"text", write("notes.txt", "SQLite format 3 is what this file talks about, not what it is"), "not a SQLite database"},
		{"another application's", other, "not KeyBox's: it has no schema_migrations table"},
		{"newer", newer, "newer than this keybox binary"},
		{"damaged", damaged, "damaged"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if _, err := sqlite.CheckCopy(ctx, c.path); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want an error saying %q", err, c.want)
			}
		})
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
}
