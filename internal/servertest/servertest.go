// Package servertest starts the real KeyBox server for the tests of its
// callers (the Go SDK, the CLI, the examples): over a real store, on
// loopback, with seeded ids and keys and a settable clock, so that answers
// are the same on every run and tests move time instead of waiting for it.
// The ids of events and webhook deliveries are random, so that servers
// started alike may share a database; no answer but theirs shows them.
package servertest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/keyboxhq/keybox"
	"github.com/keyboxhq/keybox/internal/auth"
	"github.com/keyboxhq/keybox/internal/buildinfo"
	"github.com/keyboxhq/keybox/internal/licensing"
	"github.com/keyboxhq/keybox/internal/server"
	"github.com/keyboxhq/keybox/internal/signin"
	"github.com/keyboxhq/keybox/internal/webhook"
	"golang.org/x/crypto/bcrypt"
)

// Start is the instant every test server's clock starts at.
var Start = time.Date(2026, 1, 15, 10, 0, 0, 0, time.UTC)

// Clock is a settable clock, safe for concurrent use.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a clock at Start.
func NewClock() *Clock { return &Clock{now: Start} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Add moves the clock on.
func (c *Clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// Set puts the clock at t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// Secret signs the test servers' login tokens.
const Secret = "test-secret!test-secret!test-secret!"

// SecretKey encrypts the test servers' private signing keys, unless
// Options.SecretKey names another.
const SecretKey = "test-secret-key!test-secret-key!"

// Options change the server a test gets.
type Options struct {
	// RateLimits turns the default rate limits on, on the server's clock,
	// counted in the store as keybox serve counts them.
	RateLimits bool
	// TrustedProxies are believed in X-Forwarded-For.
	TrustedProxies []netip.Prefix
	// CORSOrigins may call the management API from a browser.
	CORSOrigins []string
	// SignupClosed refuses new accounts through the API.
	SignupClosed bool
	// StartAt is where the clock starts (Start when zero).
	StartAt time.Time
	// Listener, when set, is where the server listens (127.0.0.1:0 otherwise).
	Listener net.Listener
	// Wrap, when set, wraps the server's handler (to watch requests).
	Wrap func(http.Handler) http.Handler
	// Logger receives the server's logs (discarded when nil).
	Logger *slog.Logger
	// SecretKey encrypts the private signing keys (SecretKey when empty).
	SecretKey string
	// Deliveries runs a webhook delivery worker on the server's clock, as
	// keybox serve does but woken only by changes (its poll, for retries
	// that come due, is a minute of real time); without it, tests deliver
	// with Server.Worker.Drain.
	Deliveries bool
	// Replica, when not 0, seeds the server's ids and keys apart from
	// replica 0's, for tests that run several servers on one database.
	Replica byte
	// StrictWebhooks refuses webhook URLs on loopback and private networks
	// (the default of keybox serve); test servers allow them otherwise,
	// for their receivers on loopback.
	StrictWebhooks bool
	// CacheClock, when set, is the clock of the validation cache's TTL
	// (the real clock otherwise).
	CacheClock func() time.Time
	// SignIn are the sign-in providers (none when empty); their ID tokens
	// are judged by the server's clock.
	SignIn []signin.ProviderConfig
	// PublicURL is the server's configured public address, if any.
	PublicURL string
	// Build is the build the server reports (this binary's when zero).
	Build buildinfo.Info
	// SeparateMetrics serves /metrics on a listener of its own, at
	// Server.MetricsURL, and not on the API's.
	SeparateMetrics bool
}

// Server is a running test server.
type Server struct {
	URL     string
	Clock   *Clock
	Store   keybox.Store
	Handler *server.Server
	// Service is the licensing service behind the server, for what has no
	// endpoint (rotating the signing key).
	Service *licensing.Service
	// Passwords hashes and checks the server's passwords (Checks counts).
	Passwords *auth.Passwords
	// Worker delivers webhooks on the server's clock: running when
	// Options.Deliveries is set, and drained by hand otherwise.
	Worker *webhook.Worker
	// MetricsURL is the base URL of the metrics listener, with
	// Options.SeparateMetrics.
	MetricsURL string
}

// New starts the real server over store; it stops when the test ends.
func New(t testing.TB, store keybox.Store, opts Options) *Server {
	t.Helper()
	clk := NewClock()
	if !opts.StartAt.IsZero() {
		clk.Set(opts.StartAt.UTC().Truncate(time.Millisecond))
	}
	tokens, err := auth.NewTokens([]byte(Secret), 30*time.Minute, clk.Now)
	if err != nil {
		t.Fatal(err)
	}
	passwords, err := auth.NewPasswords(bcrypt.MinCost, 4)
	if err != nil {
		t.Fatal(err)
	}
	ids, err := keybox.NewIDs(rand.NewChaCha8([32]byte{1, opts.Replica}))
	if err != nil {
		t.Fatal(err)
	}
	secretKey := opts.SecretKey
	if secretKey == "" {
		secretKey = SecretKey
	}
	hooks := webhook.Policy{AllowPrivate: !opts.StrictWebhooks}
	svc, err := licensing.New(licensing.Config{Store: store, Passwords: passwords, Tokens: tokens, Now: clk.Now,
		IDs: ids, Random: rand.NewChaCha8([32]byte{2, opts.Replica}), KeyRandom: rand.NewChaCha8([32]byte{3, opts.Replica}), SignupClosed: opts.SignupClosed,
		FingerprintSecret: []byte(Secret),
		SecretKey:         []byte(secretKey), CacheClock: opts.CacheClock, Webhooks: hooks})
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.EnsureSigningKey(context.Background()); err != nil {
		t.Fatal(err)
	}
	sc := server.Config{Service: svc, Now: clk.Now, TrustedProxies: opts.TrustedProxies, CORSOrigins: opts.CORSOrigins, Logger: opts.Logger,
		PublicURL: opts.PublicURL, Build: opts.Build, SeparateMetrics: opts.SeparateMetrics}
	if len(opts.SignIn) > 0 {
		if sc.SignIn, err = signin.New(signin.Config{Providers: opts.SignIn, Secret: []byte(Secret), Now: clk.Now}); err != nil {
			t.Fatal(err)
		}
	}
	if opts.RateLimits {
		sc.RateLimits = server.DefaultRateLimits()
		sc.RateLimits.Now = clk.Now
		sc.RateLimits.Counters = store // shared, as keybox serve does
	}
	h, err := server.New(sc)
	if err != nil {
		t.Fatal(err)
	}
	var handler http.Handler = h
	if opts.Wrap != nil {
		handler = opts.Wrap(h)
	}
	handler = dateFromClock(clk, handler)
	ts := httptest.NewUnstartedServer(handler)
	if opts.Listener != nil {
		_ = ts.Listener.Close()
		ts.Listener = opts.Listener
	}
	ts.Start()
	t.Cleanup(ts.Close)
	worker := &webhook.Worker{Source: svc, Sender: webhook.NewSender(hooks), Now: clk.Now, Wake: svc.DeliveryWake(),
		Poll: time.Minute, Log: opts.Logger}
	if opts.Deliveries {
		ctx, stop := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			defer close(done)
			worker.Run(ctx)
		}()
		t.Cleanup(func() {
			stop()
			<-done
		})
	}
	out := &Server{URL: ts.URL, Clock: clk, Store: store, Handler: h, Service: svc, Passwords: passwords, Worker: worker}
	if opts.SeparateMetrics {
		ms := httptest.NewServer(h.MetricsHandler())
		t.Cleanup(ms.Close)
		out.MetricsURL = ms.URL
	}
	return out
}

// dateFromClock sends the server's clock in the Date header, as a real
// server's Date is its clock: clients that read the server's time from it
// (the Go SDK works out a lease's length so) see the test's time.
func dateFromClock(clk *Clock, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Date", clk.Now().UTC().Format(http.TimeFormat))
		next.ServeHTTP(w, r)
	})
}

// Password is the password of the accounts NewLicense makes.
const Password = "correct horse"

// NewLicense signs up a developer (email), logs in, and creates a client and
// a project whose first license lasts months; it returns the login token and
// the PENDING key. It goes through the API, as a developer would.
func (s *Server) NewLicense(t testing.TB, email string, months int) (token, key string) {
	t.Helper()
	s.call(t, "POST", "/auth/signup", "", map[string]any{"name": "Dev " + email, "email": email, "password": Password, "confirm_password": Password}, nil)
	var login struct{ Token string }
	s.call(t, "POST", "/auth/login", "", map[string]any{"email": email, "password": Password}, &login)
	var c struct {
		Client struct {
			ID string `json:"_id"`
		}
	}
	s.call(t, "POST", "/clients", login.Token, map[string]any{"name": "Acme", "email": "acme-" + email}, &c)
	var p struct{ License keybox.License }
	s.call(t, "POST", "/projects/createProject", login.Token, map[string]any{
		"clientId": c.Client.ID, "projectName": "App", "duration": months, "services": []string{"Hosting"},
	}, &p)
	return login.Token, p.License.Key
}

// call sends a JSON request that must succeed and decodes its answer into out.
func (s *Server) call(t testing.TB, method, path, token string, body, out any) {
	t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(method, s.URL+path, bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, raw)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
	}
}
