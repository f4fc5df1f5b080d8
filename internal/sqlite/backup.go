package sqlite

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Backup writes a consistent copy of the database at path to dest while
// servers keep reading and writing it: VACUUM INTO reads in one transaction,
// which in WAL mode blocks no writer, so the copy holds exactly the commits
// made before it began. The copy is written beside dest and moved into place
// when complete; dest must not exist. It is readable by its owner alone.
func Backup(ctx context.Context, path, dest string) error {
	for _, p := range []string{path, dest} {
		if strings.ContainsAny(p, "?#") {
			return fmt.Errorf("sqlite: path %q must not contain '?' or '#'", p)
		}
	}
	if st, err := os.Stat(path); err != nil {
		return fmt.Errorf("sqlite: no database at %s: %w", path, err)
	} else if st.IsDir() {
		return fmt.Errorf("sqlite: %s is a directory, not a database", path)
	}
	if _, err := os.Lstat(dest); err == nil {
		return fmt.Errorf("sqlite: %s already exists; choose a new file name", dest)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("sqlite: %w", err)
	}
	var r [6]byte
	if _, err := rand.Read(r[:]); err != nil {
		return fmt.Errorf("sqlite: %w", err)
	}
	tmp := filepath.Join(filepath.Dir(dest), "."+filepath.Base(dest)+".partial-"+hex.EncodeToString(r[:]))
	// The copy is as secret as the database: made 0600 before SQLite writes
	// into it (VACUUM INTO fills an empty file, keeping its mode).
	if err := createOwnerOnly(tmp); err != nil {
		return fmt.Errorf("sqlite: create the backup: %w", err)
	}
	defer os.Remove(tmp)

	// Not query_only: SQLite counts VACUUM INTO as a write, though it writes only dest.
	db, err := sql.Open("sqlite", "file:"+path+"?"+pragmas)
	if err != nil {
		return fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := db.ExecContext(ctx, "VACUUM INTO $1", tmp); err != nil {
		return fmt.Errorf("sqlite: back up %s: %w", path, err)
	}
	if err := syncFile(tmp); err != nil {
		return err
	}
	// A link, unlike a rename, never replaces a file that appeared meanwhile.
	if err := os.Link(tmp, dest); err != nil {
		return fmt.Errorf("sqlite: move the backup into place: %w", err)
	}
	return syncFile(filepath.Dir(dest))
}

// syncFile flushes a file (or a directory's entries) to stable storage.
func syncFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("sqlite: %w", err)
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("sqlite: sync %s: %w", path, err)
	}
	return nil
}
