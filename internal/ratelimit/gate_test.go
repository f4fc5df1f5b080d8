package ratelimit_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keyboxhq/keybox/internal/ratelimit"
	"github.com/keyboxhq/keybox/internal/storetest"
)

// Memory behaves as the Store's counters do, on the same checks.
func TestMemoryIsAStoreCounter(t *testing.T) {
	t.Run("windows", func(t *testing.T) { storetest.CheckRateWindows(t, ratelimit.NewMemory()) })
	t.Run("concurrent", func(t *testing.T) { storetest.CheckRateConcurrentTakes(t, ratelimit.NewMemory()) })
}

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// burst runs n concurrent requests for one key through g; work says
// whether the request's event counts (a failure) and is called only for
// requests holding a slot. It returns how many did the work.
func burst(t *testing.T, g *ratelimit.Gate, n int, take bool, counts func() bool) int {
	t.Helper()
	ctx := context.Background()
	var worked atomic.Int64
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range n {
		wg.Go(func() {
			<-start
			slot, st := g.Reserve(ctx, "k")
			if slot == nil {
				if st.Allowed || st.Reset <= 0 {
					t.Errorf("refusal %+v", st)
				}
				return
			}
			if take {
				if st, err := slot.Take(ctx); err != nil || !st.Allowed {
					t.Errorf("take: %+v, %v", st, err)
					return
				}
			}
			worked.Add(1)
			var err error
			if counts() {
				_, err = slot.Keep(ctx)
			} else {
				err = slot.Release(ctx)
			}
			if err != nil {
				t.Error(err)
			}
		})
	}
	close(start)
	wg.Wait()
	return int(worked.Load())
}

// TestGateBurstGetsExactlyTheLimit: 200 concurrent failures, whether
// counted before the work or after it, do the work exactly the limit's
// number of times.
func TestGateBurstGetsExactlyTheLimit(t *testing.T) {
	for _, take := range []bool{true, false} {
		c := newClock()
		g := ratelimit.NewGate("t", 10, 15*time.Minute, ratelimit.NewMemory(), c.Now)
		if got := burst(t, g, 200, take, func() bool { return true }); got != 10 {
			t.Fatalf("take first %v: %d of 200 did the work, want 10", take, got)
		}
		if slot, st := g.Reserve(context.Background(), "k"); slot != nil || st.Reset != 15*time.Minute {
			t.Fatalf("after the burst: slot %v, %+v; want a refusal for the whole window", slot, st)
		}
		c.Add(15 * time.Minute)
		if slot, _ := g.Reserve(context.Background(), "k"); slot == nil {
			t.Fatal("refused in the next window")
		}
	}
}

// TestGateHonestBurstIsServed: requests whose outcome does not count wait
// for slots held by others rather than being refused.
func TestGateHonestBurstIsServed(t *testing.T) {
	g := ratelimit.NewGate("t", 3, time.Minute, ratelimit.NewMemory(), nil)
	if got := burst(t, g, 200, false, func() bool { return false }); got != 200 {
		t.Fatalf("%d of 200 served, want all", got)
	}
	var n atomic.Int64
	// Mixed: one in four fails; the fourth failure and later are refused.
	got := burst(t, g, 200, true, func() bool { return n.Add(1)%4 == 0 })
	if failures := n.Load() / 4; failures != 3 || got < 12 {
		t.Fatalf("%d served, %d failures; want 3 failures and at least 12 served", got, failures)
	}
}

func TestGateGiveBackAndSharing(t *testing.T) {
	ctx := context.Background()
	c := newClock()
	shared := ratelimit.NewMemory()
	a := ratelimit.NewGate("login", 3, 15*time.Minute, shared, c.Now)
	b := ratelimit.NewGate("login", 3, 15*time.Minute, shared, c.Now)
	take := func(g *ratelimit.Gate) (*ratelimit.Slot, ratelimit.Status) {
		t.Helper()
		slot, st := g.Reserve(ctx, "ada")
		if slot == nil {
			return nil, st
		}
		st, err := slot.Take(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !st.Allowed {
			return nil, st
		}
		return slot, st
	}
	s1, _ := take(a)
	if s1 == nil {
		t.Fatal("first refused")
	}
	if s, _ := take(a); s == nil {
		t.Fatal("second refused")
	}
	// B knows nothing yet, but the shared count stops it at the limit.
	if s, st := take(b); s == nil || st.Remaining != 0 {
		t.Fatalf("third on B: %v %+v", s, st)
	}
	c.Add(time.Minute)
	if s, st := take(b); s != nil || st.Reset != 14*time.Minute {
		t.Fatalf("fourth on B: %v %+v, want refused for 14 minutes", s, st)
	}
	// A success gives its slot back: the next attempt on B goes through
	// the counters again, and is counted.
	if err := s1.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s1.Release(ctx); err != nil { // twice changes nothing
		t.Fatal(err)
	}
	if s, _ := take(a); s == nil {
		t.Fatal("refused after a give-back")
	}
	if s, _ := take(a); s != nil {
		t.Fatal("the give-back freed two slots")
	}
	// Kept slots are not given back.
	c.Add(14 * time.Minute)
	s2, _ := take(a)
	if _, err := s2.Keep(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s2.Release(ctx); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		if s, _ := take(b); s == nil {
			t.Fatalf("new window, attempt %d refused", i+2)
		}
	}
	if s, _ := take(b); s != nil {
		t.Fatal("a kept slot was given back")
	}
}

// TestGateWaiterGivesUp: a request waiting for a slot leaves with its context.
func TestGateWaiterGivesUp(t *testing.T) {
	g := ratelimit.NewGate("t", 1, time.Minute, ratelimit.NewMemory(), nil)
	held, _ := g.Reserve(context.Background(), "k")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan *ratelimit.Slot)
	go func() {
		s, _ := g.Reserve(ctx, "k")
		done <- s
	}()
	cancel()
	if s := <-done; s != nil {
		t.Fatal("got a slot that was held")
	}
	if err := held.Release(context.Background()); err != nil {
		t.Fatal(err)
	}
	if s, _ := g.Reserve(context.Background(), "k"); s == nil {
		t.Fatal("the slot was not freed")
	}
}
