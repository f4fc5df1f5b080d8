package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"
	"strings"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// fileHeader opens every SQLite database file.
const fileHeader = "SQLite format 3\x00"

// ErrInUse: another connection, in this process or another (a running
// server), has the database open.
var ErrInUse = errors.New("the database is in use (is a server running on it?)")

// HasHeader reports whether r starts as a SQLite database file does. An empty
// file, which SQLite would take for a new database, does not.
func HasHeader(r io.Reader) (bool, error) {
	b := make([]byte, len(fileHeader))
	if _, err := io.ReadFull(r, b); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return false, nil
		}
		return false, err
	}
	return bytes.Equal(b, []byte(fileHeader)), nil
}

// CheckCopy checks that the file at path is a KeyBox database this binary
// can serve: a SQLite file, whole (SQLite's quick check), holding KeyBox's
// record of applied migrations at a version no newer than this binary's
// newest. It returns that version and changes nothing in the file.
func CheckCopy(ctx context.Context, path string) (int, error) {
	if strings.ContainsAny(path, "?#") {
		return 0, fmt.Errorf("sqlite: path %q must not contain '?' or '#'", path)
	}
	f, err := os.Open(path)
	if err != nil {
		return 0, fmt.Errorf("sqlite: %w", err)
	}
	ok, err := HasHeader(f)
	_ = f.Close()
	if err != nil {
		return 0, fmt.Errorf("sqlite: read %s: %w", path, err)
	}
	if !ok {
		return 0, errors.New("not a SQLite database (its first bytes are not SQLite's header)")
	}
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		return 0, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	var n int
	if err := db.QueryRowContext(ctx,
		`SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'`).Scan(&n); err != nil {
		return 0, fmt.Errorf("the database is damaged or unreadable: %w", err)
	}
	if n == 0 {
		return 0, errors.New("a SQLite database, but not KeyBox's: it has no schema_migrations table")
	}
	var check string
	if err := db.QueryRowContext(ctx, `PRAGMA quick_check`).Scan(&check); err != nil {
		return 0, fmt.Errorf("the database is damaged: %w", err)
	}
	if check != "ok" {
		return 0, fmt.Errorf("the database is damaged (SQLite's quick check: %s)", check)
	}
	var v sql.NullInt64
	if err := db.QueryRowContext(ctx, `SELECT max(version) FROM schema_migrations`).Scan(&v); err != nil {
		return 0, fmt.Errorf("read the schema version: %w", err)
	}
	if !v.Valid {
		return 0, errors.New("a SQLite database, but not a KeyBox one: no migration was ever applied to it")
	}
	newest, err := newestMigration()
	if err != nil {
		return 0, err
	}
	if int(v.Int64) > newest {
		return 0, fmt.Errorf("its schema (version %d) is newer than this keybox binary (version %d): use a newer keybox", v.Int64, newest)
	}
	return int(v.Int64), nil
}

// newestMigration is the highest migration number this binary knows.
func newestMigration() (int, error) {
	names, err := fs.Glob(Migrations(), "*.sql")
	if err != nil {
		return 0, err
	}
	newest := 0
	for _, name := range names {
		num, _, _ := strings.Cut(name, "_")
		v, err := strconv.Atoi(num)
		if err != nil {
			return 0, fmt.Errorf("sqlite: migration %s: not numbered", name)
		}
		newest = max(newest, v)
	}
	return newest, nil
}

// Settle makes the file at path hold the whole database, its write-ahead
// log folded in (rollback-journal mode; a server turns WAL on again when it
// opens it), so that the file alone may be moved or replaced. It fails with
// ErrInUse when any other connection has the database open: in WAL mode
// every open connection holds a shared lock on the file, which the switch
// must take exclusively. A missing file is left missing.
func Settle(ctx context.Context, path string) error {
	if strings.ContainsAny(path, "?#") {
		return fmt.Errorf("sqlite: path %q must not contain '?' or '#'", path)
	}
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return nil
	} else if err != nil {
		return fmt.Errorf("sqlite: %w", err)
	}
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(0)")
	if err != nil {
		return fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	var mode string
	if err := db.QueryRowContext(ctx, `PRAGMA journal_mode = DELETE`).Scan(&mode); err != nil {
		if busy(err) {
			return ErrInUse
		}
		return fmt.Errorf("sqlite: %s: %w", path, err)
	}
	if !strings.EqualFold(mode, "delete") {
		return ErrInUse // the switch was refused: someone else holds the log
	}
	// In rollback mode a reader holds its lock only while it reads: an
	// exclusive transaction tells whether one is reading now.
	if _, err := db.ExecContext(ctx, `BEGIN EXCLUSIVE`); err != nil {
		if busy(err) {
			return ErrInUse
		}
		return fmt.Errorf("sqlite: %s: %w", path, err)
	}
	if _, err := db.ExecContext(ctx, `ROLLBACK`); err != nil {
		return fmt.Errorf("sqlite: %s: %w", path, err)
	}
	return nil
}

func busy(err error) bool {
	var e *sqlite.Error
	if !errors.As(err, &e) {
		return false
	}
	code := e.Code() & 0xff
	return code == sqlite3.SQLITE_BUSY || code == sqlite3.SQLITE_LOCKED
}
