package licensing

import (
	"context"
	"errors"
	"math"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/keyboxhq/keybox"
)

// Defaults of the validation cache.
const (
	// DefaultCacheTTL bounds how long a license read by one server may be
	// served from its memory unless the change feed vouches for it. A
	// change made through another server sharing the database is seen
	// within this time, well inside the 1 second a revocation may take to
	// reach every server; a change made through this server is seen at once
	// (it invalidates).
	DefaultCacheTTL = 500 * time.Millisecond
	// DefaultCacheSize bounds the memory the cache holds, in bytes, as
	// estimated entry by entry (about 540 bytes for a license of one seat,
	// a tenth over what the heap shows): about 60,000 licenses. With the
	// garbage collector's default headroom (GOGC=100) the heap may grow to
	// twice what is live, so this keeps a server's RSS near 128 MB.
	DefaultCacheSize = 32 << 20
)

// cached is what /validate needs of a license and its seats, as read at one
// moment, or the fact that no license has that key. It keeps only the
// fields a validation reads, so that many fit in the memory allowed.
type cached struct {
	found bool
	lic   validLicense
	seats []validSeat
	// loaded is when the read began, in nanoseconds on the cache's clock
	// since the cache was made.
	loaded int64
	// lapseAt is when, on the service's clock (Unix milliseconds), the
	// first seat lapses as read; math.MaxInt64 when none can. An entry
	// kept past its TTL by the change feed is read again from then: the
	// feed does not report the last-validated times another server writes,
	// which can only make a seat live longer than this entry says.
	lapseAt int64

	key  string
	size int64       // estimated bytes, counted against the cache's size
	slot int         // index in its shard's ring
	ref  atomic.Bool // used since the clock hand last passed
}

// validLicense is the part of a license a validation reads.
type validLicense struct {
	id, ownerID, product string
	status               keybox.Status
	entitlements         []string
	expires              int64 // Unix milliseconds
	duration, lease      int
	requireMachine       bool
}

// validSeat is the part of a seat a validation reads.
type validSeat struct {
	id, machine, instance string
	activated, validated  int64 // Unix milliseconds; validated is 0 when never
}

// newCached keeps of l and its seats what a validation reads.
func newCached(l keybox.License, seats []keybox.Activation) *cached {
	e := &cached{found: true, lapseAt: math.MaxInt64, lic: validLicense{
		id: l.ID, ownerID: l.OwnerID, product: string(l.ProductName), status: l.Status,
		entitlements: l.Entitlements, expires: l.ExpiresAt.Millis(), duration: l.Duration,
		lease: l.LeaseSeconds, requireMachine: l.RequireMachineID,
	}}
	if len(seats) > 0 {
		e.seats = make([]validSeat, len(seats))
	}
	lease := leaseOf(&l)
	for i, a := range seats {
		e.seats[i] = validSeat{id: a.ID, machine: a.MachineID, instance: a.InstanceID, activated: a.ActivatedAt.Millis()}
		if !a.LastValidatedAt.IsZero() {
			e.seats[i].validated = a.LastValidatedAt.Millis()
		}
		if lease > 0 {
			e.lapseAt = min(e.lapseAt, heardStored(&a).Add(lease).UnixMilli())
		}
	}
	return e
}

// license returns the license as far as the entry knows it: enough for
// every rule a validation applies.
func (e *cached) license() keybox.License {
	return keybox.License{ID: e.lic.id, OwnerID: e.lic.ownerID, ProductName: keybox.NullString(e.lic.product),
		Status: e.lic.status, Entitlements: e.lic.entitlements, ExpiresAt: keybox.TimeFromMillis(e.lic.expires),
		Duration: e.lic.duration, LeaseSeconds: e.lic.lease, RequireMachineID: e.lic.requireMachine}
}

// activations appends the entry's seats to buf as the seat rules read
// them; a buf on the caller's stack with room for them spares the heap.
func (e *cached) activations(buf []keybox.Activation) []keybox.Activation {
	for i := range e.seats {
		a := &e.seats[i]
		seat := keybox.Activation{ID: a.id, MachineID: a.machine, InstanceID: a.instance,
			ActivatedAt: keybox.TimeFromMillis(a.activated)}
		if a.validated != 0 {
			seat.LastValidatedAt = keybox.TimeFromMillis(a.validated)
		}
		buf = append(buf, seat)
	}
	return buf
}

// Bytes an entry costs beyond its strings and seats: the entry itself, its
// map slot (key header, pointer, bucket overhead) and its ring slot.
const (
	entryOverhead  = int64(unsafe.Sizeof(cached{})) + 48 + 8
	seatSize       = int64(unsafe.Sizeof(validSeat{}))
	stringOverhead = 8 // allocation rounding, on average
)

// estimateSize estimates the bytes e holds in memory.
func (e *cached) estimateSize() int64 {
	n := entryOverhead + strBytes(e.key) + strBytes(e.lic.id) + strBytes(e.lic.ownerID) + strBytes(e.lic.product)
	for _, s := range e.lic.entitlements {
		n += 16 + strBytes(s)
	}
	for i := range e.seats {
		a := &e.seats[i]
		n += seatSize + strBytes(a.id) + strBytes(a.machine) + strBytes(a.instance)
	}
	return n
}

func strBytes(s string) int64 {
	if s == "" {
		return 0
	}
	return int64(len(s)) + stringOverhead
}

const cacheShards = 32

// licenseCache is the read-through cache of /validate. Entries are never
// changed, only replaced, so readers share them without copying.
//
// An entry is fresh for the TTL after its read began, or for the TTL after
// the change feed last began a round (see sync): every change committed
// before that round began has been forgotten, and one committed since is
// younger than the TTL. When the feed stops (its connection is lost), its
// last round ages and entries fall back to the TTL alone.
//
// Memory is bounded in bytes: each shard holds at most its share of size,
// making room with the CLOCK algorithm (an entry used since the hand last
// passed it gets another turn), which costs a hit no lock but a read lock.
type licenseCache struct {
	ttl    time.Duration
	budget int64            // bytes per shard
	now    func() time.Time // the clock of the TTL
	wall   func() time.Time // the service's clock, which leases are judged on
	base   time.Time        // times are kept as nanoseconds since base
	// synced is when (nanoseconds since base) the change feed began its
	// last complete round; math.MinInt64 before any.
	synced atomic.Int64
	// gen counts invalidations. A read that began before one must not be
	// stored after it, or it would resurrect what was invalidated.
	gen    atomic.Uint64
	shards [cacheShards]cacheShard
}

type cacheShard struct {
	mu       sync.RWMutex
	entries  map[string]*cached
	inflight map[string]*load
	ring     []*cached // nil slots are free
	free     []int
	hand     int
	bytes    int64
}

// load is one read from the store that concurrent misses on a key share.
type load struct {
	done chan struct{}
	e    *cached
	err  error
}

func newLicenseCache(ttl time.Duration, size int64) *licenseCache {
	if ttl <= 0 {
		ttl = DefaultCacheTTL
	}
	if size <= 0 {
		size = DefaultCacheSize
	}
	c := &licenseCache{ttl: ttl, budget: max(1, size/cacheShards), now: time.Now, wall: time.Now}
	c.base = c.now()
	c.synced.Store(math.MinInt64)
	for i := range c.shards {
		c.shards[i].entries = make(map[string]*cached)
		c.shards[i].inflight = make(map[string]*load)
	}
	return c
}

// setClock sets the clock of the TTL (before any use).
func (c *licenseCache) setClock(now func() time.Time) {
	c.now = now
	c.base = now()
}

func (c *licenseCache) shard(key string) *cacheShard {
	h := uint32(2166136261)
	for i := 0; i < len(key); i++ {
		h = (h ^ uint32(key[i])) * 16777619
	}
	return &c.shards[h%cacheShards]
}

// since returns the cache clock's reading as nanoseconds since base.
func (c *licenseCache) since() int64 { return int64(c.now().Sub(c.base)) }

// fresh reports whether e may be served at now.
func (c *licenseCache) fresh(e *cached, now int64) bool {
	if e == nil {
		return false
	}
	ttl := int64(c.ttl)
	if now-e.loaded < ttl {
		return true
	}
	synced := c.synced.Load()
	return synced != math.MinInt64 && now-synced < ttl && c.wall().UnixMilli() < e.lapseAt
}

// get returns the entry for key, reading it with fetch when it is missing
// or not fresh. Concurrent misses on one key share one read.
func (c *licenseCache) get(ctx context.Context, key string, fetch func(context.Context, string) (*cached, error)) (*cached, error) {
	sh := c.shard(key)
	now := c.since()
	sh.mu.RLock()
	e := sh.entries[key]
	sh.mu.RUnlock()
	if c.fresh(e, now) {
		if !e.ref.Load() {
			e.ref.Store(true)
		}
		return e, nil
	}

	sh.mu.Lock()
	if e := sh.entries[key]; c.fresh(e, now) {
		sh.mu.Unlock()
		e.ref.Store(true)
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

	started := c.since()
	l.e, l.err = fetch(context.WithoutCancel(ctx), key)
	if l.e != nil {
		l.e.loaded, l.e.key = started, key
		l.e.size = l.e.estimateSize()
	}

	sh.mu.Lock()
	if sh.inflight[key] == l { // a forget may have let a newer read take its place
		delete(sh.inflight, key)
	}
	if l.err == nil && c.gen.Load() == gen && l.e.size <= c.budget {
		c.putLocked(sh, l.e)
	}
	sh.mu.Unlock()
	close(l.done)
	return l.e, l.err
}

// putLocked stores an entry, replacing the key's old one and evicting
// others while the shard would exceed its budget.
func (c *licenseCache) putLocked(sh *cacheShard, e *cached) {
	if old := sh.entries[e.key]; old != nil {
		sh.removeLocked(old)
	}
	for sh.bytes+e.size > c.budget && len(sh.entries) > 0 {
		sh.evictLocked()
	}
	if n := len(sh.free); n > 0 {
		e.slot, sh.free = sh.free[n-1], sh.free[:n-1]
		sh.ring[e.slot] = e
	} else {
		e.slot = len(sh.ring)
		sh.ring = append(sh.ring, e)
	}
	sh.entries[e.key] = e
	sh.bytes += e.size
}

func (sh *cacheShard) removeLocked(e *cached) {
	delete(sh.entries, e.key)
	sh.ring[e.slot] = nil
	sh.free = append(sh.free, e.slot)
	sh.bytes -= e.size
}

// evictLocked removes one entry: the first the hand finds that was not used
// since it last passed. It ends within two turns of the ring, since the
// hand clears what it passes.
func (sh *cacheShard) evictLocked() {
	for {
		e := sh.ring[sh.hand]
		sh.hand = (sh.hand + 1) % len(sh.ring)
		if e == nil || e.ref.Swap(false) {
			continue
		}
		sh.removeLocked(e)
		return
	}
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
			sh.ring, sh.free, sh.hand, sh.bytes = nil, nil, 0, 0
			sh.mu.Unlock()
		}
		return
	}
	for _, k := range keys {
		sh := c.shard(k)
		sh.mu.Lock()
		if e := sh.entries[k]; e != nil {
			sh.removeLocked(e)
		}
		delete(sh.inflight, k)
		sh.mu.Unlock()
	}
}

// round begins a round of the change feed (see keybox.Store.WatchLicenses).
func (c *licenseCache) round() keybox.LicenseChanges {
	began := c.since()
	return func(keys []string, all bool) {
		switch {
		case all:
			c.forget()
		case len(keys) > 0:
			c.forget(keys...)
		}
		for {
			old := c.synced.Load()
			if began <= old || c.synced.CompareAndSwap(old, began) {
				return
			}
		}
	}
}

// bytes returns the estimated bytes held, for tests and metrics.
func (c *licenseCache) bytes() int64 {
	var n int64
	for i := range c.shards {
		sh := &c.shards[i]
		sh.mu.RLock()
		n += sh.bytes
		sh.mu.RUnlock()
	}
	return n
}

// load reads a license and its seats for the cache, in one store read.
func (s *Service) load(ctx context.Context, key string) (*cached, error) {
	l, seats, err := s.store.LicenseWithSeats(ctx, key)
	if errors.Is(err, keybox.ErrNotFound) {
		return &cached{lapseAt: math.MaxInt64}, nil
	}
	if err != nil {
		return nil, err
	}
	return newCached(l, seats), nil
}

// WatchChanges keeps the validation cache in step with changes made through
// other servers sharing the database, until ctx ends, so that it may serve
// a license for as long as it is unchanged instead of only for the TTL.
func (s *Service) WatchChanges(ctx context.Context) {
	if err := s.store.WatchLicenses(ctx, s.cache.round); err != nil && ctx.Err() == nil {
		s.log.Warn("license change feed stopped; the validation cache falls back to its TTL", "error", err)
	}
}
