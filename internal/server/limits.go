package server

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/keyboxhq/keybox"
	"github.com/keyboxhq/keybox/internal/ratelimit"
)

// RateLimits configures the limits on the public API, on logins and on the
// account actions an attacker would repeat. A nil *RateLimits turns them
// off; a zero count or window takes its default (DefaultRateLimits).
//
// Each limit is taken before the work it guards, so a burst of concurrent
// requests gets exactly the limit through. Every limit but Requests is
// counted in Counters: pass the Store, and servers sharing one database
// share those counts. Requests is counted in each process.
type RateLimits struct {
	// Now is the limiters' clock (time.Now when nil).
	Now func() time.Time
	// Counters hold the shared counts (in this process when nil).
	Counters ratelimit.Counters
	// Guesses: failed lookups (unknown keys) per client IP on the public API.
	Guesses       int
	GuessesWindow time.Duration
	// Requests: all public API requests per client IP, in each process.
	Requests       int
	RequestsWindow time.Duration
	// Logins: failed logins per (email, client IP) pair; LoginsPerIP per
	// client IP whatever the email; LoginsPerEmail per email from every IP
	// together, high enough that nobody locks another person out.
	Logins         int
	LoginsPerIP    int
	LoginsPerEmail int
	LoginsWindow   time.Duration
	// Signups: signup attempts per client IP and per email.
	Signups       int
	SignupsWindow time.Duration
	// PasswordChanges: password changes refused for a wrong current
	// password, per account and per client IP.
	PasswordChanges       int
	PasswordChangesWindow time.Duration
	// ImportedKeys: licenses refused because their imported key exists, per
	// account and per client IP (each tells whether a key exists).
	ImportedKeys       int
	ImportedKeysWindow time.Duration
	// Tokens: API tokens created per account and per client IP.
	Tokens       int
	TokensWindow time.Duration
}

// DefaultRateLimits are KeyBox's default limits.
func DefaultRateLimits() *RateLimits {
	return &RateLimits{
		Guesses: 30, GuessesWindow: 15 * time.Minute,
		Requests: 600, RequestsWindow: time.Minute,
		Logins: 10, LoginsPerIP: 30, LoginsPerEmail: 100, LoginsWindow: 15 * time.Minute,
		Signups: 10, SignupsWindow: time.Hour,
		PasswordChanges: 10, PasswordChangesWindow: 15 * time.Minute,
		ImportedKeys: 30, ImportedKeysWindow: 15 * time.Minute,
		Tokens: 20, TokensWindow: time.Hour,
	}
}

// limiters are the running limits.
type limiters struct {
	requests                       *ratelimit.Limiter
	guesses                        *ratelimit.Gate
	loginPair, loginIP, loginEmail *ratelimit.Gate
	signupIP, signupEmail          *ratelimit.Gate
	passwordUser, passwordIP       *ratelimit.Gate
	importUser, importIP           *ratelimit.Gate
	tokenUser, tokenIP             *ratelimit.Gate
}

func newLimiters(c *RateLimits) *limiters {
	if c == nil {
		return nil
	}
	d := DefaultRateLimits()
	pick := func(v, def int) int {
		if v > 0 {
			return v
		}
		return def
	}
	per := func(v, def time.Duration) time.Duration {
		if v > 0 {
			return v
		}
		return def
	}
	counters := c.Counters
	if counters == nil {
		counters = ratelimit.NewMemory()
	}
	gate := func(name string, n, def int, window, defWindow time.Duration) *ratelimit.Gate {
		return ratelimit.NewGate(name, pick(n, def), per(window, defWindow), counters, c.Now)
	}
	logins := per(c.LoginsWindow, d.LoginsWindow)
	return &limiters{
		requests:     ratelimit.New(pick(c.Requests, d.Requests), per(c.RequestsWindow, d.RequestsWindow), c.Now),
		guesses:      gate("guess", c.Guesses, d.Guesses, c.GuessesWindow, d.GuessesWindow),
		loginPair:    gate("login", c.Logins, d.Logins, logins, logins),
		loginIP:      gate("login-ip", c.LoginsPerIP, d.LoginsPerIP, logins, logins),
		loginEmail:   gate("login-email", c.LoginsPerEmail, d.LoginsPerEmail, logins, logins),
		signupIP:     gate("signup-ip", c.Signups, d.Signups, c.SignupsWindow, d.SignupsWindow),
		signupEmail:  gate("signup-email", c.Signups, d.Signups, c.SignupsWindow, d.SignupsWindow),
		passwordUser: gate("password-user", c.PasswordChanges, d.PasswordChanges, c.PasswordChangesWindow, d.PasswordChangesWindow),
		passwordIP:   gate("password-ip", c.PasswordChanges, d.PasswordChanges, c.PasswordChangesWindow, d.PasswordChangesWindow),
		importUser:   gate("import-user", c.ImportedKeys, d.ImportedKeys, c.ImportedKeysWindow, d.ImportedKeysWindow),
		importIP:     gate("import-ip", c.ImportedKeys, d.ImportedKeys, c.ImportedKeysWindow, d.ImportedKeysWindow),
		tokenUser:    gate("token-user", c.Tokens, d.Tokens, c.TokensWindow, d.TokensWindow),
		tokenIP:      gate("token-ip", c.Tokens, d.Tokens, c.TokensWindow, d.TokensWindow),
	}
}

// tooManyRequests is the exact 429 body of every limit.
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

// bound is a limit applied to one key.
type bound struct {
	gate *ratelimit.Gate
	key  string
}

// held are the slots a request holds while it does the work they guard.
// Whatever is neither kept nor released by the handler is released when it
// ends (s.release, deferred).
type held []*ratelimit.Slot

// hold reserves a slot of each bound, in order, before the work they
// guard. With take each is also counted at once, for work whose success
// must not be repeatable (a password check: a success gives its slots
// back, so only a count taken beforehand bounds the guesses). When a limit
// is used up it lets the other slots go and returns the 429.
func (s *Server) hold(r *http.Request, take bool, bounds ...bound) (held, error) {
	if s.limits == nil {
		return nil, nil
	}
	h := make(held, 0, len(bounds))
	for _, b := range bounds {
		slot, st := b.gate.Reserve(r.Context(), b.key)
		if slot == nil {
			s.release(r, h)
			return nil, &limitedError{st}
		}
		h = append(h, slot)
	}
	if take {
		if err := s.count(r, h, (*ratelimit.Slot).Take); err != nil {
			return nil, err
		}
	}
	return h, nil
}

// keep counts the held events: the outcome is one the limits count. When
// the servers sharing the counts used a limit up meanwhile, the outcome
// is not told: it returns the 429 to answer instead.
func (s *Server) keep(r *http.Request, h held) error {
	return s.count(r, h, (*ratelimit.Slot).Keep)
}

func (s *Server) count(r *http.Request, h held, count func(*ratelimit.Slot, context.Context) (ratelimit.Status, error)) error {
	for _, slot := range h {
		st, err := count(slot, r.Context())
		if err != nil || !st.Allowed {
			s.release(r, h)
			if err != nil {
				return err
			}
			return &limitedError{st}
		}
	}
	return nil
}

// release lets go of the slots not kept: the outcome was not one the
// limits count. It goes on when the client has left, so that a success
// always gives its slots back.
func (s *Server) release(r *http.Request, h held) {
	if len(h) == 0 {
		return
	}
	ctx := context.WithoutCancel(r.Context())
	for _, slot := range h {
		if err := slot.Release(ctx); err != nil {
			s.log.LogAttrs(ctx, slog.LevelWarn, "rate limit", slog.Any("error", err))
		}
	}
}

// admit counts one attempt against each bound, whatever its outcome: past
// a limit it returns the 429.
func (s *Server) admit(r *http.Request, bounds ...bound) error {
	h, err := s.hold(r, true, bounds...)
	if err != nil {
		return err
	}
	return s.keep(r, h)
}

// admitPublic applies the public API's limits to a request: a client that
// has guessed too many keys is cut off for the rest of its window, and
// every client has a ceiling on requests. The guess it holds must be kept
// (s.keep) when the key turns out not to exist, and is released otherwise
// (s.release, deferred). An admitted request gets the limit's headers.
func (s *Server) admitPublic(w http.ResponseWriter, r *http.Request) (held, error) {
	if s.limits == nil {
		return nil, nil
	}
	ip := limitKey(s.clientIP(r))
	guess, err := s.hold(r, false, bound{s.limits.guesses, ip})
	if err != nil {
		return nil, err
	}
	st := s.limits.requests.Take(ip)
	if !st.Allowed {
		s.release(r, guess)
		return nil, &limitedError{st}
	}
	setRateHeaders(w.Header(), st)
	return guess, nil
}

// holdLogin takes a failure of each login limit before the password is
// checked; a login that succeeds gives them back.
func (s *Server) holdLogin(r *http.Request, email string) (held, error) {
	if s.limits == nil {
		return nil, nil
	}
	ip := limitKey(s.clientIP(r))
	return s.hold(r, true,
		bound{s.limits.loginPair, email + "\x00" + ip},
		bound{s.limits.loginIP, ip},
		bound{s.limits.loginEmail, email})
}

// admitSignup counts a signup attempt for the client and for the email.
func (s *Server) admitSignup(r *http.Request, email string) error {
	if s.limits == nil {
		return nil
	}
	return s.admit(r, bound{s.limits.signupIP, limitKey(s.clientIP(r))}, bound{s.limits.signupEmail, email})
}

// holdPasswordChange takes a wrong current password of u and of the client
// before the check; a change that does not fail for it gives them back.
func (s *Server) holdPasswordChange(r *http.Request, u keybox.User) (held, error) {
	if s.limits == nil {
		return nil, nil
	}
	return s.hold(r, true, bound{s.limits.passwordUser, u.ID}, bound{s.limits.passwordIP, limitKey(s.clientIP(r))})
}

// holdImportedKey holds an imported key taken by another license, for u and
// for the client; kept when the key turns out to exist.
func (s *Server) holdImportedKey(r *http.Request, u keybox.User) (held, error) {
	if s.limits == nil {
		return nil, nil
	}
	return s.hold(r, false, bound{s.limits.importUser, u.ID}, bound{s.limits.importIP, limitKey(s.clientIP(r))})
}

// admitTokenCreation counts the creation of an API token by u, and by the
// client, whatever its outcome. Call it before creating the token; past a
// limit it returns the 429.
func (s *Server) admitTokenCreation(r *http.Request, u keybox.User) error {
	if s.limits == nil {
		return nil
	}
	return s.admit(r, bound{s.limits.tokenUser, u.ID}, bound{s.limits.tokenIP, limitKey(s.clientIP(r))})
}

// limitKey is the address a client's limits are kept under. An IPv6 client
// usually holds a whole /64, and would otherwise get a fresh limit from
// each of its addresses.
func limitKey(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	if a = a.Unmap(); a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
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
