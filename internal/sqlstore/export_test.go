package sqlstore

import (
	"context"
	"time"

	"github.com/keyboxhq/keybox"
)

// Commits returns how many batches the store's group commit has committed.
func Commits(s *Store) int64 { return s.group.commits.Load() }

// Queued returns how many Updates wait in the group commit's queue.
func Queued(s *Store) int {
	s.group.mu.Lock()
	defer s.group.mu.Unlock()
	return len(s.group.queue)
}

// SetBatchTime sets how long a batch may keep taking queued Updates.
func SetBatchTime(s *Store, d time.Duration) { s.group.maxTime = d }

// ExecInTx runs a statement in an Update's transaction.
func ExecInTx(ctx context.Context, t keybox.Tx, query string, args ...any) error {
	_, err := t.(*tx).exec(ctx, query, args...)
	return err
}

// SetGatherTime sets how long the runner waits for callers after a batch
// of several.
func SetGatherTime(s *Store, d time.Duration) { s.group.gather = d }

// Gathering reports whether the group commit's runner waits for callers.
func Gathering(s *Store) bool {
	s.group.mu.Lock()
	defer s.group.mu.Unlock()
	return s.group.waiting
}
