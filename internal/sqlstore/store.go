// Package sqlstore implements keybox.Store over database/sql. The SQL is
// written once, with $n placeholders, for both engines: the SQLite and
// PostgreSQL packages open the database, bring their own migrations and say
// in a Dialect the few things that differ (row locks, advisory locks, how a
// driver reports a constraint violation).
package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"sync"
	"sync/atomic"
	"time"

	"github.com/keyboxhq/keybox"
)

// Dialect is what differs between engines.
type Dialect struct {
	// Name is "sqlite" or "postgres".
	Name string
	// ForUpdate is appended to a SELECT that must lock its row in a transaction.
	ForUpdate string
	// SkipLocked is appended to a SELECT that locks the rows it picks and
	// passes over rows another transaction holds.
	SkipLocked string
	// Lock takes a named lock held until the transaction ends; nil when the
	// engine already serialises writers.
	Lock func(ctx context.Context, tx *sql.Tx, name string) error
	// Classify turns a driver's constraint error into keybox.ErrDuplicate or
	// keybox.ErrInUse, and returns any other error unchanged.
	Classify func(error) error
	// GroupCommit runs concurrent Updates in shared transactions, each in
	// its own savepoint (see groupcommit.go): for an engine with one writer,
	// whose commits would otherwise wait for the disk one by one.
	GroupCommit bool
	// WatchLicenses is the engine's change feed (keybox.Store.WatchLicenses);
	// nil polls the license_changes table, which suits an engine whose
	// writers commit one at a time, in the order of its sequence.
	WatchLicenses func(ctx context.Context, round func() keybox.LicenseChanges) error
}

// Store is keybox.Store over database/sql.
type Store struct {
	queries
	read, write *sql.DB
	dialect     Dialect
	version     int           // the schema version this binary knows
	connWait    time.Duration // how long an operation may wait for a connection
	counter     atomic.Int64
	group       *group   // nil unless the dialect asks for group commit
	stmts       sync.Map // query text → *sql.Stmt on the read pool
	closeOnce   sync.Once
}

var _ keybox.Store = (*Store)(nil)

// Options configure New.
type Options struct {
	// Migrate applies pending migrations before returning.
	Migrate bool
	// MaxConns caps the connections the store opens to a database server
	// (PostgreSQL); zero means the engine's default. SQLite ignores it.
	MaxConns int
	// ConnWait is how long an operation waits for a free connection before
	// it fails with keybox.ErrUnavailable; zero means DefaultConnWait.
	ConnWait time.Duration
}

// New returns a Store reading through read and writing through write (the
// same pool on PostgreSQL; one writer connection and a reader pool on SQLite).
// migrations holds the engine's numbered *.sql files.
func New(ctx context.Context, read, write *sql.DB, d Dialect, migrations fs.FS, opts Options) (*Store, error) {
	list, err := loadMigrations(migrations)
	if err != nil {
		return nil, err
	}
	s := &Store{read: read, write: write, dialect: d, connWait: opts.ConnWait}
	if s.connWait <= 0 {
		s.connWait = DefaultConnWait
	}
	if d.GroupCommit {
		s.group = newGroup(s)
	}
	if len(list) > 0 {
		s.version = list[len(list)-1].version
	}
	s.queries = queries{s: s, db: read, cached: true}
	if opts.Migrate {
		if err := s.migrate(ctx, list); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Update runs fn in one transaction on the writer (with group commit, in a
// savepoint of a transaction it may share with other Updates).
func (s *Store) Update(ctx context.Context, fn func(keybox.Tx) error) error {
	if s.group != nil {
		return s.group.update(ctx, fn)
	}
	w := s.wait(ctx)
	sqlTx, err := s.write.BeginTx(w.ctx, nil)
	w.got()
	if err != nil {
		return w.end(fmt.Errorf("begin: %w", s.dialect.Classify(err)))
	}
	t := &tx{queries: queries{s: s, db: sqlTx}, tx: sqlTx}
	if err := fn(t); err != nil {
		if rbErr := sqlTx.Rollback(); rbErr != nil && !errors.Is(rbErr, sql.ErrTxDone) {
			return w.end(errors.Join(err, fmt.Errorf("rollback: %w", rbErr)))
		}
		return w.end(err)
	}
	if err := sqlTx.Commit(); err != nil {
		return w.end(fmt.Errorf("commit: %w", s.dialect.Classify(err)))
	}
	return w.end(nil)
}

// Ping checks that the database answers and that its schema is this binary's.
func (s *Store) Ping(ctx context.Context) error {
	w := s.wait(ctx)
	v, err := s.currentVersion(w.ctx, s.read)
	if err = w.end(err); err != nil {
		return fmt.Errorf("ping: %w", err)
	}
	if v != s.version {
		return fmt.Errorf("ping: schema version %d, want %d", v, s.version)
	}
	return nil
}

// SchemaVersion returns the highest migration applied to the database.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	return s.currentVersion(ctx, s.read)
}

// Stats reports pool statistics and the number of statements run.
func (s *Store) Stats() keybox.StoreStats {
	st := s.read.Stats()
	out := keybox.StoreStats{
		Engine:          s.dialect.Name,
		OpenConnections: st.OpenConnections,
		InUse:           st.InUse,
		Idle:            st.Idle,
		WaitCount:       st.WaitCount,
		WaitDuration:    st.WaitDuration,
		Queries:         s.counter.Load(),
	}
	if s.write != s.read {
		w := s.write.Stats()
		out.OpenConnections += w.OpenConnections
		out.InUse += w.InUse
		out.Idle += w.Idle
		out.WaitCount += w.WaitCount
		out.WaitDuration += w.WaitDuration
	}
	return out
}

// Close closes both pools.
func (s *Store) Close() error {
	var err error
	s.closeOnce.Do(func() {
		if s.group != nil {
			s.group.close()
		}
		s.stmts.Range(func(_, v any) bool {
			_ = v.(*sql.Stmt).Close()
			return true
		})
		err = s.read.Close()
		if s.write != s.read {
			err = errors.Join(err, s.write.Close())
		}
	})
	return err
}

// querier is what *sql.DB and *sql.Tx have in common.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// queries implements keybox.Queries on a pool or a transaction.
type queries struct {
	s      *Store
	db     querier
	cached bool // use prepared statements (outside transactions)
}

// stmt returns a prepared statement for query on the read pool.
func (q queries) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	if v, ok := q.s.stmts.Load(query); ok {
		return v.(*sql.Stmt), nil
	}
	st, err := q.s.read.PrepareContext(ctx, query)
	if err != nil {
		return nil, fmt.Errorf("prepare: %w", err)
	}
	if v, loaded := q.s.stmts.LoadOrStore(query, st); loaded {
		_ = st.Close()
		return v.(*sql.Stmt), nil
	}
	return st, nil
}

// queryRow runs a query of one row. On the pool (outside a transaction) its
// wait for a connection is bounded, until the row is scanned.
func (q queries) queryRow(ctx context.Context, query string, args ...any) row {
	q.s.counter.Add(1)
	if !q.cached {
		return row{Row: q.db.QueryRowContext(ctx, query, args...)}
	}
	w := q.s.wait(ctx)
	defer w.got()
	if st, err := q.stmt(w.ctx, query); err == nil {
		return row{Row: st.QueryRowContext(w.ctx, args...), w: w}
	}
	return row{Row: q.db.QueryRowContext(w.ctx, query, args...), w: w}
}

// query runs a query of many rows; on the pool its wait for a connection is
// bounded, until the rows are closed.
func (q queries) query(ctx context.Context, query string, args ...any) (*rows, error) {
	q.s.counter.Add(1)
	if !q.cached {
		r, err := q.db.QueryContext(ctx, query, args...)
		if err != nil {
			return nil, err
		}
		return &rows{Rows: r}, nil
	}
	w := q.s.wait(ctx)
	var r *sql.Rows
	st, err := q.stmt(w.ctx, query)
	if err == nil {
		r, err = st.QueryContext(w.ctx, args...)
	} else {
		r, err = q.db.QueryContext(w.ctx, query, args...)
	}
	w.got()
	if err != nil {
		return nil, w.end(err)
	}
	return &rows{Rows: r, w: w}, nil
}

func (q queries) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	q.s.counter.Add(1)
	res, err := q.db.ExecContext(ctx, query, args...)
	if err != nil {
		return nil, q.s.dialect.Classify(err)
	}
	return res, nil
}

// execOne runs a statement that must change exactly one row.
func (q queries) execOne(ctx context.Context, what, query string, args ...any) error {
	res, err := q.exec(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if n == 0 {
		return fmt.Errorf("%s: %w", what, keybox.ErrNotFound)
	}
	return nil
}

// collect scans every row of a query with scan.
func collect[T any](rows *rows, err error, scan func(sc scanner) (T, error)) ([]T, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	// Rows are gathered in chunks and copied once into a list of the right
	// size: appending to one slice copies a long list of large rows (6,000
	// licenses for the dashboard) five times over as it grows.
	const chunk = 256
	var full [][]T
	out := []T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		if len(out) == chunk {
			full = append(full, out)
			out = make([]T, 0, chunk)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if full == nil {
		return out, nil
	}
	all := make([]T, 0, len(full)*chunk+len(out))
	for _, c := range full {
		all = append(all, c...)
	}
	return append(all, out...), nil
}

// one maps sql.ErrNoRows to keybox.ErrNotFound.
func one[T any](v T, err error, what string) (T, error) {
	if errors.Is(err, sql.ErrNoRows) {
		return v, fmt.Errorf("%s: %w", what, keybox.ErrNotFound)
	}
	if err != nil {
		return v, fmt.Errorf("%s: %w", what, err)
	}
	return v, nil
}

type scanner interface{ Scan(dest ...any) error }

// tx implements keybox.Tx.
type tx struct {
	queries
	tx *sql.Tx
}

func (t *tx) Lock(ctx context.Context, name string) error {
	if t.s.dialect.Lock == nil {
		return nil
	}
	t.s.counter.Add(1)
	if err := t.s.dialect.Lock(ctx, t.tx, name); err != nil {
		return fmt.Errorf("lock %s: %w", name, err)
	}
	return nil
}
