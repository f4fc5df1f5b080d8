package server_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/keyboxhq/keybox/internal/storetest"
)

const exact429 = `{"success":false,"errors":"too many requests, please try again later.","status":429}` + "\n"

func want429(t *testing.T, r response, retryAfter string) {
	t.Helper()
	if r.status != 429 || string(r.raw) != exact429 {
		t.Fatalf("got %d %q, want 429 %q", r.status, r.raw, exact429)
	}
	if got := r.header.Get("Retry-After"); got != retryAfter {
		t.Fatalf("Retry-After %q, want %q", got, retryAfter)
	}
	for _, h := range []string{"RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"} {
		if r.header.Get(h) == "" {
			t.Fatalf("429 without %s", h)
		}
	}
}

// TestKeyGuessingIsCutOff: 30 unknown keys from one IP in 15 minutes, and
// that IP gets nothing more from the public API until its window closes.
func TestKeyGuessingIsCutOff(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t), withRateLimits())
	_, key := e.newKey("ada@example.com")
	e.do("POST", "/validate/activate", "", map[string]any{"key": key, "machineId": "m"}).want(t, 200, "")
	for i := range 30 {
		path := []string{"/validate", "/validate/activate", "/validate/deactivate"}[i%3]
		r := e.do("POST", path, "", map[string]any{"key": fmt.Sprintf("KB-GUESS-%d", i), "machineId": "m"})
		if r.status == 429 {
			t.Fatalf("guess %d already refused", i+1)
		}
	}
	e.clock.Add(5 * time.Minute)
	// Cut off, even for a real key: 10 minutes of the window remain.
	want429(t, e.do("POST", "/validate", "", map[string]any{"key": key, "machineId": "m"}), "600")
	want429(t, e.do("POST", "/validate/activate", "", map[string]any{"key": key, "machineId": "m"}), "600")
	// The management API is not the public API's limit.
	e.do("GET", "/healthz", "", nil).want(t, 200, "")
	e.clock.Add(10 * time.Minute)
	e.do("POST", "/validate", "", map[string]any{"key": key, "machineId": "m"}).want(t, 200, "")
}

// TestBusyHonestClientIsServed: an application validating often, with a few
// typos, stays under the limits; only past 600 requests a minute is it
// slowed, and only until the minute ends.
func TestBusyHonestClientIsServed(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t), withRateLimits())
	_, key := e.newKey("ada@example.com")
	e.do("POST", "/validate/activate", "", map[string]any{"key": key, "machineId": "m"}).want(t, 200, "")
	for i := range 599 {
		body := map[string]any{"key": key, "machineId": "m"}
		if i%100 == 0 {
			body["key"] = "KB-TYPO" // five typos in all
		}
		r := e.do("POST", "/validate", "", body)
		if r.status != 200 {
			t.Fatalf("request %d: %d %s", i+1, r.status, r.raw)
		}
		if i == 9 && (r.header.Get("RateLimit-Limit") != "600" || r.header.Get("RateLimit-Remaining") != "589") {
			t.Fatalf("request 10: RateLimit-Limit %q, Remaining %q; want 600, 589", r.header.Get("RateLimit-Limit"), r.header.Get("RateLimit-Remaining"))
		}
		e.clock.Add(50 * time.Millisecond)
	}
	// 600 in the window (with the activation) after 29.95 s: the next, 10.05 s
	// later, is refused for the 20 s left of the minute.
	e.clock.Add(10*time.Second + 50*time.Millisecond)
	want429(t, e.do("POST", "/validate", "", map[string]any{"key": key, "machineId": "m"}), "20")
	e.clock.Add(20 * time.Second)
	e.do("POST", "/validate", "", map[string]any{"key": key, "machineId": "m"}).want(t, 200, "")
}

// TestForwardedForOnlyFromTrustedProxies: X-Forwarded-For decides the
// client's address only when the peer is a trusted proxy.
func TestForwardedForOnlyFromTrustedProxies(t *testing.T) {
	guessFrom := func(e *env, ip string, n int) {
		for i := range n {
			e.doFrom("POST", "/validate", map[string]string{"X-Forwarded-For": ip}, map[string]any{"key": fmt.Sprintf("KB-G-%d", i)})
		}
	}
	t.Run("untrusted", func(t *testing.T) {
		e := newEnv(t, storetest.SQLite(t), withRateLimits())
		guessFrom(e, "203.0.113.1", 30)
		// A forged header does not escape the cut-off: the peer is what counts.
		want429(t, e.doFrom("POST", "/validate", map[string]string{"X-Forwarded-For": "203.0.113.2"}, map[string]any{"key": "K"}), "900")
	})
	t.Run("trusted", func(t *testing.T) {
		e := newEnv(t, storetest.SQLite(t), withRateLimits("127.0.0.1/32"))
		guessFrom(e, "203.0.113.1", 30)
		want429(t, e.doFrom("POST", "/validate", map[string]string{"X-Forwarded-For": "203.0.113.1"}, map[string]any{"key": "K"}), "900")
		// Another client behind the same proxy is not punished; a spoofed
		// left-most hop does not help the guesser either.
		e.doFrom("POST", "/validate", map[string]string{"X-Forwarded-For": "203.0.113.2"}, map[string]any{"key": "K"}).want(t, 200, "Key does not exist")
		want429(t, e.doFrom("POST", "/validate", map[string]string{"X-Forwarded-For": "10.9.9.9, 203.0.113.1"}, map[string]any{"key": "K"}), "900")
	})
}

func TestRateLimitOff(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t))
	for i := range 40 {
		e.do("POST", "/validate", "", map[string]any{"key": fmt.Sprintf("KB-G-%d", i)}).want(t, 200, "Key does not exist")
	}
	if r := e.do("POST", "/validate", "", map[string]any{"key": "x"}); r.header.Get("RateLimit-Limit") != "" {
		t.Fatal("rate-limit headers with limits off")
	}
}
