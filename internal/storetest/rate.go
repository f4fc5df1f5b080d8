package storetest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/keyboxhq/keybox"
)

// Rates are the rate counters of keybox.Store, which a one-process
// implementation (internal/ratelimit's Memory) must mirror.
type Rates interface {
	TakeRate(ctx context.Context, key string, limit int, per time.Duration, now time.Time) (keybox.RateWindow, bool, error)
	GiveBackRate(ctx context.Context, key string, ends time.Time) error
	PruneRates(ctx context.Context, now time.Time) (int, error)
}

func testRateWindows(t *testing.T, s keybox.Store) { CheckRateWindows(t, s) }

func testRateConcurrentTakes(t *testing.T, s keybox.Store) { CheckRateConcurrentTakes(t, s) }

// CheckRateWindows walks one key through its windows: counted up to the
// limit, refused past it with the window's end, given back, reopened once
// the window closes, and pruned.
func CheckRateWindows(t *testing.T, r Rates) {
	ctx := context.Background()
	now := base.Time
	ends := now.Add(15 * time.Minute)
	take := func(key string, wantTaken bool, wantCount int, wantEnds time.Time) {
		t.Helper()
		w, taken, err := r.TakeRate(ctx, key, 3, 15*time.Minute, now)
		if err != nil {
			t.Fatal(err)
		}
		if taken != wantTaken || w.Count != wantCount || !w.Ends.Equal(wantEnds) {
			t.Fatalf("take %s at %v: got taken=%v %+v, want taken=%v count %d, ends %v", key, now, taken, w, wantTaken, wantCount, wantEnds)
		}
	}
	for i := 1; i <= 3; i++ {
		take("a", true, i, ends)
	}
	now = now.Add(5 * time.Minute)
	take("a", false, 3, ends) // full: refused, and not counted
	take("a", false, 3, ends)
	take("b", true, 1, now.Add(15*time.Minute)) // another key has its own window

	if err := r.GiveBackRate(ctx, "a", ends); err != nil {
		t.Fatal(err)
	}
	take("a", true, 3, ends) // the slot given back is free again
	take("a", false, 3, ends)
	// A give-back for a window that has closed changes nothing.
	if err := r.GiveBackRate(ctx, "a", ends.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	take("a", false, 3, ends)
	// A key never counted, or a window already empty, gives back nothing.
	if err := r.GiveBackRate(ctx, "none", ends); err != nil {
		t.Fatal(err)
	}

	now = ends // the window closes at its end
	take("a", true, 1, now.Add(15*time.Minute))
	if err := r.GiveBackRate(ctx, "a", now.Add(15*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := r.GiveBackRate(ctx, "a", now.Add(15*time.Minute)); err != nil {
		t.Fatal(err)
	}
	take("a", true, 1, now.Add(15*time.Minute)) // never below zero

	// Pruning removes closed windows only: "b" closed at base+20m.
	n, err := r.PruneRates(ctx, base.Add(20*time.Minute))
	if err != nil || n != 1 {
		t.Fatalf("prune: got %d, %v; want 1 window removed", n, err)
	}
	take("a", true, 2, now.Add(15*time.Minute))
	take("b", true, 1, now.Add(15*time.Minute))
}

// CheckRateConcurrentTakes: takes racing on one key count exactly the limit.
func CheckRateConcurrentTakes(t *testing.T, r Rates) {
	ctx := context.Background()
	const limit, racers = 20, 60
	var wg sync.WaitGroup
	var mu sync.Mutex
	taken, refused := 0, 0
	start := make(chan struct{})
	for range racers {
		wg.Go(func() {
			<-start
			w, ok, err := r.TakeRate(ctx, "burst", limit, time.Minute, base.Time)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err != nil:
				t.Error(err)
			case ok:
				taken++
			case w.Count != limit:
				t.Errorf("refused with count %d, want %d", w.Count, limit)
			default:
				refused++
			}
		})
	}
	close(start)
	wg.Wait()
	if taken != limit || refused != racers-limit {
		t.Fatalf("%d racers, limit %d: %d taken, %d refused", racers, limit, taken, refused)
	}
}
