package licensing

import (
	"context"
	"sort"
	"sync"
	"time"

	"github.com/keyboxhq/keybox"
)

// Outcomes of a webhook delivery attempt, as Activity counts them.
const (
	AttemptDelivered = "delivered" // the endpoint answered 2xx
	AttemptRetry     = "retry"     // it failed, and is tried again later
	AttemptFailed    = "failed"    // it failed, and the delivery is given up
)

// AttemptBuckets are the upper bounds, in seconds, of the attempt duration
// histogram: from 5 ms to the attempt's time limit (webhook.Timeout).
var AttemptBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

// Activity is what this process has done with events and webhooks since it
// started, for /metrics: every server counts its own.
type Activity struct {
	// Events counts the events committed, by type (every type, from 0).
	Events map[string]uint64
	// Attempts counts the delivery attempts whose outcome was recorded, by
	// outcome (every outcome, from 0).
	Attempts map[string]uint64
	// AttemptDurations counts the attempts by how long they took:
	// AttemptDurations[i] those of at most AttemptBuckets[i] and more than
	// the bound before (not cumulative), the last one those over every bound.
	AttemptDurations []uint64
	// AttemptSeconds is the time all of them took.
	AttemptSeconds float64
}

// activity keeps the counts behind Activity. Events are counted after the
// transaction that records them commits, attempts after their outcome is
// recorded: a change that rolls back, or an outcome another server decided,
// counts nothing.
type activity struct {
	mu       sync.Mutex
	events   map[string]uint64
	attempts map[string]uint64
	buckets  []uint64
	seconds  float64
}

func newActivity() *activity {
	a := &activity{events: make(map[string]uint64, len(keybox.EventTypes)), buckets: make([]uint64, len(AttemptBuckets)+1),
		attempts: map[string]uint64{AttemptDelivered: 0, AttemptRetry: 0, AttemptFailed: 0}}
	for _, t := range keybox.EventTypes {
		a.events[t] = 0
	}
	return a
}

func (a *activity) recorded(types []string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, t := range types {
		a.events[t]++
	}
}

// attempted counts one attempt; d is 0 for one never sent (its webhook's
// secret could not be opened), which has no duration to count.
func (a *activity) attempted(outcome string, d time.Duration) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.attempts[outcome]++
	if d > 0 {
		a.buckets[sort.SearchFloat64s(AttemptBuckets, d.Seconds())]++
		a.seconds += d.Seconds()
	}
}

// Activity returns what this process has done with events and webhooks.
func (s *Service) Activity() Activity {
	a := s.activity
	a.mu.Lock()
	defer a.mu.Unlock()
	out := Activity{Events: make(map[string]uint64, len(a.events)), Attempts: make(map[string]uint64, len(a.attempts)),
		AttemptDurations: append([]uint64(nil), a.buckets...), AttemptSeconds: a.seconds}
	for k, v := range a.events {
		out.Events[k] = v
	}
	for k, v := range a.attempts {
		out.Attempts[k] = v
	}
	return out
}

// Outbox describes the webhook deliveries waiting in the database, shared
// by every server using it.
func (s *Service) Outbox(ctx context.Context) (keybox.OutboxStats, error) {
	return s.store.Outbox(ctx, s.clock())
}
