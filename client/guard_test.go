package client_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	neturl "net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keyboxhq/keybox/client"
	"github.com/keyboxhq/keybox/internal/servertest"
)

// app is the shape of a protected application: a mux with a page and a
// health check, behind the guard.
func app(t *testing.T, g *client.Guard) string {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "hello") })
	mux.HandleFunc("/health", func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "ok") })
	mux.HandleFunc("/public/", func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "public") })
	ts := httptest.NewServer(g.Handler(mux))
	t.Cleanup(ts.Close)
	return ts.URL
}

type answer struct {
	status int
	body   string
	json   map[string]any
}

func get(t *testing.T, url string) answer {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	a := answer{status: resp.StatusCode, body: string(b)}
	_ = json.Unmarshal(b, &a.json)
	return a
}

// wantBlocked checks the guard's 402 body for state.
func wantBlocked(t *testing.T, a answer, state string) {
	t.Helper()
	if a.status != http.StatusPaymentRequired || a.json["error"] != "LICENSE_INACTIVE" || a.json["state"] != state || a.json["message"] != "Go pay your developer" {
		t.Fatalf("got %d %s, want 402 LICENSE_INACTIVE in state %s", a.status, a.body, state)
	}
}

func wantServed(t *testing.T, a answer, body string) {
	t.Helper()
	if a.status != http.StatusOK || a.body != body {
		t.Fatalf("got %d %q, want 200 %q", a.status, a.body, body)
	}
}

var quiet = slog.New(slog.DiscardHandler)

// callbacks counts OnRevoke and OnRecover calls.
type callbacks struct{ revoked, recovered atomic.Int32 }

func (c *callbacks) options(o client.GuardOptions) client.GuardOptions {
	o.OnRevoke = func(client.GuardState) { c.revoked.Add(1) }
	o.OnRecover = func(client.GuardState) { c.recovered.Add(1) }
	o.Logger = quiet
	return o
}

func (c *callbacks) want(t *testing.T, revoked, recovered int32) {
	t.Helper()
	if r, v := c.revoked.Load(), c.recovered.Load(); r != revoked || v != recovered {
		t.Fatalf("got %d OnRevoke and %d OnRecover calls, want %d and %d", r, v, revoked, recovered)
	}
}

// handTicker stands for the guard loop's ticker: the test ticks it by hand
// and sees the loop start and stop it.
type handTicker struct {
	started  chan time.Duration // the interval the loop asked for
	ticks    chan time.Time
	stopped  chan struct{}
	stopOnce sync.Once
}

func newHandTicker() *handTicker {
	return &handTicker{started: make(chan time.Duration, 1), ticks: make(chan time.Time), stopped: make(chan struct{})}
}

func (h *handTicker) start(d time.Duration) (<-chan time.Time, func()) {
	h.started <- d
	return h.ticks, func() { h.stopOnce.Do(func() { close(h.stopped) }) }
}

// waitFor receives from ch. The timeout is only a safety net that turns a
// hang into a failure; nothing is measured.
func waitFor[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(30 * time.Second):
		t.Fatalf("still waiting for %s after 30 s", what)
		var zero T
		return zero
	}
}

func licenseClient(t *testing.T, url, key, machine string) *client.LicenseClient {
	t.Helper()
	lc, err := client.NewLicenseClient(url, key, client.LicenseOptions{MachineID: machine})
	if err != nil {
		t.Fatal(err)
	}
	return lc
}

// TestGuardRevokeAndRestore: the guard's own loop, ticking at its interval,
// notices a revoke and a restore made by the developer at its next tick,
// and stops when its context ends. The test ticks the loop by hand and
// waits for the callbacks, so no check is left to the wall clock.
func TestGuardRevokeAndRestore(t *testing.T) {
	kb := sqliteServer(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dev := kb.developer(t, "ada@example.com")
	lic := pendingLicense(t, dev, 1)
	const interval = 7 * time.Minute
	var cb callbacks
	opts := cb.options(client.GuardOptions{Interval: interval, Now: servertest.NewClock().Now})
	revoked, recovered := make(chan client.GuardState, 1), make(chan client.GuardState, 1)
	countRevoke, countRecover := opts.OnRevoke, opts.OnRecover
	opts.OnRevoke = func(s client.GuardState) { countRevoke(s); revoked <- s }
	opts.OnRecover = func(s client.GuardState) { countRecover(s); recovered <- s }
	g := client.NewGuard(licenseClient(t, kb.URL, lic.Key, "app-host"), opts)
	ticker := newHandTicker()
	client.SetGuardTicker(g, ticker.start)
	if st := g.Start(ctx); !st.Active || st.State != "ACTIVE" {
		t.Fatalf("after start: got %+v, want the PENDING license activated", st)
	}
	if d := waitFor(t, ticker.started, "the loop to start its ticker"); d != interval {
		t.Fatalf("the loop ticks every %v, want the interval %v", d, interval)
	}
	url := app(t, g)
	wantServed(t, get(t, url+"/"), "hello")
	cb.want(t, 0, 0)

	if _, err := dev.ToggleRevoke(ctx, lic.Key); err != nil {
		t.Fatal(err)
	}
	wantServed(t, get(t, url+"/"), "hello") // nothing checked yet
	ticker.ticks <- time.Now()
	if st := waitFor(t, revoked, "OnRevoke after a tick"); st.State != "REVOKED" {
		t.Fatalf("OnRevoke got %+v, want REVOKED", st)
	}
	wantBlocked(t, get(t, url+"/"), "REVOKED")
	wantServed(t, get(t, url+"/health"), "ok")
	status := get(t, url+"/license/status")
	if status.status != 200 || status.json["active"] != false || status.json["state"] != "REVOKED" || status.json["message"] != "License revoked by developer" {
		t.Fatalf("status page: got %d %s", status.status, status.body)
	}
	cb.want(t, 1, 0)

	if _, err := dev.ToggleRevoke(ctx, lic.Key); err != nil {
		t.Fatal(err)
	}
	ticker.ticks <- time.Now()
	if st := waitFor(t, recovered, "OnRecover after a tick"); !st.Active || st.State != "ACTIVE" {
		t.Fatalf("OnRecover got %+v, want ACTIVE", st)
	}
	wantServed(t, get(t, url+"/"), "hello")
	cb.want(t, 1, 1)

	cancel()
	waitFor(t, ticker.stopped, "the loop to stop its ticker when its context ends")
}

// TestGuardOfflineGrace: with the network to KeyBox cut, the application
// keeps serving for the grace period counted from the last successful
// validation, and is blocked after it; it recovers when KeyBox is back.
// The checks are driven by hand and time is moved on the injected clock.
func TestGuardOfflineGrace(t *testing.T) {
	kb := sqliteServer(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dev := kb.developer(t, "ada@example.com")
	lic := pendingLicense(t, dev, 1)
	px := newProxy(t, kb.URL)
	clk := servertest.NewClock()
	var cb callbacks
	// The default interval (15 minutes) never ticks during the test; the
	// default grace is then max(2 × 15m, 30m) = 30m.
	g := client.NewGuard(licenseClient(t, px.URL(), lic.Key, "app-host"), cb.options(client.GuardOptions{Now: clk.Now}))
	if st := g.Start(ctx); !st.Active {
		t.Fatalf("after start: got %+v", st)
	}
	validatedAt := clk.Now()
	url := app(t, g)
	wantServed(t, get(t, url+"/"), "hello")

	px.cut()
	steps := []struct {
		after  time.Duration // since the last successful validation
		served bool
	}{
		{1 * time.Minute, true},
		{29 * time.Minute, true},
		{30 * time.Minute, true},
		{30*time.Minute + time.Millisecond, false},
		{45 * time.Minute, false},
	}
	for _, s := range steps {
		clk.Set(validatedAt.Add(s.after))
		st := g.Check(ctx)
		if !st.Offline || st.Error == "" {
			t.Fatalf("%v offline: got %+v, want Offline with the network's error", s.after, st)
		}
		if s.served {
			wantServed(t, get(t, url+"/"), "hello")
			if want := validatedAt.Add(30 * time.Minute); !st.GraceEndsAt.Equal(want) {
				t.Fatalf("got grace end %v, want %v", st.GraceEndsAt, want)
			}
		} else {
			wantBlocked(t, get(t, url+"/"), "OFFLINE")
		}
	}
	cb.want(t, 1, 0)

	px.restore()
	if st := g.Check(ctx); !st.Active || st.Offline || st.State != "ACTIVE" || !st.LastValidatedAt.Equal(clk.Now()) {
		t.Fatalf("network back: got %+v", st)
	}
	wantServed(t, get(t, url+"/"), "hello")
	cb.want(t, 1, 1)

	// A revoke seen just before the network fails stays a revoke.
	if _, err := dev.ToggleRevoke(ctx, lic.Key); err != nil {
		t.Fatal(err)
	}
	g.Check(ctx)
	px.cut()
	if st := g.Check(ctx); st.Active || st.State != "REVOKED" || !st.Offline {
		t.Fatalf("revoked, then offline: got %+v", st)
	}
	wantBlocked(t, get(t, url+"/"), "REVOKED")
}

// TestGuardSeats: a new installation takes a seat when one is free; a seat
// the developer frees is not taken back by a running guard.
func TestGuardSeats(t *testing.T) {
	kb := sqliteServer(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dev := kb.developer(t, "ada@example.com")
	lic := pendingLicense(t, dev, 2)
	guard := func(machine string, cb *callbacks) *client.Guard {
		return client.NewGuard(licenseClient(t, kb.URL, lic.Key, machine), cb.options(client.GuardOptions{Now: servertest.NewClock().Now}))
	}
	var cbA, cbB, cbC callbacks
	a, b, c := guard("machine-a", &cbA), guard("machine-b", &cbB), guard("machine-c", &cbC)
	if st := a.Start(ctx); !st.Active {
		t.Fatalf("machine-a: got %+v, want the PENDING license activated", st)
	}
	if st := b.Start(ctx); !st.Active {
		t.Fatalf("machine-b: got %+v, want the second seat taken", st)
	}
	st := c.Start(ctx)
	if st.Active || st.State != "MACHINE_MISMATCH" || st.Message != "License already activated on another machine" {
		t.Fatalf("machine-c with both seats taken: got %+v", st)
	}
	wantBlocked(t, get(t, app(t, c)+"/"), "MACHINE_MISMATCH")
	cbC.want(t, 1, 0) // blocked from the start

	d, err := dev.License(ctx, lic.Key)
	if err != nil {
		t.Fatal(err)
	}
	for _, act := range d.Activations {
		if act.MachineID == "machine-b" {
			if err := dev.RemoveActivation(ctx, lic.Key, act.ID); err != nil {
				t.Fatal(err)
			}
		}
	}
	if st := b.Check(ctx); st.Active || st.State != "MACHINE_MISMATCH" {
		t.Fatalf("machine-b after its seat was freed: got %+v", st)
	}
	cbB.want(t, 1, 0)
	if d, _ := dev.License(ctx, lic.Key); len(d.Activations) != 1 {
		t.Fatalf("got %d seats, want 1: a running guard took its freed seat back", len(d.Activations))
	}
	cbA.want(t, 0, 0)

	// Expiry, judged by the server's clock.
	kb.Clock.Add(4 * 30 * 24 * time.Hour)
	if st := a.Check(ctx); st.Active || st.State != "EXPIRED" || st.ExpiresAt.IsZero() {
		t.Fatalf("machine-a after expiry: got %+v", st)
	}
	cbA.want(t, 1, 0)
}

// TestGuardNeverPanics: an unknown key blocks with INVALID, a callback that
// panics is contained, and custom bypass paths replace the defaults.
func TestGuardNeverPanics(t *testing.T) {
	kb := sqliteServer(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	g := client.NewGuard(licenseClient(t, kb.URL, "KB-NOT-A-KEY", "m"), client.GuardOptions{
		Logger:      quiet,
		BypassPaths: []string{"/public/"},
		OnRevoke:    func(client.GuardState) { panic("a careless callback") },
	})
	url := app(t, g)
	wantBlocked(t, get(t, url+"/"), "UNKNOWN") // before the first check
	st := g.Start(ctx)
	if st.Active || st.State != "INVALID" || st.Message != "Key does not exist" {
		t.Fatalf("got %+v", st)
	}
	wantBlocked(t, get(t, url+"/"), "INVALID")
	wantBlocked(t, get(t, url+"/health"), "INVALID") // not in this guard's bypass list
	wantServed(t, get(t, url+"/public/terms"), "public")
}

// TestProtect is the README's three lines.
func TestProtect(t *testing.T) {
	kb := sqliteServer(t)
	dev := kb.developer(t, "ada@example.com")
	lic := pendingLicense(t, dev, 1)
	t.Setenv(client.MachineIDEnv, "readme-host")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "hello") })
	h, err := client.Protect(ctx, kb.URL, lic.Key, mux)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(h)
	defer ts.Close()
	wantServed(t, get(t, ts.URL+"/"), "hello")
	d, err := dev.License(ctx, lic.Key)
	if err != nil || len(d.Activations) != 1 || d.Activations[0].MachineID != "readme-host" {
		t.Fatalf("got %+v, %v: want one seat for readme-host", d.Activations, err)
	}
}

// TestGuardServerErrors: a server error or a proxy's error page says
// nothing about the license (the grace period applies); a 4xx that is not
// KeyBox's validation answer (a wrong address) blocks at once.
func TestGuardServerErrors(t *testing.T) {
	kb := sqliteServer(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dev := kb.developer(t, "ada@example.com")
	lic := pendingLicense(t, dev, 1)
	target, err := neturl.Parse(kb.URL)
	if err != nil {
		t.Fatal(err)
	}
	var mode atomic.Value
	mode.Store("pass")
	forward := httputil.NewSingleHostReverseProxy(target)
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch mode.Load() {
		case "bad gateway":
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusBadGateway)
			_, _ = io.WriteString(w, "<html><body>502 Bad Gateway</body></html>")
		case "not found":
			http.NotFound(w, r)
		default:
			forward.ServeHTTP(w, r)
		}
	}))
	defer front.Close()
	clk := servertest.NewClock()
	g := client.NewGuard(licenseClient(t, front.URL, lic.Key, "m"), client.GuardOptions{Now: clk.Now, Logger: quiet})
	if st := g.Start(ctx); !st.Active {
		t.Fatalf("got %+v", st)
	}

	mode.Store("bad gateway")
	clk.Add(time.Minute)
	st := g.Check(ctx)
	if !st.Active || !st.Offline || !strings.Contains(st.Error, "Bad Gateway (HTTP 502)") {
		t.Fatalf("behind a failing proxy: got %+v, want still active on the grace period", st)
	}
	mode.Store("not found")
	if st := g.Check(ctx); st.Active || st.State != "INVALID" || st.Message != "Not Found" {
		t.Fatalf("at a wrong address: got %+v, want blocked as INVALID", st)
	}
	mode.Store("pass")
	if st := g.Check(ctx); !st.Active || st.State != "ACTIVE" {
		t.Fatalf("back: got %+v", st)
	}
}
