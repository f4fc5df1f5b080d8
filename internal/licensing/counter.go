package licensing

import (
	"context"
	"sync"
	"time"

	"github.com/keyboxhq/keybox"
)

// DefaultFlushInterval is how often counted validations are written.
const DefaultFlushInterval = 5 * time.Second

type countKey struct {
	license string
	owner   string
	day     keybox.Day
}

const counterShards = 16

// counter counts validations in memory, per license per day, and remembers
// when each seat was last seen, until a flush writes them in one batch.
type counter struct {
	shards [counterShards]counterShard
}

type counterShard struct {
	mu   sync.Mutex
	n    map[countKey]int
	seen map[string]time.Time
	_    [32]byte // keeps neighbouring shards' locks off one cache line
}

func newCounter() *counter {
	c := &counter{}
	for i := range c.shards {
		c.shards[i].n = make(map[countKey]int)
		c.shards[i].seen = make(map[string]time.Time)
	}
	return c
}

func (c *counter) shard(licenseID string) *counterShard {
	h := uint32(2166136261)
	for i := 0; i < len(licenseID); i++ {
		h = (h ^ uint32(licenseID[i])) * 16777619
	}
	return &c.shards[h%counterShards]
}

// add counts one validation; seat, when set, was seen at now.
func (c *counter) add(licenseID, ownerID, seat string, now time.Time) {
	sh := c.shard(licenseID)
	sh.mu.Lock()
	sh.n[countKey{licenseID, ownerID, keybox.DayOf(now)}]++
	if seat != "" && now.After(sh.seen[seat]) {
		sh.seen[seat] = now
	}
	sh.mu.Unlock()
}

// see remembers that a seat was heard from at now without counting a
// validation (a heartbeat renewing a lease).
func (c *counter) see(licenseID, seat string, now time.Time) {
	sh := c.shard(licenseID)
	sh.mu.Lock()
	if now.After(sh.seen[seat]) {
		sh.seen[seat] = now
	}
	sh.mu.Unlock()
}

// seenAt returns the last time a seat of the license was seen that is not
// yet written, or the zero time.
func (c *counter) seenAt(licenseID, seat string) time.Time {
	sh := c.shard(licenseID)
	sh.mu.Lock()
	at := sh.seen[seat]
	sh.mu.Unlock()
	if first := &c.shards[0]; first != sh { // where restore puts them back
		first.mu.Lock()
		if t := first.seen[seat]; t.After(at) {
			at = t
		}
		first.mu.Unlock()
	}
	return at
}

// drain takes everything counted so far.
func (c *counter) drain() ([]keybox.ValidationCount, []keybox.ActivationSeen) {
	var counts []keybox.ValidationCount
	var seen []keybox.ActivationSeen
	for i := range c.shards {
		sh := &c.shards[i]
		sh.mu.Lock()
		n, s := sh.n, sh.seen
		if len(n) > 0 || len(s) > 0 {
			sh.n, sh.seen = make(map[countKey]int), make(map[string]time.Time)
		}
		sh.mu.Unlock()
		for k, v := range n {
			counts = append(counts, keybox.ValidationCount{LicenseID: k.license, OwnerID: k.owner, Day: k.day, Count: v})
		}
		for id, at := range s {
			seen = append(seen, keybox.ActivationSeen{ActivationID: id, At: at})
		}
	}
	return counts, seen
}

// restore puts back what a failed flush drained, to be written next time.
func (c *counter) restore(counts []keybox.ValidationCount, seen []keybox.ActivationSeen) {
	for _, v := range counts {
		sh := c.shard(v.LicenseID)
		sh.mu.Lock()
		sh.n[countKey{v.LicenseID, v.OwnerID, v.Day}] += v.Count
		sh.mu.Unlock()
	}
	for _, s := range seen {
		sh := &c.shards[0] // any shard will do: drain reads them all
		sh.mu.Lock()
		if s.At.After(sh.seen[s.ActivationID]) {
			sh.seen[s.ActivationID] = s.At
		}
		sh.mu.Unlock()
	}
}

// pending returns the owner's validations on day not yet written.
func (c *counter) pending(ownerID string, day keybox.Day) int {
	total := 0
	for i := range c.shards {
		sh := &c.shards[i]
		sh.mu.Lock()
		for k, v := range sh.n {
			if k.owner == ownerID && k.day == day {
				total += v
			}
		}
		sh.mu.Unlock()
	}
	return total
}

// FlushValidations writes the validations counted so far. What cannot be
// written is kept for the next flush.
func (s *Service) FlushValidations(ctx context.Context) error {
	counts, seen := s.counts.drain()
	if len(counts) == 0 && len(seen) == 0 {
		return nil
	}
	if err := s.store.RecordValidations(ctx, counts, seen); err != nil {
		s.counts.restore(counts, seen)
		return err
	}
	return nil
}

// RunFlusher writes counted validations every interval until ctx ends, then
// once more, so that a clean shutdown loses none.
func (s *Service) RunFlusher(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			final, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			defer cancel()
			if err := s.FlushValidations(final); err != nil {
				s.log.Error("flush validations at shutdown", "error", err)
			}
			return
		case <-t.C:
			if err := s.FlushValidations(ctx); err != nil && ctx.Err() == nil {
				s.log.Error("flush validations", "error", err)
			}
		}
	}
}
