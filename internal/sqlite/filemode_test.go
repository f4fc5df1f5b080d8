//go:build unix

package sqlite_test

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/keyboxhq/keybox/internal/sqlite"
	"github.com/keyboxhq/keybox/internal/sqlstore"
)

// permissive makes files as open as a careless setup would: no umask, in a
// directory anyone may read. It lasts until the test ends.
func permissive(t *testing.T) string {
	t.Helper()
	old := syscall.Umask(0)
	t.Cleanup(func() { syscall.Umask(old) })
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	return dir
}

func wantMode(t *testing.T, path string, want os.FileMode) {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := st.Mode().Perm(); got != want {
		t.Errorf("%s: mode %v, want %v", filepath.Base(path), got, want)
	}
}

// TestDatabaseFilesOwnerOnly: the database, its -wal and -shm files and a
// backup are readable by their owner alone, with no umask to help.
func TestDatabaseFilesOwnerOnly(t *testing.T) {
	dir := permissive(t)
	db := filepath.Join(dir, "keybox.db")
	ctx := context.Background()
	s, err := sqlite.Open(ctx, db, sqlstore.Options{Migrate: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, p := range []string{db, db + "-wal", db + "-shm"} {
		wantMode(t, p, 0o600)
	}
	backup := filepath.Join(dir, "backup.db")
	if err := sqlite.Backup(ctx, db, backup); err != nil {
		t.Fatal(err)
	}
	wantMode(t, backup, 0o600)
}
