// Package storetest is the conformance suite every keybox.Store passes, and
// the helpers that open a real store of each engine for tests: SQLite in a
// temporary file always, PostgreSQL in a fresh schema (dropped afterwards)
// when KEYBOX_TEST_POSTGRES_URL is set.
package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/keyboxhq/keybox/internal/postgres"
	"github.com/keyboxhq/keybox/internal/sqlite"
	"github.com/keyboxhq/keybox/internal/sqlstore"
)

// PostgresEnv names the variable holding the PostgreSQL test server's URL.
const PostgresEnv = "KEYBOX_TEST_POSTGRES_URL"

// PostgresPool is the connection pool of a PostgreSQL test store: the test
// server is shared by many tests, packages and other tenants, and a pool of
// the production size per test would exhaust it.
const PostgresPool = 4

// Engine opens fresh, migrated stores of one kind.
type Engine struct {
	Name string
	// Open returns an empty store, closed (and dropped) when the test ends.
	Open func(t testing.TB) *sqlstore.Store
	// OpenWith is Open with options (always migrated); PostgreSQL's pool is
	// PostgresPool unless they say otherwise.
	OpenWith func(t testing.TB, opts sqlstore.Options) *sqlstore.Store
	// URL returns the database URL of a fresh empty database, for tests that
	// start the real binary.
	URL func(t testing.TB) string
}

// Engines returns every engine. PostgreSQL's Open and URL skip the test, with
// a message saying why, when KEYBOX_TEST_POSTGRES_URL is not set.
func Engines() []Engine {
	return []Engine{
		{Name: "sqlite", Open: SQLite, OpenWith: SQLiteWith, URL: SQLiteURL},
		{Name: "postgres", Open: Postgres, OpenWith: PostgresWith, URL: PostgresURL},
	}
}

// SQLiteURL returns a sqlite:// URL of a file in a fresh temporary directory.
func SQLiteURL(t testing.TB) string {
	return "sqlite://" + filepath.Join(t.TempDir(), "keybox.db")
}

// SQLite opens a store on a fresh SQLite file.
func SQLite(t testing.TB) *sqlstore.Store {
	t.Helper()
	return SQLiteWith(t, sqlstore.Options{})
}

// SQLiteWith is SQLite with options.
func SQLiteWith(t testing.TB, opts sqlstore.Options) *sqlstore.Store {
	t.Helper()
	path := filepath.Join(t.TempDir(), "keybox.db")
	opts.Migrate = true
	s, err := sqlite.Open(context.Background(), path, opts)
	if err != nil {
		t.Fatalf("open sqlite: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// PostgresURL creates a fresh schema on the test server and returns a URL
// whose connections use it. It skips the test when the server is not
// configured and fails it when the server cannot be reached.
func PostgresURL(t testing.TB) string {
	t.Helper()
	base := os.Getenv(PostgresEnv)
	if base == "" {
		t.Skipf("%s is not set: PostgreSQL tests skipped (set it to a postgres:// URL to run them)", PostgresEnv)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("%s: %v", PostgresEnv, err)
	}
	if err := admin.PingContext(ctx); err != nil {
		_ = admin.Close()
		t.Fatalf("PostgreSQL at %s is unreachable: %v", PostgresEnv, err)
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "keybox_test_" + hex.EncodeToString(b[:])
	if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		_ = admin.Close()
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := admin.ExecContext(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
		_ = admin.Close()
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("%s: %v", PostgresEnv, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// Postgres opens a store in a fresh schema of the test server.
func Postgres(t testing.TB) *sqlstore.Store {
	t.Helper()
	return PostgresWith(t, sqlstore.Options{})
}

// PostgresWith is Postgres with options.
func PostgresWith(t testing.TB, opts sqlstore.Options) *sqlstore.Store {
	t.Helper()
	dsn := PostgresURL(t)
	opts.Migrate = true
	if opts.MaxConns == 0 {
		opts.MaxConns = PostgresPool
	}
	s, err := postgres.Open(context.Background(), dsn, opts)
	if err != nil {
		t.Fatalf("open postgres: %v", err)
	}
	// Registered after the schema's cleanup, so it runs first.
	t.Cleanup(func() { _ = s.Close() })
	return s
}
