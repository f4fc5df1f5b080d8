package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/keyboxhq/keybox"
)

// FeedInterval is how often a change feed begins a round. With the cache's
// TTL of 500 ms, a round every 100 ms keeps the cache's entries fresh with
// a wide margin for a slow round.
const FeedInterval = 100 * time.Millisecond

// feedBatch bounds the changes one round reads; a round that finds more
// reports all (a bulk import, or a server that fell behind).
const feedBatch = 1000

// WatchLicenses runs the engine's change feed.
func (s *Store) WatchLicenses(ctx context.Context, round func() keybox.LicenseChanges) error {
	if s.dialect.WatchLicenses != nil {
		return s.dialect.WatchLicenses(ctx, round)
	}
	return s.pollChanges(ctx, round)
}

// pollChanges is the change feed of a database that triggers record in
// license_changes, numbered in the order they commit (SQLite's single
// writer). The numbers have no gaps: a round that finds its next number
// missing (the table keeps only the latest rows) reports all.
func (s *Store) pollChanges(ctx context.Context, round func() keybox.LicenseChanges) error {
	tick := time.NewTicker(FeedInterval)
	defer tick.Stop()
	last, known := int64(0), false
	for {
		done := round()
		keys, next, all, err := s.changesSince(ctx, last, known)
		if err == nil {
			last, known = next, true
			done(keys, all)
		} else {
			known = false // what happened meanwhile is unknown
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// changesSince returns the keys changed after number last, the newest
// number, and whether all must be taken as changed. Its reads go straight
// to the reader pool: they are the feed's own, not counted as the
// statements requests run.
func (s *Store) changesSince(ctx context.Context, last int64, known bool) ([]string, int64, bool, error) {
	if !known {
		var newest int64
		err := s.read.QueryRowContext(ctx, `SELECT COALESCE(MAX(seq), 0) FROM license_changes`).Scan(&newest)
		if err != nil {
			return nil, 0, false, fmt.Errorf("license changes: %w", err)
		}
		return nil, newest, true, nil
	}
	rows, err := s.read.QueryContext(ctx, `SELECT seq, license_key FROM license_changes WHERE seq > $1 ORDER BY seq LIMIT $2`,
		last, feedBatch)
	if err != nil {
		return nil, 0, false, fmt.Errorf("license changes: %w", err)
	}
	defer rows.Close()
	var keys []string
	first, newest := int64(0), last
	for rows.Next() {
		var key string
		if err := rows.Scan(&newest, &key); err != nil {
			return nil, 0, false, fmt.Errorf("license changes: %w", err)
		}
		if first == 0 {
			first = newest
		}
		keys = append(keys, key)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, false, fmt.Errorf("license changes: %w", err)
	}
	if len(keys) > 0 && (first != last+1 || len(keys) == feedBatch) {
		return nil, newest, true, nil
	}
	return keys, newest, false, nil
}
