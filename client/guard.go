package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/keyboxhq/keybox"
)

// Guard defaults, those of the other KeyBox SDKs.
const (
	DefaultInterval     = 15 * time.Minute
	DefaultMinGrace     = 30 * time.Minute
	DefaultCheckTimeout = 30 * time.Second
	DefaultStatusPath   = "/license/status"
)

// DefaultBypassPaths answer even while the license is not active: a load
// balancer's health check must not take the application out of service, and
// the status page says why it is blocked.
var DefaultBypassPaths = []string{"/health", DefaultStatusPath}

// Guard states beyond a validation's status (which is shown upper-cased:
// ACTIVE, REVOKED, EXPIRED, PENDING, INVALID, MACHINE_MISMATCH, …).
const (
	// StateUnknown: no check has finished yet.
	StateUnknown = "UNKNOWN"
	// StateOffline: KeyBox could not be reached for longer than the grace
	// period (or never was).
	StateOffline = "OFFLINE"
)

var stateInvalid = strings.ToUpper(string(ValidationInvalid))

// GuardOptions configure a Guard. The zero value behaves as the other KeyBox
// SDKs do; tests inject Now and a short Interval.
type GuardOptions struct {
	// Interval between validations (DefaultInterval when 0).
	Interval time.Duration
	// GracePeriod is how long the application keeps serving while KeyBox
	// cannot be reached, counted from the last successful validation
	// (max(2 × Interval, DefaultMinGrace) when 0).
	GracePeriod time.Duration
	// CheckTimeout bounds one check, activation included (DefaultCheckTimeout when 0).
	CheckTimeout time.Duration
	// BypassPaths are served whatever the license's state (DefaultBypassPaths
	// when nil). A path ending in "/" bypasses everything under it.
	BypassPaths []string
	// StatusPath answers the guard's state as JSON (DefaultStatusPath when "").
	StatusPath string
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// OnRevoke is called when the guard starts blocking: after the first
	// check if the license is not active then, and whenever an active license
	// stops being one (revoked, expired, unreachable past the grace period).
	OnRevoke func(GuardState)
	// OnRecover is called when a blocked license is active again.
	OnRecover func(GuardState)
	// Logger receives state changes (slog.Default() when nil).
	Logger *slog.Logger
	// LicenseFile is the path of an offline license file (offline mode;
	// needs LicenseOptions.PublicKeys). While KeyBox answers, the guard keeps
	// a fresh file there (POST /validate/checkout); while it cannot be
	// reached, or answers with what does not verify, the application runs on
	// the verified file until the file expires, even past the grace period.
	// A file for another license key or machine is never run on.
	LicenseFile string
	// FileTTL is the lifetime asked for new files (30 days when 0); a file is
	// renewed when less than half of it is left.
	FileTTL time.Duration
	// RequireEntitlements are codes the whole application needs ("pro"):
	// every validation asks for them, and while the license lacks any the
	// guard answers 402 with the missing ones (state ENTITLEMENTS_MISSING).
	// For codes that only some routes need, wrap those with Guard.Require.
	RequireEntitlements []string
}

// GuardState is what the guard knows of the license; StatusPath shows it.
type GuardState struct {
	// Active: requests are served.
	Active bool `json:"active"`
	// State is the validation status upper-cased (ACTIVE, REVOKED, …), or
	// StateUnknown / StateOffline.
	State string `json:"state"`
	// Message is KeyBox's explanation of the last answer.
	Message string `json:"message,omitempty"`
	// ExpiresAt is the license's expiry, when known.
	ExpiresAt keybox.Time `json:"expiresAt"`
	// LastValidatedAt is the last time KeyBox said the license was active.
	LastValidatedAt keybox.Time `json:"lastValidatedAt"`
	// LastCheckedAt is the last check, successful or not.
	LastCheckedAt keybox.Time `json:"lastCheckedAt"`
	// Offline: the last check could not reach KeyBox. While Active, the
	// application is serving on its grace period, until GraceEndsAt.
	Offline     bool        `json:"offline"`
	GraceEndsAt keybox.Time `json:"graceEndsAt"`
	// Error is why the last check failed, when it did.
	Error string `json:"error,omitempty"`
	// OnLicenseFile: KeyBox cannot be reached and the application runs on a
	// verified license file, until GraceEndsAt (the file's expiry).
	OnLicenseFile bool `json:"onLicenseFile,omitempty"`
	// Entitlements are the license's feature codes, as of the last answer
	// that listed them (a valid validation, or the license file).
	Entitlements []string `json:"entitlements"`
	// Missing are the codes of RequireEntitlements the license lacks.
	Missing []string `json:"missing,omitempty"`
	// LeaseExpiresAt, for a license with a lease (floating seats), is when
	// this machine's seat lapses unless renewed; the guard renews it with a
	// heartbeat every third of Lease.
	LeaseExpiresAt keybox.Time   `json:"leaseExpiresAt"`
	Lease          time.Duration `json:"-"`
}

// Has reports whether the license is active and holds the entitlement code.
func (st GuardState) Has(code string) bool {
	return st.Active && keybox.HasEntitlement(st.Entitlements, code)
}

// Guard keeps a license checked and blocks an HTTP application while it is
// not active. It never stops the process: a missing or revoked license only
// makes it answer 402.
type Guard struct {
	lic      *LicenseClient
	interval time.Duration
	grace    time.Duration
	timeout  time.Duration
	bypass   []string
	status   string
	now      func() time.Time
	onRevoke func(GuardState)
	onRecov  func(GuardState)
	log      *slog.Logger
	file     string
	fileTTL  time.Duration
	require  []string
	loop     sync.Once
	// ticker starts the loop's ticks; tests replace it to tick by hand.
	ticker func(time.Duration) (ticks <-chan time.Time, stop func())
	// after waits between heartbeats (time.After; tests watch it).
	after func(time.Duration) <-chan time.Time

	checkMu sync.Mutex // one check at a time, so transitions happen in order

	mu      sync.RWMutex
	state   GuardState
	checked bool
	// floating is set once the license has shown a lease: its seat may
	// lapse, and taking one again (when one is free) is how the application
	// gets back in.
	floating bool
	lease    time.Duration
}

// NewGuard returns a guard for the license. Call Start before serving.
func NewGuard(lic *LicenseClient, opts GuardOptions) *Guard {
	g := &Guard{
		lic: lic, interval: opts.Interval, grace: opts.GracePeriod, timeout: opts.CheckTimeout,
		bypass: opts.BypassPaths, status: opts.StatusPath, now: opts.Now,
		onRevoke: opts.OnRevoke, onRecov: opts.OnRecover, log: opts.Logger,
		file: opts.LicenseFile, fileTTL: opts.FileTTL, require: opts.RequireEntitlements, after: time.After,
		state: GuardState{State: StateUnknown},
	}
	if g.fileTTL <= 0 {
		g.fileTTL = 30 * 24 * time.Hour
	}
	if g.interval <= 0 {
		g.interval = DefaultInterval
	}
	if g.grace <= 0 {
		g.grace = max(2*g.interval, DefaultMinGrace)
	}
	if g.timeout <= 0 {
		g.timeout = DefaultCheckTimeout
	}
	if g.bypass == nil {
		g.bypass = DefaultBypassPaths
	}
	if g.status == "" {
		g.status = DefaultStatusPath
	}
	if g.now == nil {
		g.now = time.Now
	}
	if g.log == nil {
		g.log = slog.Default()
	}
	g.ticker = newTicker
	return g
}

// Protect is the short way: a license client for key on this machine, a
// guard with the default options, its first check, and next wrapped. The
// guard re-validates until ctx ends.
func Protect(ctx context.Context, serverURL, key string, next http.Handler) (http.Handler, error) {
	lic, err := NewLicenseClient(serverURL, key, LicenseOptions{})
	if err != nil {
		return nil, err
	}
	g := NewGuard(lic, GuardOptions{})
	g.Start(ctx)
	return g.Handler(next), nil
}

// Start checks the license now (activating it if needed) and then every
// interval until ctx ends. It returns the state after the first check; a
// license that is not active is not an error, the guard blocks instead.
func (g *Guard) Start(ctx context.Context) GuardState {
	st := g.Check(ctx)
	g.loop.Do(func() { go g.run(ctx) })
	return st
}

func (g *Guard) run(ctx context.Context) {
	ticks, stop := g.ticker(g.interval)
	defer stop()
	for {
		var beat <-chan time.Time
		if d := g.heartbeatEvery(); d > 0 {
			beat = g.after(d)
		}
		select {
		case <-ctx.Done():
			return
		case <-ticks:
			g.Check(ctx)
		case <-beat:
			if g.State().Active {
				g.Heartbeat(ctx)
			} else {
				g.Check(ctx) // a floating seat may have come free
			}
		}
	}
}

func newTicker(d time.Duration) (<-chan time.Time, func()) {
	t := time.NewTicker(d)
	return t.C, t.Stop
}

// minHeartbeat bounds how often the guard sends heartbeats.
const minHeartbeat = time.Second

// heartbeatEvery is how often the guard renews a floating seat: a third of
// the lease, so that two heartbeats in a row may be lost before the seat
// lapses; 0 for a license without a lease.
func (g *Guard) heartbeatEvery() time.Duration {
	g.mu.RLock()
	defer g.mu.RUnlock()
	if !g.floating || g.lease <= 0 {
		return 0
	}
	return max(g.lease/3, minHeartbeat)
}

// Heartbeat renews this machine's floating seat now (the guard's loop calls
// it every third of the lease). When KeyBox says the seat is gone (it
// lapsed while the machine was away, or was freed) or the license changed,
// it checks the license at once, which takes a seat again if one is free.
func (g *Guard) Heartbeat(ctx context.Context) GuardState {
	cctx, cancel := context.WithTimeout(ctx, g.timeout)
	defer cancel()
	h, err := g.lic.Heartbeat(cctx)
	switch {
	case err == nil:
		g.mu.Lock()
		g.state.LeaseExpiresAt = h.LeaseExpiresAt
		if h.Lease > 0 {
			g.state.Lease, g.lease = h.Lease, h.Lease
		}
		st := g.state
		g.mu.Unlock()
		return st
	case unreachable(err):
		return g.State() // the next check judges how long the guard may go on
	}
	return g.Check(ctx)
}

// State returns what the guard knows now.
func (g *Guard) State() GuardState {
	g.mu.RLock()
	defer g.mu.RUnlock()
	return g.state
}

// Check validates the license now and returns the new state. A PENDING
// license is activated. At the first check, a machine (or instance) without
// a seat takes one, as a new installation must; later, a lost seat (freed
// by the developer) is not taken back. Start calls Check; call it yourself
// to re-check at once, e.g. after the customer pays.
func (g *Guard) Check(ctx context.Context) GuardState {
	g.checkMu.Lock()
	defer g.checkMu.Unlock()
	cctx, cancel := context.WithTimeout(ctx, g.timeout)
	defer cancel()

	g.mu.RLock()
	first := !g.checked
	g.mu.RUnlock()

	v, err := g.lic.Validate(cctx, g.require...)
	activationRefused := ""
	if err == nil && g.shouldActivate(v.Status, first) {
		if _, aerr := g.lic.Activate(cctx); aerr == nil {
			v, err = g.lic.Validate(cctx, g.require...)
		} else if unreachable(aerr) {
			err = aerr
		} else {
			activationRefused = messageOf(aerr)
		}
	}
	if ctx.Err() != nil {
		return g.State() // shutting down: an interrupted check says nothing of the license
	}

	now := g.now()
	var file *keybox.LicenseFile
	switch {
	case err == nil && v.Valid:
		g.refreshFile(cctx, now)
	case err != nil && unreachable(err):
		file = g.verifiedFile(now)
	}
	g.mu.Lock()
	prev := g.state
	next := g.judge(prev, v, err, activationRefused, now)
	if file != nil && !file.ExpiresAt.Before(next.GraceEndsAt.Time) && len(lacking(file.Entitlements, g.require)) == 0 {
		next.Active, next.OnLicenseFile = true, true
		next.State, next.Message = strings.ToUpper(string(ValidationActive)), "KeyBox cannot be reached; running on a license file"
		next.GraceEndsAt, next.ExpiresAt = file.ExpiresAt, file.LicenseExpiresAt
		next.Entitlements, next.Missing = file.Entitlements, nil
	}
	g.state, g.checked = next, true
	if v.Lease > 0 {
		g.floating, g.lease = true, v.Lease
	}
	g.mu.Unlock()

	g.report(prev, next, first)
	return next
}

// shouldActivate: a PENDING license is activated; a machine (or instance)
// without a seat takes one at the first check, as a new installation must,
// and, on a floating license, whenever it finds its seat gone (its lease
// lapsed while it was away). A seat the developer freed on a license
// without leases is not taken back.
func (g *Guard) shouldActivate(s ValidationStatus, first bool) bool {
	g.mu.RLock()
	floating := g.floating
	g.mu.RUnlock()
	mismatch := s == ValidationMachineMismatch || s == ValidationInstanceMismatch
	return s == ValidationPending || (mismatch && (first || floating))
}

// judge computes the state after a check.
func (g *Guard) judge(prev GuardState, v Validation, err error, activationRefused string, now time.Time) GuardState {
	next := prev
	next.LastCheckedAt = keybox.NewTime(now)
	switch {
	case err != nil && unreachable(err):
		next.Offline, next.Error = true, err.Error()
		if !prev.Active {
			if prev.State == StateUnknown {
				next.State, next.Message = StateOffline, "KeyBox could not be reached"
			}
			return next
		}
		next.GraceEndsAt = keybox.NewTime(prev.LastValidatedAt.Add(g.grace))
		if now.After(next.GraceEndsAt.Time) {
			next.Active = false
			next.State, next.Message = StateOffline, "KeyBox could not be reached for longer than the grace period"
		}
		return next
	case err != nil:
		// A definite refusal, such as a missing key (400).
		return GuardState{State: stateInvalid, Message: messageOf(err), LastCheckedAt: next.LastCheckedAt,
			LastValidatedAt: prev.LastValidatedAt}
	}
	next = GuardState{
		Active: v.Valid, State: strings.ToUpper(string(v.Status)), Message: v.Message, ExpiresAt: v.ExpiresAt,
		LastValidatedAt: prev.LastValidatedAt, LastCheckedAt: next.LastCheckedAt,
		Entitlements: v.Entitlements, Missing: v.Missing, LeaseExpiresAt: v.LeaseExpiresAt, Lease: v.Lease,
	}
	if next.State == "" {
		next.State = stateInvalid
	}
	if activationRefused != "" {
		next.Message = activationRefused
	}
	if v.Valid {
		next.LastValidatedAt = keybox.NewTime(now)
	}
	return next
}

// report logs a change and calls the callbacks, outside every lock.
func (g *Guard) report(prev, next GuardState, first bool) {
	switch {
	case next.Active && next.Offline && !prev.Offline:
		g.log.Warn("keybox: license server unreachable; serving on the grace period",
			"graceEndsAt", next.GraceEndsAt.String(), "error", next.Error)
	case next.Offline && !prev.Offline:
		g.log.Warn("keybox: license server unreachable", "error", next.Error)
	}
	switch {
	case !next.Active && (prev.Active || first):
		g.log.Error("keybox: license not active; answering 402", "state", next.State, "message", next.Message)
		g.call(g.onRevoke, next)
	case next.Active && !prev.Active && !first:
		g.log.Info("keybox: license active again", "state", next.State)
		g.call(g.onRecov, next)
	}
}

// call runs a callback; a panic in it is logged, never passed on.
func (g *Guard) call(fn func(GuardState), st GuardState) {
	if fn == nil {
		return
	}
	defer func() {
		if p := recover(); p != nil {
			g.log.Error("keybox: guard callback panicked", "panic", fmt.Sprint(p))
		}
	}()
	fn(st)
}

// unreachable reports an error that says nothing about the license: the
// network, a server error, a rate limit, an answer that is not KeyBox's.
func unreachable(err error) bool {
	var e *APIError
	if !errors.As(err, &e) {
		return true
	}
	return e.Status >= 500 || e.Status == http.StatusTooManyRequests
}

func messageOf(err error) string {
	var e *APIError
	if errors.As(err, &e) {
		return e.Message
	}
	return err.Error()
}

// inactiveBody is the answer while the license is not active, or lacks an
// entitlement the route needs (Missing).
type inactiveBody struct {
	Error   string   `json:"error"`
	State   string   `json:"state"`
	Message string   `json:"message"`
	Missing []string `json:"missing,omitempty"`
}

// StateEntitlementsMissing is the state of a license that is active but
// lacks codes the application or the route requires.
var StateEntitlementsMissing = strings.ToUpper(string(ValidationEntitlementsMissing))

// Handler wraps next: requests are served while the license is active; the
// bypass paths always; the status path answers the guard's state; anything
// else gets 402 {"error": "LICENSE_INACTIVE", "state", "message"}.
func (g *Guard) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == g.status {
			writeGuardJSON(w, http.StatusOK, g.State())
			return
		}
		if g.bypassed(r.URL.Path) {
			next.ServeHTTP(w, r)
			return
		}
		st := g.State()
		if st.Active && !g.ranOut(st) {
			next.ServeHTTP(w, r)
			return
		}
		g.block(w, st)
	})
}

// block answers 402 for a license that is not active (st.Missing names the
// codes of RequireEntitlements it lacks, if that is why).
func (g *Guard) block(w http.ResponseWriter, st GuardState) {
	if st.Active {
		st.State = StateOffline // the grace period or the license file ran out since the last check
	}
	writeGuardJSON(w, http.StatusPaymentRequired, inactiveBody{Error: "LICENSE_INACTIVE", State: st.State, Message: "Go pay your developer",
		Missing: st.Missing})
}

// Require wraps a handler that needs entitlement codes (an export that
// only "pro" licenses unlock): it is served while the license is active
// and holds every code; otherwise it answers 402 with the codes the
// license lacks (state ENTITLEMENTS_MISSING), or as Handler does while the
// license is not active. Use it inside Handler, for the routes that need
// more than the application as a whole.
func (g *Guard) Require(codes ...string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			st := g.State()
			if !st.Active || g.ranOut(st) {
				g.block(w, st)
				return
			}
			if missing := lacking(st.Entitlements, codes); len(missing) > 0 {
				writeGuardJSON(w, http.StatusPaymentRequired, inactiveBody{Error: "LICENSE_INACTIVE", State: StateEntitlementsMissing,
					Message: "Go pay your developer", Missing: missing})
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// ranOut reports an offline state whose grace period (served up to its
// end) or license file (valid until its expiry, exclusive) has run out since
// the last check.
func (g *Guard) ranOut(st GuardState) bool {
	if !st.Offline || st.GraceEndsAt.IsZero() {
		return false
	}
	now := g.now()
	if st.OnLicenseFile {
		return !now.Before(st.GraceEndsAt.Time)
	}
	return now.After(st.GraceEndsAt.Time)
}

func (g *Guard) bypassed(path string) bool {
	for _, p := range g.bypass {
		if path == p || (strings.HasSuffix(p, "/") && strings.HasPrefix(path, p)) {
			return true
		}
	}
	return false
}

func writeGuardJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// verifiedFile returns the license file if it verifies at now.
func (g *Guard) verifiedFile(now time.Time) *keybox.LicenseFile {
	if g.file == "" || !g.lic.Verifies() {
		return nil
	}
	text, err := os.ReadFile(g.file)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			g.log.Warn("keybox: license file unreadable", "path", g.file, "error", err)
		}
		return nil
	}
	f, err := VerifyLicenseFile(string(text), g.lic.keys, g.lic.Key(), g.lic.MachineID(), now)
	if err != nil {
		g.log.Warn("keybox: license file refused", "path", g.file, "error", err)
		return nil
	}
	return &f
}

// refreshFile keeps a fresh license file while KeyBox answers: a new one is
// taken when there is none or less than half of its life is left.
func (g *Guard) refreshFile(ctx context.Context, now time.Time) {
	if g.file == "" || !g.lic.Verifies() {
		return
	}
	if f := g.verifiedFile(now); f != nil && f.ExpiresAt.Sub(now) > g.fileTTL/2 {
		return
	}
	text, f, err := g.lic.Checkout(ctx, g.fileTTL)
	if err != nil {
		g.log.Warn("keybox: could not renew the license file", "error", err)
		return
	}
	if err := writeFileAtomic(g.file, []byte(text)); err != nil {
		g.log.Warn("keybox: could not save the license file", "path", g.file, "error", err)
		return
	}
	g.log.Info("keybox: license file renewed", "path", g.file, "expiresAt", f.ExpiresAt.String())
}

// writeFileAtomic replaces path with data (mode 0600) so that a reader never
// sees half a file.
func writeFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".keybox-license-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
