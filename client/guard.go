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
	loop     sync.Once
	// ticker starts the loop's ticks; tests replace it to tick by hand.
	ticker func(time.Duration) (ticks <-chan time.Time, stop func())

	checkMu sync.Mutex // one check at a time, so transitions happen in order

	mu      sync.RWMutex
	state   GuardState
	checked bool
}

// NewGuard returns a guard for the license. Call Start before serving.
func NewGuard(lic *LicenseClient, opts GuardOptions) *Guard {
	g := &Guard{
		lic: lic, interval: opts.Interval, grace: opts.GracePeriod, timeout: opts.CheckTimeout,
		bypass: opts.BypassPaths, status: opts.StatusPath, now: opts.Now,
		onRevoke: opts.OnRevoke, onRecov: opts.OnRecover, log: opts.Logger,
		file: opts.LicenseFile, fileTTL: opts.FileTTL,
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
		select {
		case <-ctx.Done():
			return
		case <-ticks:
			g.Check(ctx)
		}
	}
}

func newTicker(d time.Duration) (<-chan time.Time, func()) {
	t := time.NewTicker(d)
	return t.C, t.Stop
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

	v, err := g.lic.Validate(cctx)
	activationRefused := ""
	if err == nil && g.shouldActivate(v.Status, first) {
		if _, aerr := g.lic.Activate(cctx); aerr == nil {
			v, err = g.lic.Validate(cctx)
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
	if file != nil && !file.ExpiresAt.Before(next.GraceEndsAt.Time) {
		next.Active, next.OnLicenseFile = true, true
		next.State, next.Message = strings.ToUpper(string(ValidationActive)), "KeyBox cannot be reached; running on a license file"
		next.GraceEndsAt, next.ExpiresAt = file.ExpiresAt, file.LicenseExpiresAt
	}
	g.state, g.checked = next, true
	g.mu.Unlock()

	g.report(prev, next, first)
	return next
}

func (g *Guard) shouldActivate(s ValidationStatus, first bool) bool {
	return s == ValidationPending || (first && (s == ValidationMachineMismatch || s == ValidationInstanceMismatch))
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

// inactiveBody is the answer while the license is not active.
type inactiveBody struct {
	Error   string `json:"error"`
	State   string `json:"state"`
	Message string `json:"message"`
}

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
		if st.Active {
			st.State = StateOffline // the grace period or the license file ran out since the last check
		}
		writeGuardJSON(w, http.StatusPaymentRequired, inactiveBody{Error: "LICENSE_INACTIVE", State: st.State, Message: "Go pay your developer"})
	})
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
