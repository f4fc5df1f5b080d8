// Package postgres opens KeyBox's store on PostgreSQL through pgx, so that
// several stateless servers can share one database.
package postgres

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib" // also registers the "pgx" database/sql driver

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

// DefaultMaxConns is the size of the connection pool unless
// sqlstore.Options.MaxConns says otherwise.
const DefaultMaxConns = 20

// IdleTimeout is how long a pooled connection may stay unused before it is
// closed: a server shared with other tenants gets back what a quiet
// KeyBox holds.
const IdleTimeout = time.Minute

// Open connects to the database at url (postgres://…) through a pool of at
// most opts.MaxConns connections (DefaultMaxConns when zero).
func Open(ctx context.Context, url string, opts sqlstore.Options) (*sqlstore.Store, error) {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("postgres: open: %w", err)
	}
	db := sql.OpenDB(connector{stdlib.GetConnector(*cfg)})
	size := opts.MaxConns
	if size <= 0 {
		size = DefaultMaxConns
	}
	db.SetMaxOpenConns(size)
	db.SetMaxIdleConns(size)
	db.SetConnMaxIdleTime(IdleTimeout)
	if err := db.PingContext(ctx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("postgres: connect: %w", err)
	}
	d := Dialect()
	d.WatchLicenses = watchLicenses(cfg)
	s, err := sqlstore.New(ctx, db, db, d, Migrations(), opts)
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
		Name:       "postgres",
		ForUpdate:  " FOR UPDATE",
		SkipLocked: " FOR UPDATE SKIP LOCKED",
		Lock: func(ctx context.Context, tx *sql.Tx, name string) error {
			_, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtext(current_schema() || ':' || $1))`, name)
			return err
		},
		Classify: classify,
	}
}

// classify is the one place where PostgreSQL's errors get a meaning.
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
	case "53300", // too_many_connections: the server's or the role's limit
		"57P03": // cannot_connect_now: the server is starting or stopping
		return fmt.Errorf("%w (%v)", keybox.ErrUnavailable, err)
	}
	return err
}

// connector classifies the errors of opening a connection, which database/sql
// hands to whichever statement needed the connection.
type connector struct{ driver.Connector }

func (c connector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, classify(err)
	}
	return conn, nil
}
