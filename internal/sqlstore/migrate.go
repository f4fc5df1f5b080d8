package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"
)

// migration is one numbered SQL file, e.g. 0001_init.sql.
type migration struct {
	version int
	name    string
	sql     string
}

func loadMigrations(fsys fs.FS) ([]migration, error) {
	if fsys == nil {
		return nil, nil
	}
	names, err := fs.Glob(fsys, "*.sql")
	if err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	var list []migration
	seen := map[int]string{}
	for _, name := range names {
		prefix, _, ok := strings.Cut(path.Base(name), "_")
		v, err := strconv.Atoi(prefix)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration %s: name must start with a positive number and an underscore", name)
		}
		if other, dup := seen[v]; dup {
			return nil, fmt.Errorf("migrations %s and %s share version %d", other, name, v)
		}
		seen[v] = name
		body, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, fmt.Errorf("migration %s: %w", name, err)
		}
		list = append(list, migration{version: v, name: name, sql: string(body)})
	}
	sort.Slice(list, func(i, j int) bool { return list[i].version < list[j].version })
	return list, nil
}

const createMigrationsTable = `CREATE TABLE IF NOT EXISTS schema_migrations (
	version    BIGINT PRIMARY KEY,
	name       TEXT NOT NULL,
	applied_at BIGINT NOT NULL
)`

func (s *Store) currentVersion(ctx context.Context, db querier) (int, error) {
	var v sql.NullInt64
	err := db.QueryRowContext(ctx, `SELECT max(version) FROM schema_migrations`).Scan(&v)
	if err != nil {
		return 0, fmt.Errorf("read schema version: %w", err)
	}
	return int(v.Int64), nil
}

// migrate applies every pending migration, each in its own transaction, and
// refuses a database whose schema is newer than this binary. Several servers
// may start at once on a fresh database: each step takes the dialect's lock
// before anything else, creates the bookkeeping table and reads what is
// applied under that lock, so exactly one of them applies each migration and
// the others wait, then find it done.
func (s *Store) migrate(ctx context.Context, list []migration) error {
	for {
		done, err := s.migrateStep(ctx, list)
		if err != nil || done {
			return err
		}
	}
}

// migrateStep applies the first migration the database lacks, in one
// transaction with the check, and reports whether none was left.
func (s *Store) migrateStep(ctx context.Context, list []migration) (done bool, err error) {
	sqlTx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("migrate: begin: %w", s.dialect.Classify(err))
	}
	defer sqlTx.Rollback() //nolint:errcheck // a no-op after Commit
	if s.dialect.Lock != nil {
		if err := s.dialect.Lock(ctx, sqlTx, "keybox-migrate"); err != nil {
			return false, fmt.Errorf("migrate: lock: %w", err)
		}
	}
	if _, err := sqlTx.ExecContext(ctx, createMigrationsTable); err != nil {
		return false, fmt.Errorf("create schema_migrations: %w", err)
	}
	applied, err := appliedVersions(ctx, sqlTx)
	if err != nil {
		return false, err
	}
	for v := range applied {
		if v > s.version {
			return false, fmt.Errorf("database schema version %d is newer than this keybox binary (version %d): upgrade keybox", v, s.version)
		}
	}
	// Every file not yet recorded is applied, in order, even one numbered
	// below a recorded one: branches that each took a number may land in any
	// order.
	var next *migration
	for i := range list {
		if !applied[list[i].version] {
			next = &list[i]
			break
		}
	}
	if next == nil {
		return true, sqlTx.Commit()
	}
	if _, err := sqlTx.ExecContext(ctx, next.sql); err != nil {
		return false, fmt.Errorf("migration %s: %w", next.name, err)
	}
	if _, err := sqlTx.ExecContext(ctx,
		`INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)`,
		next.version, next.name, time.Now().UnixMilli()); err != nil {
		return false, fmt.Errorf("migration %s: record: %w", next.name, err)
	}
	if err := sqlTx.Commit(); err != nil {
		return false, fmt.Errorf("migration %s: commit: %w", next.name, err)
	}
	return false, nil
}

// appliedVersions reads the versions recorded in schema_migrations.
func appliedVersions(ctx context.Context, tx *sql.Tx) (map[int]bool, error) {
	rows, err := tx.QueryContext(ctx, `SELECT version FROM schema_migrations`)
	if err != nil {
		return nil, fmt.Errorf("read schema version: %w", err)
	}
	defer rows.Close()
	applied := map[int]bool{}
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			return nil, fmt.Errorf("read schema version: %w", err)
		}
		applied[v] = true
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read schema version: %w", err)
	}
	return applied, nil
}
