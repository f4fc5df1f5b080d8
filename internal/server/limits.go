package server

import (
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/keyboxhq/keybox/internal/ratelimit"
)

// RateLimits configures the limits on key guessing, on public API requests
// and on failed logins. A nil *RateLimits turns them off.
type RateLimits struct {
	// Now is the limiters' clock (time.Now when nil).
	Now func() time.Time
	// Guesses: failed lookups (unknown keys) per client IP on the public API.
	Guesses       int
	GuessesWindow time.Duration
	// Requests: all public API requests per client IP.
	Requests       int
	RequestsWindow time.Duration
	// Logins: failed logins per email and per client IP.
	Logins       int
	LoginsWindow time.Duration
}

// DefaultRateLimits are the limits a server runs with unless told otherwise:
// 30 unknown keys per 15 minutes and 600 requests a minute per client IP on
// the public API, and 10 failed logins per 15 minutes per email and per IP.
func DefaultRateLimits() *RateLimits {
	return &RateLimits{
		Guesses: 30, GuessesWindow: 15 * time.Minute,
		Requests: 600, RequestsWindow: time.Minute,
		Logins: 10, LoginsWindow: 15 * time.Minute,
	}
}

// limiters are the running limits.
type limiters struct {
	guesses, requests, loginEmail, loginIP *ratelimit.Limiter
}

func newLimiters(c *RateLimits) *limiters {
	if c == nil {
		return nil
	}
	return &limiters{
		guesses:    ratelimit.New(c.Guesses, c.GuessesWindow, c.Now),
		requests:   ratelimit.New(c.Requests, c.RequestsWindow, c.Now),
		loginEmail: ratelimit.New(c.Logins, c.LoginsWindow, c.Now),
		loginIP:    ratelimit.New(c.Logins, c.LoginsWindow, c.Now),
	}
}

// tooManyRequests is the exact 429 body KeyBox has always sent, which its
// SDKs and scripts expect.
const tooManyRequests = `{"success":false,"errors":"too many requests, please try again later.","status":429}` + "\n"

// seconds rounds a wait up to whole seconds, at least 1.
func seconds(d time.Duration) string {
	return strconv.FormatInt(max(1, int64((d+time.Second-1)/time.Second)), 10)
}

func setRateHeaders(h http.Header, st ratelimit.Status) {
	h.Set("RateLimit-Limit", strconv.Itoa(st.Limit))
	h.Set("RateLimit-Remaining", strconv.Itoa(st.Remaining))
	h.Set("RateLimit-Reset", seconds(st.Reset))
}

// limitedError is a request refused by a rate limit; it is answered with
// the limit's headers and the exact 429 body.
type limitedError struct{ status ratelimit.Status }

func (e *limitedError) Error() string { return "rate limited" }

// refuse answers 429 for a limit that st describes.
func refuse(w http.ResponseWriter, st ratelimit.Status) {
	h := w.Header()
	setRateHeaders(h, st)
	h.Set("Retry-After", seconds(st.Reset))
	h["Content-Type"] = contentTypeJSON
	w.WriteHeader(http.StatusTooManyRequests)
	_, _ = w.Write([]byte(tooManyRequests))
}

// admitPublic applies the public API's limits to a request from ip: a
// client that has guessed too many keys is cut off for the rest of its
// window, and every client has a ceiling on requests. An admitted request
// gets the limit's headers.
func (s *Server) admitPublic(w http.ResponseWriter, ip string) error {
	if s.limits == nil {
		return nil
	}
	if g := s.limits.guesses.Exhausted(ip); !g.Allowed {
		return &limitedError{g}
	}
	st := s.limits.requests.Take(ip)
	if !st.Allowed {
		return &limitedError{st}
	}
	setRateHeaders(w.Header(), st)
	return nil
}

// guessed counts a lookup of a key that does not exist.
func (s *Server) guessed(ip string) {
	if s.limits != nil {
		s.limits.guesses.Take(ip)
	}
}

// admitLogin refuses a login for an email or IP with too many failures.
func (s *Server) admitLogin(email, ip string) error {
	if s.limits == nil {
		return nil
	}
	for _, c := range []struct {
		l   *ratelimit.Limiter
		key string
	}{{s.limits.loginEmail, email}, {s.limits.loginIP, ip}} {
		if st := c.l.Exhausted(c.key); !st.Allowed {
			return &limitedError{st}
		}
	}
	return nil
}

// loginFailed counts a failed login against the email and the IP.
func (s *Server) loginFailed(email, ip string) {
	if s.limits != nil {
		s.limits.loginEmail.Take(email)
		s.limits.loginIP.Take(ip)
	}
}

// clientIP is the address of the client: the peer, or, when the peer is a
// trusted proxy, the nearest address in X-Forwarded-For that is not one.
func (s *Server) clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	if len(s.trusted) == 0 || !s.isTrusted(host) {
		return host
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		hop := strings.TrimSpace(hops[i])
		if hop == "" {
			continue
		}
		if _, err := netip.ParseAddr(hop); err != nil {
			return host // a malformed header is not believed
		}
		if !s.isTrusted(hop) {
			return hop
		}
	}
	return host
}

func (s *Server) isTrusted(ip string) bool {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return false
	}
	a = a.Unmap()
	for _, p := range s.trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
