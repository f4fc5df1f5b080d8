package ratelimit

import (
	"context"
	"sync"
	"time"

	"github.com/keyboxhq/keybox"
)

// Counters are fixed-window event counters that several servers may share:
// keybox.Store implements them in its database. Memory keeps them in one
// process.
type Counters interface {
	// TakeRate counts one event for key while fewer than limit are counted
	// in its window (opening one of length per at now when none is open),
	// atomically, and reports whether it did.
	TakeRate(ctx context.Context, key string, limit int, per time.Duration, now time.Time) (keybox.RateWindow, bool, error)
	// GiveBackRate uncounts one event of the window that closes at ends.
	GiveBackRate(ctx context.Context, key string, ends time.Time) error
	// PruneRates forgets the windows closed at now.
	PruneRates(ctx context.Context, now time.Time) (int, error)
}

// Memory is Counters for a server that shares its limits with no other.
// Times are kept at the database's millisecond precision, so that it
// behaves exactly as the Store does.
type Memory struct {
	mu      sync.Mutex
	windows map[string]keybox.RateWindow
}

var _ Counters = (*Memory)(nil)

// NewMemory returns empty counters.
func NewMemory() *Memory { return &Memory{windows: make(map[string]keybox.RateWindow)} }

func millis(t time.Time) time.Time { return time.UnixMilli(t.UnixMilli()).UTC() }

// TakeRate counts one event for key while its window has room.
func (m *Memory) TakeRate(_ context.Context, key string, limit int, per time.Duration, now time.Time) (keybox.RateWindow, bool, error) {
	now = millis(now)
	m.mu.Lock()
	defer m.mu.Unlock()
	w, ok := m.windows[key]
	if !ok || !now.Before(w.Ends) {
		w = keybox.RateWindow{Ends: now.Add(per.Truncate(time.Millisecond))}
	}
	if w.Count >= limit {
		return w, false, nil
	}
	w.Count++
	m.windows[key] = w
	return w, true, nil
}

// GiveBackRate uncounts one event of the window that closes at ends.
func (m *Memory) GiveBackRate(_ context.Context, key string, ends time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if w, ok := m.windows[key]; ok && w.Ends.Equal(millis(ends)) && w.Count > 0 {
		w.Count--
		m.windows[key] = w
	}
	return nil
}

// PruneRates forgets the windows closed at now.
func (m *Memory) PruneRates(_ context.Context, now time.Time) (int, error) {
	now = millis(now)
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for k, w := range m.windows {
		if !now.Before(w.Ends) {
			delete(m.windows, k)
			n++
		}
	}
	return n, nil
}
