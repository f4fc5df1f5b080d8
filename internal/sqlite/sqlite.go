// Package sqlite opens KeyBox's embedded store: SQLite through a pure-Go
// driver (no cgo), in WAL mode, with one writer connection and a pool of
// readers.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/keyboxhq/keybox"
	"github.com/keyboxhq/keybox/internal/sqlstore"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Migrations returns the engine's numbered migrations.
func Migrations() fs.FS {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		panic(err) // the embedded directory is fixed at build time
	}
	return sub
}

// pragmas apply to every connection. synchronous=FULL: a commit the server
// acknowledged survives a power cut, not only a crash; writes are rare here.
const pragmas = "_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=foreign_keys(1)"

// Open opens (creating if needed) the database file at path and its directory.
func Open(ctx context.Context, path string, opts sqlstore.Options) (*sqlstore.Store, error) {
	if path == "" {
		return nil, errors.New("sqlite: empty database path")
	}
	if strings.ContainsAny(path, "?#") {
		return nil, fmt.Errorf("sqlite: database path %q must not contain '?' or '#'", path)
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("sqlite: create data directory: %w", err)
		}
	}
	if err := createOwnerOnly(path); err != nil && !errors.Is(err, fs.ErrExist) {
		return nil, fmt.Errorf("sqlite: create database: %w", err)
	}
	// cache_size(-16384): the writer keeps up to 16 MB of pages instead of
	// 2 MB, so that the pages a write touches (the license, its seats, the
	// owner's last event, the indexes) are mostly at hand instead of read
	// with a system call each; one connection, so the cost is bounded.
	// The savepoints' sub-journals stay in temporary files: kept in memory
	// (temp_store), a statement that fires a trigger inside a savepoint
	// truncated a journal that grows with the transaction, so a transaction
	// of many such writes (an import) took time quadratic in its size.
	write, err := sql.Open("sqlite", "file:"+path+"?"+pragmas+"&_pragma=cache_size(-16384)&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("sqlite: open: %w", err)
	}
	// One writer: SQLite allows one at a time, and queueing in the pool is
	// cheaper and fairer than retrying on SQLITE_BUSY.
	write.SetMaxOpenConns(1)
	write.SetMaxIdleConns(1)
	write.SetConnMaxLifetime(0)
	if err := connect(ctx, write); err != nil {
		_ = write.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	// The readers read pages with a system call each. A memory map
	// (mmap_size) doubled the point reads a second of /validate's misses
	// (100,000 licenses, 4 readers: 13–19k reads/s without, 29–37k with
	// 256 MB), and a larger page cache per connection did not help; but
	// the mapped pages a server touches count in its RSS, up to the map's
	// size, on top of the validation cache that KEYBOX_CACHE_SIZE bounds.
	// With the cache keeping unchanged licenses, misses are first reads,
	// so the map is left off.
	read, err := sql.Open("sqlite", "file:"+path+"?"+pragmas+"&_pragma=query_only(1)")
	if err != nil {
		_ = write.Close()
		return nil, fmt.Errorf("sqlite: open: %w", err)
	}
	readers := max(4, 2*runtime.GOMAXPROCS(0))
	read.SetMaxOpenConns(readers)
	read.SetMaxIdleConns(readers)
	read.SetConnMaxLifetime(0)
	s, err := sqlstore.New(ctx, read, write, Dialect(), Migrations(), opts)
	if err != nil {
		_ = read.Close()
		_ = write.Close()
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	return s, nil
}

// connect makes db's first connection, which applies the pragmas. Turning a
// new database to WAL needs it to itself for a moment: when several
// processes open one new file at once, SQLite answers the others
// SQLITE_BUSY at once instead of waiting out busy_timeout, so they try
// again, for as long as that timeout.
func connect(ctx context.Context, db *sql.DB) error {
	deadline := time.Now().Add(5 * time.Second)
	for wait := 5 * time.Millisecond; ; wait = min(2*wait, 200*time.Millisecond) {
		err := db.PingContext(ctx)
		var e *sqlite.Error
		if err == nil || !errors.As(err, &e) || e.Code()&0xff != sqlite3.SQLITE_BUSY || time.Now().After(deadline) {
			return err
		}
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return err
		}
	}
}

// Dialect describes SQLite to the shared store: its transactions begin
// IMMEDIATE on the single writer, so they are already serialised and need
// neither row locks nor advisory locks; and since each commit waits for the
// disk (synchronous=FULL), concurrent writes share commits (group commit).
func Dialect() sqlstore.Dialect {
	return sqlstore.Dialect{Name: "sqlite", Classify: classify, GroupCommit: true}
}

func classify(err error) error {
	var e *sqlite.Error
	if !errors.As(err, &e) {
		return err
	}
	switch e.Code() {
	case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
		return fmt.Errorf("%w (%v)", keybox.ErrDuplicate, err)
	case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
		return fmt.Errorf("%w (%v)", keybox.ErrInUse, err)
	}
	return err
}

// createOwnerOnly creates an empty file at path that only its owner may read
// and write (0600), whatever the umask and the directory's mode, or fails
// with fs.ErrExist. The database holds password hashes and signing keys:
// creating its file before SQLite does is what keeps it private, and the
// -wal and -shm files, which SQLite creates with the database file's
// mode, private too. (SQLite on its own creates files 0644 less the umask;
// an empty file is a new database to it.)
func createOwnerOnly(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	// The umask may have taken the owner's own bits away.
	if err := f.Chmod(0o600); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}
