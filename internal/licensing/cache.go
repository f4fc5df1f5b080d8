package licensing

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/keyboxhq/keybox"
)

// Defaults of the validation cache.
const (
	// DefaultCacheTTL bounds how long a license read by one server may be
	// served from its memory. A change made through another server sharing
	// the database is seen within this time, well inside the 1 second a
	// revocation may take to reach every server;
	// a change made through this server is seen at once (it invalidates).
	DefaultCacheTTL = 500 * time.Millisecond
	// DefaultCacheSize bounds the number of keys held.
	DefaultCacheSize = 100_000
)

// cached is a license and its seats as read at one moment, or the fact
// that no license has that key.
type cached struct {
	found   bool
	license keybox.License
	seats   []keybox.Activation
	loaded  time.Time // when the read began, on the cache's clock (monotonic by default)
}

const cacheShards = 32

// licenseCache is the read-through cache of /validate. Entries are never
// changed, only replaced, so readers share them without copying.
type licenseCache struct {
	ttl      time.Duration
	perShard int
	now      func() time.Time // the clock of the TTL
	// gen counts invalidations. A read that began before one must not be
	// stored after it, or it would resurrect what was invalidated.
	gen    atomic.Uint64
	shards [cacheShards]cacheShard
}

type cacheShard struct {
	mu       sync.RWMutex
	entries  map[string]*cached
	inflight map[string]*load
}

// load is one read from the store that concurrent misses on a key share.
type load struct {
	done chan struct{}
	e    *cached
	err  error
}

func newLicenseCache(ttl time.Duration, size int) *licenseCache {
	if ttl <= 0 {
		ttl = DefaultCacheTTL
	}
	if size <= 0 {
		size = DefaultCacheSize
	}
	c := &licenseCache{ttl: ttl, perShard: max(1, size/cacheShards), now: time.Now}
	for i := range c.shards {
		c.shards[i].entries = make(map[string]*cached)
		c.shards[i].inflight = make(map[string]*load)
	}
	return c
}

func (c *licenseCache) shard(key string) *cacheShard {
	h := uint32(2166136261)
	for i := 0; i < len(key); i++ {
		h = (h ^ uint32(key[i])) * 16777619
	}
	return &c.shards[h%cacheShards]
}

func (c *licenseCache) fresh(e *cached) bool { return e != nil && c.now().Sub(e.loaded) < c.ttl }

// get returns the entry for key, reading it with fetch when it is missing
// or older than the TTL. Concurrent misses on one key share one read.
func (c *licenseCache) get(ctx context.Context, key string, fetch func(context.Context, string) (*cached, error)) (*cached, error) {
	sh := c.shard(key)
	sh.mu.RLock()
	e := sh.entries[key]
	sh.mu.RUnlock()
	if c.fresh(e) {
		return e, nil
	}

	sh.mu.Lock()
	if e := sh.entries[key]; c.fresh(e) {
		sh.mu.Unlock()
		return e, nil
	}
	if l, ok := sh.inflight[key]; ok {
		sh.mu.Unlock()
		select {
		case <-l.done:
			return l.e, l.err
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	l := &load{done: make(chan struct{})}
	sh.inflight[key] = l
	gen := c.gen.Load()
	sh.mu.Unlock()

	started := c.now()
	l.e, l.err = fetch(context.WithoutCancel(ctx), key)
	if l.e != nil {
		l.e.loaded = started
	}

	sh.mu.Lock()
	if sh.inflight[key] == l { // a forget may have let a newer read take its place
		delete(sh.inflight, key)
	}
	if l.err == nil && c.gen.Load() == gen {
		c.putLocked(sh, key, l.e)
	}
	sh.mu.Unlock()
	close(l.done)
	return l.e, l.err
}

// putLocked stores an entry, making room in a full shard: first by dropping
// stale entries, then any.
func (c *licenseCache) putLocked(sh *cacheShard, key string, e *cached) {
	if len(sh.entries) >= c.perShard {
		for k, old := range sh.entries {
			if !c.fresh(old) {
				delete(sh.entries, k)
			}
		}
		for k := range sh.entries {
			if len(sh.entries) < c.perShard {
				break
			}
			delete(sh.entries, k)
		}
	}
	sh.entries[key] = e
}

// forget drops keys, or everything when none are given. A read already
// under way may have begun before the change: it still answers the requests
// waiting on it, which were concurrent with the change, but a request that
// comes after the forget starts a read of its own instead of joining it.
func (c *licenseCache) forget(keys ...string) {
	c.gen.Add(1)
	if len(keys) == 0 {
		for i := range c.shards {
			sh := &c.shards[i]
			sh.mu.Lock()
			clear(sh.entries)
			clear(sh.inflight)
			sh.mu.Unlock()
		}
		return
	}
	for _, k := range keys {
		sh := c.shard(k)
		sh.mu.Lock()
		delete(sh.entries, k)
		delete(sh.inflight, k)
		sh.mu.Unlock()
	}
}

// load reads a license and its seats for the cache.
func (s *Service) load(ctx context.Context, key string) (*cached, error) {
	l, err := s.store.License(ctx, key)
	if errors.Is(err, keybox.ErrNotFound) {
		return &cached{}, nil
	}
	if err != nil {
		return nil, err
	}
	seats, err := s.store.Activations(ctx, l.ID)
	if err != nil {
		return nil, err
	}
	return &cached{found: true, license: l, seats: seats}, nil
}
