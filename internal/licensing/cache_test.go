package licensing

import (
	"context"
	"fmt"
	"strings"
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
func testCache(ttl time.Duration, size int64) (*licenseCache, *fakeClock) {
	clk := &fakeClock{t: testNow}
	c := newLicenseCache(ttl, size)
	c.setClock(clk.now)
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
	return newCached(keybox.License{Key: key, ID: fmt.Sprintf("%s#%d", key, r.n[key])}, nil), nil
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
	return e.lic.id
}

// TestCacheTTL: an entry is served until the TTL has passed since its read
// began (not ended: a slow read must not stretch the window in which a
// change made elsewhere goes unseen), then read again.
func TestCacheTTL(t *testing.T) {
	const ttl = 500 * time.Millisecond
	c, clk := testCache(ttl, 1<<20)
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
	c, _ := testCache(time.Second, 1<<20)
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
	c, _ := testCache(time.Second, 1<<20)
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

// TestCacheClockEviction: a full shard makes room by dropping an entry not
// used since the clock hand last passed, before one that was.
func TestCacheClockEviction(t *testing.T) {
	c, _ := testCache(time.Hour, 1<<20)
	var r reads
	k := sameShard(c, 4)
	e, _ := r.fetch(context.Background(), k[0])
	e.key = k[0]
	c.budget = 3 * e.estimateSize() // three entries a shard (the keys are as long)
	r = reads{}
	for _, key := range k[:3] {
		read(t, c, key, r.fetch)
	}
	sh := c.shard(k[0])
	for _, e := range sh.entries {
		e.ref.Store(false) // as if the hand had passed them all
	}
	read(t, c, k[1], r.fetch) // a hit: k[1] is used
	read(t, c, k[3], r.fetch) // full: k[0], unused and first, goes
	if _, ok := sh.entries[k[0]]; ok {
		t.Fatalf("%s, unused, was kept", k[0])
	}
	if got := read(t, c, k[1], r.fetch); got != k[1]+"#1" {
		t.Fatalf("%s: got %s, want it still cached", k[1], got)
	}
	if got := read(t, c, k[3], r.fetch); got != k[3]+"#1" {
		t.Fatalf("%s: got %s, want the newest entry kept", k[3], got)
	}
}

// TestCacheSizeBound: however many keys are read, and however large their
// entries, the bytes held never exceed the cache's size, and the count
// matches what the shards hold.
func TestCacheSizeBound(t *testing.T) {
	const size = 64 << 10
	c, clk := testCache(time.Hour, size)
	big := func(_ context.Context, key string) (*cached, error) {
		seats := make([]keybox.Activation, len(key)%5)
		for i := range seats {
			seats[i] = keybox.Activation{ID: fmt.Sprintf("%s-seat-%d", key, i), MachineID: strings.Repeat("m", 64)}
		}
		ents := []string{"export", "pro", strings.Repeat("x", len(key)*3)}
		return newCached(keybox.License{ID: "id-" + key, OwnerID: "owner", Entitlements: ents}, seats), nil
	}
	for i := range 20_000 {
		if _, err := c.get(context.Background(), fmt.Sprintf("KB-%d", i), big); err != nil {
			t.Fatal(err)
		}
		if i%1000 == 0 {
			clk.add(time.Minute) // fresh and stale entries mixed
		}
		if got := c.bytes(); got > size {
			t.Fatalf("after %d keys the cache holds %d bytes, more than its %d", i+1, got, size)
		}
	}
	entries, bytes := 0, int64(0)
	for i := range c.shards {
		sh := &c.shards[i]
		entries += len(sh.entries)
		for _, e := range sh.entries {
			bytes += e.size
		}
	}
	if entries == 0 || bytes != c.bytes() {
		t.Fatalf("cache holds %d entries of %d bytes, counted %d", entries, bytes, c.bytes())
	}
}

// TestCacheEntrySize: the estimate of an entry counts what it holds.
func TestCacheEntrySize(t *testing.T) {
	small := newCached(keybox.License{ID: "L1"}, nil)
	seat := keybox.Activation{ID: "A1", MachineID: strings.Repeat("m", 64)}
	withSeats := newCached(keybox.License{ID: "L1"}, []keybox.Activation{seat, seat})
	if s, w := small.estimateSize(), withSeats.estimateSize(); w < s+2*(seatSize+64) {
		t.Fatalf("an entry with two seats is estimated at %d bytes, one without at %d", w, s)
	}
}

// TestCacheForget: forget drops the keys it names, or all of them.
func TestCacheForget(t *testing.T) {
	c, _ := testCache(time.Hour, 1<<20)
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
	return newCached(keybox.License{ID: b.answer}, nil), nil
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
			c, _ := testCache(time.Hour, 1<<20)
			before := newBlockedRead("before the change")
			first := make(chan string, 1)
			go func() {
				e, err := c.get(context.Background(), "K", before.fetch)
				if err != nil {
					first <- err.Error()
					return
				}
				first <- e.lic.id
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
				after <- e.lic.id
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
	c, _ := testCache(time.Hour, 1<<20)
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
	c, _ := testCache(time.Hour, 1<<20)
	b := newBlockedRead("shared")
	var calls sync.WaitGroup
	answers := make(chan string, 8)
	leader := func() {
		e, err := c.get(context.Background(), "K", b.fetch)
		if err != nil {
			answers <- err.Error()
			return
		}
		answers <- e.lic.id
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

// TestCacheFeed: an entry is served past its TTL while the change feed's
// last round began within the TTL; a key the feed reports is read again;
// when rounds stop ending (the feed lost its connection) entries fall back
// to the TTL; a round that reports all forgets everything.
func TestCacheFeed(t *testing.T) {
	const ttl = 500 * time.Millisecond
	c, clk := testCache(ttl, 1<<20)
	var r reads
	read(t, c, "K", r.fetch)
	read(t, c, "L", r.fetch)
	clk.add(time.Hour)
	c.round()(nil, false)
	if got := read(t, c, "K", r.fetch); got != "K#1" {
		t.Fatalf("an hour on, the feed vouching: got %s, want K#1 from memory", got)
	}
	c.round()([]string{"K"}, false)
	if got := read(t, c, "K", r.fetch); got != "K#2" {
		t.Fatalf("after the feed reported K: got %s, want a new read", got)
	}
	if got := read(t, c, "L", r.fetch); got != "L#1" {
		t.Fatalf("L, not reported: got %s, want L#1 from memory", got)
	}
	// A round that began before the clock moved vouches for its start only.
	end := c.round()
	clk.add(ttl)
	end(nil, false)
	if got := read(t, c, "L", r.fetch); got != "L#2" {
		t.Fatalf("no round begun within the TTL: got %s, want a new read", got)
	}
	clk.add(ttl - time.Nanosecond)
	if got := read(t, c, "L", r.fetch); got != "L#2" {
		t.Fatalf("within the TTL of its read: got %s, want L#2 from memory", got)
	}
	c.round()(nil, true)
	if got := read(t, c, "L", r.fetch); got != "L#3" {
		t.Fatalf("after a round that reported all: got %s, want a new read", got)
	}
}

// TestCacheFeedLease: the feed does not report the last-validated times
// other servers write, so an entry whose first seat lapses, as read, is
// read again once past its TTL, however recent the feed's round.
func TestCacheFeedLease(t *testing.T) {
	const ttl = 500 * time.Millisecond
	c, clk := testCache(ttl, 1<<20)
	wall := &fakeClock{t: testNow}
	c.wall = wall.now
	n := 0
	leased := func(context.Context, string) (*cached, error) {
		n++
		seat := keybox.Activation{ID: "A", MachineID: "m", ActivatedAt: keybox.NewTime(testNow)}
		return newCached(keybox.License{ID: fmt.Sprint(n), LeaseSeconds: 60}, []keybox.Activation{seat}), nil
	}
	read(t, c, "K", leased)
	clk.add(time.Hour)
	c.round()(nil, false)
	wall.add(time.Minute - time.Millisecond)
	if got := read(t, c, "K", leased); got != "1" {
		t.Fatalf("before the seat lapses as read: got read %s, want 1 from memory", got)
	}
	wall.add(time.Millisecond)
	if got := read(t, c, "K", leased); got != "2" {
		t.Fatalf("once the seat lapses as read: got read %s, want a new read", got)
	}
}
