package sqlstore_test

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/keyboxhq/keybox/internal/postgres"
	"github.com/keyboxhq/keybox/internal/sqlite"
	"github.com/keyboxhq/keybox/internal/sqlstore"
	"github.com/keyboxhq/keybox/internal/storetest"
)

// replicas is how many servers start at once in the tests below.
const replicas = 8

// startTogether calls open replicas times at the same instant, as servers
// started together by an orchestrator do, and returns every error.
func startTogether(t *testing.T, open func() (*sqlstore.Store, error)) []error {
	t.Helper()
	var (
		ready, done sync.WaitGroup
		mu          sync.Mutex
		errs        []error
	)
	gate := make(chan struct{})
	for range replicas {
		ready.Add(1)
		done.Go(func() {
			ready.Done()
			<-gate
			s, err := open()
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
				return
			}
			t.Cleanup(func() { _ = s.Close() })
		})
	}
	ready.Wait()
	close(gate)
	done.Wait()
	return errs
}

// recorded returns the names in schema_migrations, in version order.
func recorded(t *testing.T, db *sql.DB) []string {
	t.Helper()
	rows, err := db.Query(`SELECT name FROM schema_migrations ORDER BY version`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	got := []string{}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		got = append(got, name)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return got
}

func fileNames(t *testing.T, fsys fs.FS) []string {
	t.Helper()
	names, err := fs.Glob(fsys, "*.sql")
	if err != nil || len(names) == 0 {
		t.Fatalf("no migrations: %v", err)
	}
	return names
}

// TestReplicasStartTogether: eight servers started at once on one fresh
// database all start, and each migration is applied once.
func TestReplicasStartTogether(t *testing.T) {
	t.Run("postgres", func(t *testing.T) {
		url := storetest.PostgresURL(t)
		errs := startTogether(t, func() (*sqlstore.Store, error) {
			return postgres.Open(context.Background(), url, sqlstore.Options{Migrate: true, MaxConns: 2})
		})
		if len(errs) > 0 {
			t.Fatalf("%d of %d servers failed to start, first: %v", len(errs), replicas, errs[0])
		}
		db := pgDB(t, url)
		if got, want := recorded(t, db), fileNames(t, postgres.Migrations()); !reflect.DeepEqual(got, want) {
			t.Fatalf("schema_migrations holds %v, want %v", got, want)
		}
	})
	t.Run("sqlite", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "keybox.db")
		errs := startTogether(t, func() (*sqlstore.Store, error) {
			return sqlite.Open(context.Background(), path, sqlstore.Options{Migrate: true})
		})
		if len(errs) > 0 {
			t.Fatalf("%d of %d servers failed to start, first: %v", len(errs), replicas, errs[0])
		}
		db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(5000)")
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if got, want := recorded(t, db), fileNames(t, sqlite.Migrations()); !reflect.DeepEqual(got, want) {
			t.Fatalf("schema_migrations holds %v, want %v", got, want)
		}
	})
}

// TestReplicasApplyEveryMigrationOnce: with more migrations than today's,
// numbered with gaps (as branches that each take a number leave them), and
// each one failing if applied twice, servers started together apply each
// exactly once, in order.
func TestReplicasApplyEveryMigrationOnce(t *testing.T) {
	url := storetest.PostgresURL(t)
	files := fstest.MapFS{
		"0001_log.sql": {Data: []byte(`CREATE TABLE applied (n INTEGER PRIMARY KEY); INSERT INTO applied VALUES (1);`)},
	}
	want := []string{"0001_log.sql"}
	for _, v := range []int{2, 3, 5, 6, 9, 12} {
		name := fmt.Sprintf("%04d_step.sql", v)
		files[name] = &fstest.MapFile{Data: []byte(fmt.Sprintf(
			`CREATE TABLE step_%d (id INTEGER); INSERT INTO applied VALUES (%d);`, v, v))}
		want = append(want, name)
	}
	errs := startTogether(t, func() (*sqlstore.Store, error) {
		db, err := sql.Open("pgx", url)
		if err != nil {
			return nil, err
		}
		db.SetMaxOpenConns(2)
		s, err := sqlstore.New(context.Background(), db, db, postgres.Dialect(), files, sqlstore.Options{Migrate: true})
		if err != nil {
			_ = db.Close()
		}
		return s, err
	})
	if len(errs) > 0 {
		t.Fatalf("%d of %d servers failed to start, first: %v", len(errs), replicas, errs[0])
	}
	db := pgDB(t, url)
	if got := recorded(t, db); !reflect.DeepEqual(got, want) {
		t.Fatalf("schema_migrations holds %v, want %v", got, want)
	}
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM applied`).Scan(&n); err != nil || n != len(want) {
		t.Fatalf("%d migrations ran (err %v), want %d", n, err, len(want))
	}
}

// pgDB is a small pool on the test schema at url, closed with the test.
func pgDB(t *testing.T, url string) *sql.DB {
	t.Helper()
	db, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// TestLateMigrationIsApplied: a migration numbered below one already
// applied (two branches took numbers 4 and 5; 5 reached this database
// first) is applied when it arrives, on both engines; a recorded version
// above every file is still refused.
func TestLateMigrationIsApplied(t *testing.T) {
	step := func(v int) string { return fmt.Sprintf("CREATE TABLE step_%d (id INTEGER);", v) }
	files := func(versions ...int) fstest.MapFS {
		m := fstest.MapFS{}
		for _, v := range versions {
			m[fmt.Sprintf("%04d_step.sql", v)] = &fstest.MapFile{Data: []byte(step(v))}
		}
		return m
	}
	engines := []struct {
		name    string
		dialect sqlstore.Dialect
		open    func(t *testing.T) *sql.DB
	}{
		{"sqlite", sqlite.Dialect(), func(t *testing.T) *sql.DB {
			path := filepath.Join(t.TempDir(), "late.db")
			db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(5000)&_txlock=immediate")
			if err != nil {
				t.Fatal(err)
			}
			db.SetMaxOpenConns(1)
			t.Cleanup(func() { _ = db.Close() })
			return db
		}},
		{"postgres", postgres.Dialect(), func(t *testing.T) *sql.DB { return pgDB(t, storetest.PostgresURL(t)) }},
	}
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			db := e.open(t)
			open := func(fsys fs.FS) error {
				_, err := sqlstore.New(context.Background(), db, db, e.dialect, fsys, sqlstore.Options{Migrate: true})
				return err
			}
			if err := open(files(1, 2, 5)); err != nil {
				t.Fatal(err)
			}
			if err := open(files(1, 2, 4, 5)); err != nil {
				t.Fatal(err)
			}
			if got, want := recorded(t, db), []string{"0001_step.sql", "0002_step.sql", "0004_step.sql", "0005_step.sql"}; !reflect.DeepEqual(got, want) {
				t.Fatalf("schema_migrations holds %v, want %v", got, want)
			}
			if _, err := db.Exec(`INSERT INTO step_4 (id) VALUES (1)`); err != nil {
				t.Fatalf("migration 4 did not run: %v", err)
			}
			err := open(files(1, 2, 4))
			if err == nil || !strings.Contains(err.Error(), "database schema version 5 is newer than this keybox binary (version 4)") {
				t.Fatalf("an older binary opened a newer schema: %v", err)
			}
		})
	}
}
