package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/keyboxhq/keybox"
)

// Group commit. An engine with one writer (SQLite) runs one transaction at
// a time, and with synchronous=FULL each commit waits for the disk. Rather
// than each Update paying for its own wait, a runner takes the Updates
// queued for the writer, in order, and runs them in one transaction, each
// function inside its own savepoint:
//
//   - a function that fails (or panics) is rolled back to its savepoint, so
//     none of its writes remain, and its caller gets its error at once;
//   - the functions that succeeded are committed together, by one COMMIT;
//     their callers return only once that commit has succeeded, and if it
//     fails, every one of them gets the error;
//   - each function sees the writes of those before it in the batch, as it
//     would have had they committed one after the other.
//
// Durability is unchanged: no caller hears of success before its writes are
// on disk; a commit just covers several callers. A batch is what is queued
// when it starts plus what arrives while it runs, up to maxBatch functions
// or maxBatchTime. A lone Update on an idle server runs at once: the runner
// only waits for work after a batch of several, when the callers it just
// released are likely to come back together; it then gives them up to
// gatherTime to reach the last batch's size (as PostgreSQL's commit_delay
// does for commit_siblings). Without it, under steady concurrency the first
// caller back got a commit, and its disk wait, to itself, and batches
// alternated between one and all the others.

const (
	maxBatch     = 256
	maxBatchTime = 20 * time.Millisecond
	gatherTime   = time.Millisecond
)

// group gathers the concurrent Updates of a store into shared transactions.
type group struct {
	s        *Store
	maxCount int
	maxTime  time.Duration

	mu      sync.Mutex
	queue   []*request
	running bool          // a runner is at work; it stops when the queue is empty
	arrived chan struct{} // a request was queued while the runner gathers
	gather  time.Duration // the longest wait for callers after a batch of several
	waiting bool          // the runner is gathering

	commits atomic.Int64 // batches committed

	// Statements prepared on the writer, by query text. Within a batch the
	// writer is taken, so a statement first seen there runs unprepared and
	// is prepared after the batch. Only the runner uses wanted.
	stmtMu sync.Mutex
	stmts  map[string]*sql.Stmt
	wanted []string
}

// maxStmts bounds the statements prepared on the writer: the hot ones are
// a few dozen, and a query text made on the fly need not fill memory.
const maxStmts = 256

func newGroup(s *Store) *group {
	return &group{s: s, maxCount: maxBatch, maxTime: maxBatchTime, gather: gatherTime,
		arrived: make(chan struct{}, 1), stmts: map[string]*sql.Stmt{}}
}

// A request's states: waiting in the queue, taken by the runner (its
// caller then waits for the outcome), or given up by its caller before the
// runner took it (the runner skips it).
const (
	queued int32 = iota
	taken
	abandoned
)

// request is one Update waiting for, or running in, a batch.
type request struct {
	fn    func(keybox.Tx) error
	state atomic.Int32
	done  chan outcome // buffered: the runner never waits for the caller
}

// outcome is how a request ended: an error, or a panic of its function,
// which its caller raises again in its own goroutine.
type outcome struct {
	err      error
	panicked bool
	value    any
}

func (o outcome) failed() bool { return o.err != nil || o.panicked }

// update queues fn and waits for its outcome. Until the runner takes it,
// the caller may give up: when its context ends, or when it has waited the
// store's connection wait for the writer (keybox.ErrUnavailable).
func (g *group) update(ctx context.Context, fn func(keybox.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	r := &request{fn: fn, done: make(chan outcome, 1)}
	g.enqueue(r)
	wait := time.NewTimer(g.s.connWait)
	defer wait.Stop()
	var o outcome
	select {
	case o = <-r.done:
	case <-wait.C:
		if r.state.CompareAndSwap(queued, abandoned) {
			return fmt.Errorf("%w (%v)", keybox.ErrUnavailable, errNoConnection)
		}
		o = <-r.done
	case <-ctx.Done():
		if r.state.CompareAndSwap(queued, abandoned) {
			return fmt.Errorf("begin: %w", ctx.Err())
		}
		o = <-r.done
	}
	if o.panicked {
		panic(o.value)
	}
	return o.err
}

func (g *group) enqueue(r *request) {
	g.mu.Lock()
	g.queue = append(g.queue, r)
	start := !g.running
	g.running = true
	g.mu.Unlock()
	if start {
		go g.run()
		return
	}
	select {
	case g.arrived <- struct{}{}:
	default: // the runner has a signal it has not read yet
	}
}

// gatherFor waits, at most g.gather, until n requests are queued.
func (g *group) gatherFor(n int) {
	if n <= 1 || g.gather <= 0 {
		return
	}
	timer := time.NewTimer(g.gather)
	defer timer.Stop()
	defer func() {
		g.mu.Lock()
		g.waiting = false
		g.mu.Unlock()
	}()
	for {
		g.mu.Lock()
		enough := len(g.queue) >= n
		g.waiting = !enough
		g.mu.Unlock()
		if enough {
			return
		}
		select {
		case <-g.arrived:
		case <-timer.C:
			return
		}
	}
}

// pending drops the abandoned requests at the head of the queue and
// reports whether one is waiting; when none is, the runner stops.
func (g *group) pending() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	for len(g.queue) > 0 && g.queue[0].state.Load() == abandoned {
		g.queue[0] = nil
		g.queue = g.queue[1:]
	}
	if len(g.queue) == 0 {
		g.queue, g.running = nil, false
		return false
	}
	return true
}

// next takes the first request still queued, or returns nil.
func (g *group) next() *request {
	g.mu.Lock()
	defer g.mu.Unlock()
	for len(g.queue) > 0 {
		r := g.queue[0]
		g.queue[0] = nil
		g.queue = g.queue[1:]
		if r.state.CompareAndSwap(queued, taken) {
			return r
		}
	}
	return nil
}

// run runs batches until the queue is empty. The transaction begins before
// any request is taken: while the writer is busy elsewhere, the requests
// stay queued, and their callers may still give up.
func (g *group) run() {
	last := 0 // requests the last batch took
	for g.gatherFor(last); g.pending(); g.gatherFor(last) {
		sqlTx, err := g.s.write.BeginTx(context.Background(), nil)
		if err != nil {
			if r := g.next(); r != nil {
				r.done <- outcome{err: fmt.Errorf("begin: %w", g.s.dialect.Classify(err))}
			}
			last = 0
			continue
		}
		last = g.batch(sqlTx)
		g.prepare()
	}
}

// stmt returns query's statement on the writer, or nil when it is not
// prepared yet (it will be after this batch).
func (g *group) stmt(query string) *sql.Stmt {
	g.stmtMu.Lock()
	st, ok := g.stmts[query]
	if !ok && len(g.stmts)+len(g.wanted) < maxStmts && !slices.Contains(g.wanted, query) {
		g.wanted = append(g.wanted, query)
	}
	g.stmtMu.Unlock()
	return st
}

// prepare prepares the statements the last batch ran unprepared.
func (g *group) prepare() {
	if len(g.wanted) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), g.s.connWait)
	defer cancel()
	g.stmtMu.Lock()
	defer g.stmtMu.Unlock()
	for _, q := range g.wanted {
		if g.stmts == nil { // closed
			break
		}
		if st, err := g.s.write.PrepareContext(ctx, q); err == nil {
			g.stmts[q] = st
		}
	}
	g.wanted = g.wanted[:0]
}

// close closes the prepared statements.
func (g *group) close() {
	g.stmtMu.Lock()
	defer g.stmtMu.Unlock()
	for _, st := range g.stmts {
		_ = st.Close()
	}
	g.stmts = nil
}

// batch runs requests in sqlTx and commits those that succeeded. It
// returns how many requests it took.
func (g *group) batch(sqlTx *sql.Tx) (taken int) {
	var ok []*request
	started := time.Now()
	for n := 0; n < g.maxCount && (n == 0 || time.Since(started) < g.maxTime); n++ {
		r := g.next()
		if r == nil {
			break
		}
		taken++
		o, broken := g.runOne(sqlTx, r)
		if broken != nil {
			// The transaction itself failed: nothing of it can be committed.
			_ = sqlTx.Rollback()
			err := fmt.Errorf("batch: %w", broken)
			o.err = errors.Join(o.err, err)
			r.done <- o
			for _, p := range ok {
				p.done <- outcome{err: err}
			}
			return taken
		}
		if o.failed() {
			r.done <- o // rolled back to its savepoint: final whatever happens next
			continue
		}
		ok = append(ok, r)
	}
	if len(ok) == 0 {
		_ = sqlTx.Rollback()
		return taken
	}
	var o outcome
	if err := sqlTx.Commit(); err != nil {
		// (The SQLite driver rolls back what a refused COMMIT leaves open.)
		o.err = fmt.Errorf("commit: %w", g.s.dialect.Classify(err))
	} else {
		g.commits.Add(1)
	}
	for _, r := range ok {
		r.done <- o
	}
	return taken
}

// runOne runs one request's function inside a savepoint and releases the
// savepoint, rolling back to it first when the function failed. broken is
// an error of the savepoint statements themselves: the transaction can no
// longer be trusted.
func (g *group) runOne(sqlTx *sql.Tx, r *request) (o outcome, broken error) {
	ctx, db := context.Background(), inBatch{sqlTx, g}
	if _, err := db.ExecContext(ctx, "SAVEPOINT batched"); err != nil {
		return outcome{}, fmt.Errorf("savepoint: %w", err)
	}
	o = call(&tx{queries: queries{s: g.s, db: db}, tx: sqlTx}, r)
	if o.failed() {
		if _, err := db.ExecContext(ctx, "ROLLBACK TO batched"); err != nil {
			return o, fmt.Errorf("rollback to savepoint: %w", err)
		}
	}
	if _, err := db.ExecContext(ctx, "RELEASE batched"); err != nil {
		return o, fmt.Errorf("release savepoint: %w", err)
	}
	return o, nil
}

// call runs r's function, turning a panic into an outcome.
func call(t *tx, r *request) (o outcome) {
	defer func() {
		if p := recover(); p != nil {
			o = outcome{panicked: true, value: p}
		}
	}()
	return outcome{err: r.fn(t)}
}

// inBatch runs a function's statements in its batch's transaction. A
// statement is not started once the function's context has ended, but one
// that starts runs to its end: interrupting a statement may make SQLite
// roll back the whole transaction, with the other functions' writes.
type inBatch struct {
	tx *sql.Tx
	g  *group
}

// ctx is ctx itself when it has ended (database/sql then fails the
// statement without running it), else a context that never ends.
func (inBatch) ctx(ctx context.Context) context.Context {
	if ctx.Err() != nil {
		return ctx
	}
	return context.Background()
}

func (b inBatch) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	ctx = b.ctx(ctx)
	if st := b.g.stmt(query); st != nil {
		return b.tx.StmtContext(ctx, st).ExecContext(ctx, args...)
	}
	return b.tx.ExecContext(ctx, query, args...)
}

func (b inBatch) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	ctx = b.ctx(ctx)
	if st := b.g.stmt(query); st != nil {
		return b.tx.StmtContext(ctx, st).QueryContext(ctx, args...)
	}
	return b.tx.QueryContext(ctx, query, args...)
}

func (b inBatch) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	ctx = b.ctx(ctx)
	if st := b.g.stmt(query); st != nil {
		return b.tx.StmtContext(ctx, st).QueryRowContext(ctx, args...)
	}
	return b.tx.QueryRowContext(ctx, query, args...)
}
