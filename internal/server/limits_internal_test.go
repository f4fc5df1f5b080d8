package server

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/keyboxhq/keybox"
	"github.com/keyboxhq/keybox/internal/storetest"
)

// TestAdmitTokenCreation: the limit that API token creation is to call
// before it creates a token counts every attempt, per account and per
// client address.
func TestAdmitTokenCreation(t *testing.T) {
	now := time.Date(2026, 1, 15, 10, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	limits := DefaultRateLimits()
	limits.Now, limits.Counters = clock, storetest.SQLite(t)
	// Only the limits are needed: no handler runs.
	s := &Server{limits: newLimiters(limits), log: slog.New(slog.DiscardHandler)}
	admit := func(u keybox.User, ip string) *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		r := httptest.NewRequest("POST", "/tokens", nil)
		r.RemoteAddr = ip + ":40000"
		if err := s.admitTokenCreation(r, u); err != nil {
			s.answerError(w, r, bare, err)
			if w.Code != http.StatusTooManyRequests {
				t.Fatalf("refused with %d", w.Code)
			}
		}
		return w
	}
	ada, bob := keybox.User{ID: "ada"}, keybox.User{ID: "bob"}
	for i := range 20 {
		if w := admit(ada, "203.0.113.1"); w.Code != http.StatusOK {
			t.Fatalf("token %d refused: %d", i+1, w.Code)
		}
	}
	for _, c := range []struct {
		who  keybox.User
		ip   string
		want int
	}{
		{ada, "203.0.113.2", http.StatusTooManyRequests}, // the account, from anywhere
		{bob, "203.0.113.1", http.StatusTooManyRequests}, // the address, for anyone
		{bob, "203.0.113.2", http.StatusOK},
	} {
		w := admit(c.who, c.ip)
		if w.Code != c.want {
			t.Fatalf("%s from %s: got %d, want %d", c.who.ID, c.ip, w.Code, c.want)
		}
		if c.want == http.StatusTooManyRequests && (w.Body.String() != tooManyRequests || w.Header().Get("Retry-After") != "3600") {
			t.Fatalf("got %q, Retry-After %q", w.Body, w.Header().Get("Retry-After"))
		}
	}
	now = now.Add(time.Hour)
	if w := admit(ada, "203.0.113.1"); w.Code != http.StatusOK {
		t.Fatalf("a window later: %d", w.Code)
	}
	// With the limits off, nothing is counted.
	s.limits = nil
	for range 30 {
		if w := admit(bob, "203.0.113.1"); w.Code != http.StatusOK {
			t.Fatalf("limits off: %d", w.Code)
		}
	}
}
