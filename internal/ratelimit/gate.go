package ratelimit

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/keyboxhq/keybox"
)

// Gate allows at most a limit of events per key in each window, and is
// passed before the work the events stand for (a password check, a key
// lookup), so that a burst of concurrent requests gets exactly the limit
// through rather than the limit plus however many were already at work.
//
// Reserve holds a slot; once the outcome is known the caller either counts
// the event (Take, Keep) or lets it go (Release). Slots held count against
// the limit while their requests work, and a request that finds the
// remaining slots all held waits until one is settled: an honest burst is
// served, a hostile one is cut off at the limit.
//
// The counts live in Counters, which every server sharing them sees
// (keybox.Store in its database). A Gate remembers what it learnt of each
// key's window: a key known to be used up is refused without asking the
// counters, and a slot released without being taken never touches them, so
// work that is usually not counted (a lookup of a key that exists) costs no
// write.
type Gate struct {
	name     string
	limit    int
	per      time.Duration
	counters Counters
	now      func() time.Time
	pruned   atomic.Int64 // Unix milliseconds of the last prune
	shards   [16]gateShard
}

type gateShard struct {
	mu    sync.Mutex
	keys  map[string]*standing
	sweep time.Time
}

// standing is what this process knows of a key.
type standing struct {
	// count is the events this process counted in the window, or all that
	// the counters hold once they refused one.
	count int
	ends  time.Time // when that window closes
	held  int       // slots reserved by requests at work, not yet taken or settled
	// pending are the events in count that were taken by requests still at
	// work: they may yet be given back, so they hold a slot rather than
	// close the window.
	pending int
	// freed is closed when a held slot is settled; made by the first waiter.
	freed chan struct{}
}

// NewGate returns a gate of limit (at least 1) events per window. name
// keeps its keys apart from other gates' in the counters, where keys are
// stored hashed; now is the clock (time.Now when nil).
func NewGate(name string, limit int, per time.Duration, c Counters, now func() time.Time) *Gate {
	if now == nil {
		now = time.Now
	}
	g := &Gate{name: name, limit: max(1, limit), per: per, counters: c, now: now}
	for i := range g.shards {
		g.shards[i].keys = make(map[string]*standing)
	}
	return g
}

func (g *Gate) shard(key string) *gateShard {
	h := uint32(2166136261)
	for i := 0; i < len(key); i++ {
		h = (h ^ uint32(key[i])) * 16777619
	}
	return &g.shards[h%uint32(len(g.shards))]
}

// counterKey is key as the counters store it: the gate's name and a hash,
// so that a database holds no e-mail or client address.
func (g *Gate) counterKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return g.name + ":" + base64.RawURLEncoding.EncodeToString(sum[:18])
}

// standing returns key's standing at now, made when missing. Called locked.
func (g *Gate) standing(sh *gateShard, key string, now time.Time) *standing {
	if now.Sub(sh.sweep) > g.per {
		for k, st := range sh.keys {
			if st.held == 0 && st.pending == 0 && (st.count == 0 || !now.Before(st.ends)) {
				delete(sh.keys, k)
			}
		}
		sh.sweep = now
	}
	st := sh.keys[key]
	if st == nil {
		st = &standing{}
		sh.keys[key] = st
	}
	if st.count > 0 && !now.Before(st.ends) {
		st.count = 0
	}
	return st
}

// settled wakes the requests waiting for one of key's slots and forgets a
// key with nothing to remember. Called locked.
func settled(sh *gateShard, key string, st *standing) {
	if st.freed != nil {
		close(st.freed)
		st.freed = nil
	}
	if st.held == 0 && st.pending == 0 && st.count == 0 {
		delete(sh.keys, key)
	}
}

// counted records an event this process counted in window w. The count w
// reports is not used: concurrent takes return in any order, and one that
// returns late would undo a give-back made meanwhile. Called locked.
func (st *standing) counted(w keybox.RateWindow) {
	switch {
	case w.Ends.After(st.ends):
		st.count, st.ends = 1, w.Ends
	case w.Ends.Equal(st.ends):
		st.count++
	}
}

// full records that the counters refused an event: other servers sharing
// them have used window w up. Called locked.
func (st *standing) full(w keybox.RateWindow) {
	if !w.Ends.Before(st.ends) {
		st.count, st.ends = max(st.count, w.Count), w.Ends
	}
}

func (g *Gate) refusal(st *standing, now time.Time) Status {
	reset := st.ends.Sub(now)
	if reset <= 0 {
		reset = g.per
	}
	return Status{Limit: g.limit, Reset: reset}
}

// Reserve holds a slot for an event of key, waiting while every slot left
// is held by requests at work. It returns nil and a refusal when key's
// window is used up, or when ctx ends first.
func (g *Gate) Reserve(ctx context.Context, key string) (*Slot, Status) {
	sh := g.shard(key)
	for {
		now := g.now()
		sh.mu.Lock()
		st := g.standing(sh, key, now)
		if st.count-st.pending >= g.limit {
			refused := g.refusal(st, now)
			sh.mu.Unlock()
			return nil, refused
		}
		if st.count+st.held < g.limit {
			st.held++
			status := Status{Allowed: true, Limit: g.limit, Remaining: g.limit - st.count - st.held, Reset: g.per}
			if st.count > 0 {
				status.Reset = st.ends.Sub(now)
			}
			sh.mu.Unlock()
			return &Slot{g: g, key: key}, status
		}
		if st.freed == nil {
			st.freed = make(chan struct{})
		}
		freed := st.freed
		sh.mu.Unlock()
		select {
		case <-freed:
		case <-ctx.Done():
			return nil, Status{Limit: g.limit, Reset: g.per}
		}
	}
}

// prune forgets closed windows in the counters, at most once a window.
func (g *Gate) prune(ctx context.Context, now time.Time) error {
	last, ms := g.pruned.Load(), now.UnixMilli()
	if ms-last < g.per.Milliseconds() || !g.pruned.CompareAndSwap(last, ms) {
		return nil
	}
	if _, err := g.counters.PruneRates(ctx, now); err != nil {
		return fmt.Errorf("rate limit %s: %w", g.name, err)
	}
	return nil
}

// Slot is an event of one key held by a request: settle it with Take and
// then possibly Release, with Keep, or with Release. A slot is used by one
// goroutine.
type Slot struct {
	g       *Gate
	key     string
	taken   bool      // counted in the counters
	ends    time.Time // the window it was counted in
	settled bool      // no longer held
}

// Take counts the event in the counters now, before the work (when its
// success must not be repeatable, as a password check's). When the servers
// sharing the counters have used the window up, the slot is let go and the
// refusal returned. A slot taken may still be released later.
func (s *Slot) Take(ctx context.Context) (Status, error) {
	g := s.g
	switch {
	case s.taken:
		return Status{Allowed: true, Limit: g.limit, Reset: s.ends.Sub(g.now())}, nil
	case s.settled:
		return Status{}, fmt.Errorf("rate limit %s: a slot released cannot be taken", g.name)
	}
	now := g.now()
	var w keybox.RateWindow
	ok := false
	err := g.prune(ctx, now)
	if err == nil {
		w, ok, err = g.counters.TakeRate(ctx, g.counterKey(s.key), g.limit, g.per, now)
		if err != nil {
			err = fmt.Errorf("rate limit %s: %w", g.name, err)
		}
	}
	sh := g.shard(s.key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	st := g.standing(sh, s.key, now)
	st.held--
	switch {
	case err != nil:
	case ok:
		st.counted(w)
		st.pending++
	default:
		st.full(w)
	}
	settled(sh, s.key, st)
	if err != nil || !ok {
		s.settled = true
		return g.refusal(st, now), err
	}
	s.taken, s.ends = true, w.Ends
	return Status{Allowed: true, Limit: g.limit, Remaining: g.limit - w.Count, Reset: w.Ends.Sub(now)}, nil
}

// Keep counts the event (taking it now unless it was taken) and settles
// the slot: a later Release does nothing. When the servers sharing the
// counters have used the window up, it returns the refusal.
func (s *Slot) Keep(ctx context.Context) (Status, error) {
	status, err := s.Take(ctx)
	if s.taken && !s.settled {
		g := s.g
		sh := g.shard(s.key)
		sh.mu.Lock()
		st := g.standing(sh, s.key, g.now())
		st.pending = max(0, st.pending-1)
		settled(sh, s.key, st)
		sh.mu.Unlock()
	}
	s.settled = true
	return status, err
}

// Release lets the slot go: the outcome was not one the limit counts (a
// login that succeeded, a key that exists). A slot that was taken is given
// back to the counters, in the window it was counted in.
func (s *Slot) Release(ctx context.Context) error {
	if s.settled {
		return nil
	}
	s.settled = true
	g := s.g
	var err error
	if s.taken {
		if err = g.counters.GiveBackRate(ctx, g.counterKey(s.key), s.ends); err != nil {
			err = fmt.Errorf("rate limit %s: %w", g.name, err)
		}
	}
	sh := g.shard(s.key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	st := g.standing(sh, s.key, g.now())
	switch {
	case !s.taken:
		st.held--
	default:
		st.pending = max(0, st.pending-1)
		if err == nil && st.ends.Equal(s.ends) && st.count > 0 {
			st.count--
		}
	}
	settled(sh, s.key, st)
	return err
}
