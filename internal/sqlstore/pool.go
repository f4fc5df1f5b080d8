package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/keyboxhq/keybox"
)

// DefaultConnWait is how long an operation waits for a free connection of
// its pool before it fails with keybox.ErrUnavailable.
const DefaultConnWait = 10 * time.Second

// errNoConnection ends the context of an operation that got no connection
// within the wait limit.
var errNoConnection = errors.New("no database connection became free in time")

// waiter bounds the time one operation on a pool waits for a connection.
// database/sql queues an operation until its context ends; the wait limit is
// a context that ends, with errNoConnection as its cause, unless got is
// called (the statement has run, the transaction has begun) in time.
type waiter struct {
	ctx    context.Context
	cancel context.CancelCauseFunc
	timer  *time.Timer
}

// wait starts bounding an operation's wait for a connection.
func (s *Store) wait(ctx context.Context) *waiter {
	w := &waiter{}
	w.ctx, w.cancel = context.WithCancelCause(ctx)
	w.timer = time.AfterFunc(s.connWait, func() { w.cancel(errNoConnection) })
	return w
}

// got stops the clock: the operation holds its connection.
func (w *waiter) got() { w.timer.Stop() }

// end releases the operation's context and returns err, as
// keybox.ErrUnavailable when the operation failed for want of a connection.
func (w *waiter) end(err error) error {
	if w == nil {
		return err
	}
	w.timer.Stop()
	timedOut := errors.Is(context.Cause(w.ctx), errNoConnection)
	w.cancel(nil)
	if err != nil && timedOut {
		return fmt.Errorf("%w (%v: %v)", keybox.ErrUnavailable, errNoConnection, err)
	}
	return err
}

// row is a query's single row; scanning it ends the query's wait bound.
type row struct {
	*sql.Row
	w *waiter
}

func (r row) Scan(dest ...any) error { return r.w.end(r.Row.Scan(dest...)) }

// rows are a query's rows; closing them ends the query's wait bound.
type rows struct {
	*sql.Rows
	w *waiter
}

func (r *rows) Close() error { return r.w.end(r.Rows.Close()) }

// Err is the error that ended the iteration, as keybox.ErrUnavailable when
// the wait bound ended it.
func (r *rows) Err() error {
	err := r.Rows.Err()
	if err != nil && r.w != nil && errors.Is(context.Cause(r.w.ctx), errNoConnection) {
		return fmt.Errorf("%w (%v: %v)", keybox.ErrUnavailable, errNoConnection, err)
	}
	return err
}
