// Package ratelimit counts events per key in fixed windows, like the
// memory store of express-rate-limit that KeyBox used: a key's window opens
// at its first event and lasts a fixed time; past the limit, the key is
// refused until the window closes. A Limiter counts in one process; a Gate
// counts in Counters that several servers share, and is passed before the
// work it guards. The clock is injected, so tests move time instead of
// sleeping.
package ratelimit

import (
	"sync"
	"time"
)

// Limiter allows at most Limit events per key in each Window.
type Limiter struct {
	limit  int
	window time.Duration
	now    func() time.Time
	shards [16]shard
}

type shard struct {
	mu      sync.Mutex
	windows map[string]*window
	sweep   time.Time // when stale windows were last dropped
}

type window struct {
	count int
	ends  time.Time
}

// New returns a limiter of limit events per window; now is the clock
// (time.Now when nil).
func New(limit int, per time.Duration, now func() time.Time) *Limiter {
	if now == nil {
		now = time.Now
	}
	l := &Limiter{limit: limit, window: per, now: now}
	for i := range l.shards {
		l.shards[i].windows = make(map[string]*window)
	}
	return l
}

// Status is a key's standing after a call.
type Status struct {
	Allowed   bool
	Limit     int
	Remaining int
	// Reset is the time until the window closes.
	Reset time.Duration
}

func (l *Limiter) shard(key string) *shard {
	h := uint32(2166136261)
	for i := 0; i < len(key); i++ {
		h = (h ^ uint32(key[i])) * 16777619
	}
	return &l.shards[h%uint32(len(l.shards))]
}

// current returns key's open window, opening one if needed. Called locked.
func (l *Limiter) current(sh *shard, key string, now time.Time, create bool) *window {
	if now.Sub(sh.sweep) > l.window {
		for k, w := range sh.windows {
			if !now.Before(w.ends) {
				delete(sh.windows, k)
			}
		}
		sh.sweep = now
	}
	w := sh.windows[key]
	if w != nil && !now.Before(w.ends) {
		delete(sh.windows, key)
		w = nil
	}
	if w == nil && create {
		w = &window{ends: now.Add(l.window)}
		sh.windows[key] = w
	}
	return w
}

func (l *Limiter) status(w *window, now time.Time) Status {
	st := Status{Allowed: true, Limit: l.limit, Remaining: l.limit}
	if w == nil {
		return st
	}
	st.Remaining = max(0, l.limit-w.count)
	st.Allowed = w.count <= l.limit
	st.Reset = w.ends.Sub(now)
	return st
}

// Take counts one event for key and says whether it is within the limit.
func (l *Limiter) Take(key string) Status {
	now := l.now()
	sh := l.shard(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	w := l.current(sh, key, now, true)
	w.count++
	return l.status(w, now)
}
