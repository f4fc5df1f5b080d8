package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/keyboxhq/keybox"
)

// takeRate counts an event in one statement: a new key opens a window; a
// closed window opens again at one event; an open one counts while under
// the limit. When the limit is reached the conditional update changes
// nothing and returns no row, so the check and the count cannot be split by
// another server's statement.
const takeRate = `INSERT INTO rate_counters (id, events, window_ends) VALUES ($1, 1, $2)
	ON CONFLICT (id) DO UPDATE SET
		events = CASE WHEN rate_counters.window_ends <= $3 THEN 1 ELSE rate_counters.events + 1 END,
		window_ends = CASE WHEN rate_counters.window_ends <= $3 THEN excluded.window_ends ELSE rate_counters.window_ends END
	WHERE rate_counters.window_ends <= $3 OR rate_counters.events < $4
	RETURNING events, window_ends`

// TakeRate counts one event for key while its window has room.
func (s *Store) TakeRate(ctx context.Context, key string, limit int, per time.Duration, now time.Time) (keybox.RateWindow, bool, error) {
	if limit < 1 {
		return keybox.RateWindow{}, false, fmt.Errorf("take rate %s: limit %d is below 1", key, limit)
	}
	nowMS := now.UnixMilli()
	var w keybox.RateWindow
	var ends int64
	s.counter.Add(1)
	err := s.write.QueryRowContext(ctx, takeRate, key, nowMS+per.Milliseconds(), nowMS, limit).Scan(&w.Count, &ends)
	if err == nil {
		w.Ends = time.UnixMilli(ends).UTC()
		return w, true, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return w, false, fmt.Errorf("take rate: %w", s.dialect.Classify(err))
	}
	// Refused: read the full window, to say when it closes.
	s.counter.Add(1)
	err = s.write.QueryRowContext(ctx, `SELECT events, window_ends FROM rate_counters WHERE id = $1`, key).Scan(&w.Count, &ends)
	if errors.Is(err, sql.ErrNoRows) {
		// Pruned in between: its window has just closed.
		return keybox.RateWindow{Count: limit, Ends: time.UnixMilli(nowMS).UTC()}, false, nil
	}
	if err != nil {
		return w, false, fmt.Errorf("read rate: %w", err)
	}
	w.Ends = time.UnixMilli(ends).UTC()
	return w, false, nil
}

// GiveBackRate uncounts an event of the window that closes at ends.
func (s *Store) GiveBackRate(ctx context.Context, key string, ends time.Time) error {
	s.counter.Add(1)
	_, err := s.write.ExecContext(ctx, `UPDATE rate_counters SET events = events - 1
		WHERE id = $1 AND window_ends = $2 AND events > 0`, key, ends.UnixMilli())
	if err != nil {
		return fmt.Errorf("give back rate: %w", err)
	}
	return nil
}

// PruneRates deletes closed windows.
func (s *Store) PruneRates(ctx context.Context, now time.Time) (int, error) {
	s.counter.Add(1)
	res, err := s.write.ExecContext(ctx, `DELETE FROM rate_counters WHERE window_ends <= $1`, now.UnixMilli())
	if err != nil {
		return 0, fmt.Errorf("prune rates: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("prune rates: %w", err)
	}
	return int(n), nil
}
