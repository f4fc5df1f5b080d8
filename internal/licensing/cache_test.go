package licensing

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/keyboxhq/keybox"
)

// fakeClock is a clock the test moves by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// testCache returns a cache of size keys on a clock the test moves.
func testCache(ttl time.Duration, size int) (*licenseCache, *fakeClock) {
	clk := &fakeClock{t: testNow}
	c := newLicenseCache(ttl, size)
	c.now = clk.now
	return c, clk
}

// reads counts the reads a cache makes, per key; each read answers a
// license whose id is the key and the read's number.
type reads struct {
	mu sync.Mutex
	n  map[string]int
}

func (r *reads) fetch(_ context.Context, key string) (*cached, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.n == nil {
		r.n = make(map[string]int)
	}
	r.n[key]++
	return &cached{found: true, license: keybox.License{Key: key, ID: fmt.Sprintf("%s#%d", key, r.n[key])}}, nil
}

func (r *reads) count(key string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.n[key]
}

// read gets key through the cache and returns which read answered it.
func read(t *testing.T, c *licenseCache, key string, fetch func(context.Context, string) (*cached, error)) string {
	t.Helper()
	e, err := c.get(context.Background(), key, fetch)
	if err != nil {
		t.Fatalf("get %s: %v", key, err)
	}
	return e.license.ID
}

// TestCacheTTL: an entry is served until the TTL has passed since its read
// began (not ended: a slow read must not stretch the window in which a
// change made elsewhere goes unseen), then read again.
func TestCacheTTL(t *testing.T) {
	const ttl = 500 * time.Millisecond
	c, clk := testCache(ttl, 100)
	var r reads
	slow := func(ctx context.Context, key string) (*cached, error) {
		clk.add(200 * time.Millisecond) // the read takes a while
		return r.fetch(ctx, key)
	}
	if got := read(t, c, "K", slow); got != "K#1" {
		t.Fatalf("first get: got %s, want K#1", got)
	}
	// The read began 200 ms ago: the entry has 300 ms left.
	clk.add(ttl - 200*time.Millisecond - time.Nanosecond)
	if got := read(t, c, "K", slow); got != "K#1" {
		t.Fatalf("just inside the TTL: got %s, want the cached K#1", got)
	}
	clk.add(time.Nanosecond)
	if got := read(t, c, "K", r.fetch); got != "K#2" {
		t.Fatalf("at the TTL: got %s, want a new read K#2", got)
	}
	if got := read(t, c, "K", r.fetch); got != "K#2" {
		t.Fatalf("after the new read: got %s, want K#2 from memory", got)
	}
	if n := r.count("K"); n != 2 {
		t.Fatalf("got %d reads, want 2", n)
	}
}

// TestCacheNotFoundIsCached: an unknown key is remembered like a known one,
// so a client hammering a wrong key costs one read per TTL.
func TestCacheNotFoundIsCached(t *testing.T) {
	c, _ := testCache(time.Second, 100)
	n := 0
	missing := func(context.Context, string) (*cached, error) { n++; return &cached{}, nil }
	for range 3 {
		e, err := c.get(context.Background(), "KB-NOPE", missing)
		if err != nil || e.found {
			t.Fatalf("got %+v, %v; want not found", e, err)
		}
	}
	if n != 1 {
		t.Fatalf("got %d reads, want 1", n)
	}
}

// TestCacheErrorIsNotCached: a failed read is answered to its callers but
// not remembered; the next get reads again.
func TestCacheErrorIsNotCached(t *testing.T) {
	c, _ := testCache(time.Second, 100)
	n := 0
	failing := func(context.Context, string) (*cached, error) { n++; return nil, fmt.Errorf("database down") }
	for i := range 2 {
		if _, err := c.get(context.Background(), "K", failing); err == nil {
			t.Fatalf("get %d: got no error", i)
		}
	}
	if n != 2 {
		t.Fatalf("got %d reads, want 2: a failure was cached", n)
	}
}

// sameShard returns n keys that fall in one shard of c.
func sameShard(c *licenseCache, n int) []string {
	var keys []string
	want := c.shard("K0")
	for i := 0; len(keys) < n; i++ {
		if k := fmt.Sprintf("K%d", i); c.shard(k) == want {
			keys = append(keys, k)
		}
	}
	return keys
}

// TestCacheEvictsStaleFirst: a full shard makes room by dropping what is
// past its TTL before anything still fresh.
func TestCacheEvictsStaleFirst(t *testing.T) {
	const ttl = time.Second
	c, clk := testCache(ttl, 2*cacheShards) // two keys a shard
	var r reads
	k := sameShard(c, 4)
	read(t, c, k[0], r.fetch)
	clk.add(ttl) // k[0] is stale from now on
	read(t, c, k[1], r.fetch)
	read(t, c, k[2], r.fetch) // full: k[0] goes, k[1] stays
	sh := c.shard(k[0])
	if n := len(sh.entries); n != 2 {
		t.Fatalf("shard holds %d entries, want 2", n)
	}
	if _, ok := sh.entries[k[0]]; ok {
		t.Fatal("the stale entry was kept over a fresh one")
	}
	if got := read(t, c, k[1], r.fetch); got != k[1]+"#1" {
		t.Fatalf("%s: got %s, want it still cached", k[1], got)
	}
	read(t, c, k[3], r.fetch) // full of fresh entries: one of them goes
	if n := len(sh.entries); n != 2 {
		t.Fatalf("shard holds %d entries, want 2", n)
	}
	if got := read(t, c, k[3], r.fetch); got != k[3]+"#1" {
		t.Fatalf("%s: got %s, want the newest entry kept", k[3], got)
	}
}

// TestCacheSizeBound: however many keys are read, the cache never holds
// more than its size.
func TestCacheSizeBound(t *testing.T) {
	const size = 100
	c, clk := testCache(time.Hour, size)
	var r reads
	for i := range 5000 {
		read(t, c, fmt.Sprintf("KB-%d", i), r.fetch)
		if i%1000 == 0 {
			clk.add(time.Minute) // fresh and stale entries mixed
		}
	}
	total := 0
	for i := range c.shards {
		total += len(c.shards[i].entries)
	}
	if total > size || total == 0 {
		t.Fatalf("cache holds %d entries, want 1..%d", total, size)
	}
}

// TestCacheForget: forget drops the keys it names, or all of them.
func TestCacheForget(t *testing.T) {
	c, _ := testCache(time.Hour, 100)
	var r reads
	for _, k := range []string{"A", "B", "C"} {
		read(t, c, k, r.fetch)
	}
	c.forget("A")
	if got := read(t, c, "A", r.fetch); got != "A#2" {
		t.Fatalf("A after forget(A): got %s, want a new read", got)
	}
	if got := read(t, c, "B", r.fetch); got != "B#1" {
		t.Fatalf("B after forget(A): got %s, want it still cached", got)
	}
	c.forget()
	for k, want := range map[string]string{"A": "A#3", "B": "B#2", "C": "C#2"} {
		if got := read(t, c, k, r.fetch); got != want {
			t.Fatalf("%s after forget(): got %s, want a new read %s", k, got, want)
		}
	}
}

// blockedRead is a read the test holds until it releases it.
type blockedRead struct {
	started, release chan struct{}
	answer           string
}

func newBlockedRead(answer string) *blockedRead {
	return &blockedRead{started: make(chan struct{}), release: make(chan struct{}), answer: answer}
}

func (b *blockedRead) fetch(context.Context, string) (*cached, error) {
	close(b.started)
	<-b.release
	return &cached{found: true, license: keybox.License{ID: b.answer}}, nil
}

// wait fails the test if ch does not close: a safety net against a hang,
// never a measure of time.
func wait(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(30 * time.Second):
		t.Fatalf("%s: still waiting after 30 s", what)
	}
}

// TestCacheForgetWhileLoading: a read that began before a change (and so
// may hold what the change replaced) is never served once the change has
// been forgotten: not stored when it ends, and not shared with a request
// that arrives after the forget. The requests already waiting on it, which
// were concurrent with the change, may have its answer.
func TestCacheForgetWhileLoading(t *testing.T) {
	for _, tc := range []struct {
		name   string
		forget func(c *licenseCache)
	}{
		{"forget the key", func(c *licenseCache) { c.forget("K") }},
		{"forget everything", func(c *licenseCache) { c.forget() }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, _ := testCache(time.Hour, 100)
			before := newBlockedRead("before the change")
			first := make(chan string, 1)
			go func() {
				e, err := c.get(context.Background(), "K", before.fetch)
				if err != nil {
					first <- err.Error()
					return
				}
				first <- e.license.ID
			}()
			wait(t, before.started, "the first read")

			// The change is committed, then forgotten, while the read is
			// under way.
			tc.forget(c)

			after := make(chan string, 1)
			var r reads
			go func() {
				e, err := c.get(context.Background(), "K", r.fetch)
				if err != nil {
					after <- err.Error()
					return
				}
				after <- e.license.ID
			}()
			var got string
			select {
			case got = <-after:
			case <-time.After(30 * time.Second):
				close(before.release)
				t.Fatal("a request made after the forget is waiting for the read that began before it")
			}
			if got != "K#1" {
				t.Fatalf("request after the forget: got %q, want its own read K#1", got)
			}

			close(before.release)
			if got := <-first; got != "before the change" {
				t.Fatalf("the first request: got %q", got)
			}
			// The old read has ended; what is cached is the new one.
			if got := read(t, c, "K", r.fetch); got != "K#1" {
				t.Fatalf("after the old read ended: got %q, want K#1 (cached)", got)
			}
			if n := r.count("K"); n != 1 {
				t.Fatalf("got %d new reads, want 1", n)
			}
		})
	}
}

// TestCacheForgetWhileLoadingNothingWaits: with no request after the
// forget, the old read's answer is still not stored.
func TestCacheForgetWhileLoadingNothingWaits(t *testing.T) {
	c, _ := testCache(time.Hour, 100)
	before := newBlockedRead("before the change")
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = c.get(context.Background(), "K", before.fetch)
	}()
	wait(t, before.started, "the first read")
	c.forget("K")
	close(before.release)
	wait(t, done, "the first read's end")
	var r reads
	if got := read(t, c, "K", r.fetch); got != "K#1" {
		t.Fatalf("after the forget: got %q, want a new read", got)
	}
}

// TestCacheSharesOneRead: concurrent misses on a key wait for one read.
func TestCacheSharesOneRead(t *testing.T) {
	c, _ := testCache(time.Hour, 100)
	b := newBlockedRead("shared")
	var calls sync.WaitGroup
	answers := make(chan string, 8)
	leader := func() {
		e, err := c.get(context.Background(), "K", b.fetch)
		if err != nil {
			answers <- err.Error()
			return
		}
		answers <- e.license.ID
	}
	calls.Go(leader)
	wait(t, b.started, "the first read")
	// The read is under way and registered: every other miss joins it, or
	// finds its answer stored (a second read would close b.started twice
	// and panic).
	for range 7 {
		calls.Go(leader)
	}
	close(b.release)
	calls.Wait()
	close(answers)
	for got := range answers {
		if got != "shared" {
			t.Fatalf("got %q, want the shared read's answer", got)
		}
	}
}
