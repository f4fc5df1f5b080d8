// Package postgres opens KeyBox's store on PostgreSQL through pgx, so that
// several stateless servers can share one database.
package postgres

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver

	"github.com/keyboxhq/keybox"
	"github.com/keyboxhq/keybox/internal/sqlstore"
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

// Open connects to the database at url (postgres://…).
func Open(ctx context.Context, url string, opts sqlstore.Options) (*sqlstore.Store, error) {
	db, err := sql.Open("pgx", url)
	if err != nil {
		return nil, fmt.Errorf("postgres: open: %w", err)
	}
	db.SetMaxOpenConns(20)
	db.SetMaxIdleConns(20)
	if err := db.PingContext(ctx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("postgres: connect: %w", err)
	}
	s, err := sqlstore.New(ctx, db, db, Dialect(), Migrations(), opts)
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("postgres: %w", err)
	}
	return s, nil
}

// Dialect describes PostgreSQL to the shared store. Transactions run at READ
// COMMITTED; rules that read then write lock the license row (FOR UPDATE) or
// take a transaction-scoped advisory lock, keyed by the schema too so that
// stores in separate schemas of one database do not block each other.
func Dialect() sqlstore.Dialect {
	return sqlstore.Dialect{
		Name:      "postgres",
		ForUpdate: " FOR UPDATE",
		Lock: func(ctx context.Context, tx *sql.Tx, name string) error {
			_, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtext(current_schema() || ':' || $1))`, name)
			return err
		},
		Classify: classify,
	}
}

func classify(err error) error {
	var e *pgconn.PgError
	if !errors.As(err, &e) {
		return err
	}
	switch e.Code {
	case "23505": // unique_violation
		return fmt.Errorf("%w (%v)", keybox.ErrDuplicate, err)
	case "23503": // foreign_key_violation
		return fmt.Errorf("%w (%v)", keybox.ErrInUse, err)
	}
	return err
}
