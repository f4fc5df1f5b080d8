// Package server is KeyBox's HTTP layer: routing, middleware, and handlers
// that decode a request, make one call to the licensing service, and encode
// its answer.
package server

import (
	"errors"
	"log/slog"
	"net/http"
	"net/netip"
	"runtime"
	"strings"
	"time"

	"github.com/keyboxhq/keybox/internal/buildinfo"
	"github.com/keyboxhq/keybox/internal/licensing"
	"github.com/keyboxhq/keybox/internal/signin"
)

// DefaultBodyLimit bounds request bodies: 1 MiB, far above any real request.
const DefaultBodyLimit = 1 << 20

// Config holds the server's dependencies and settings.
type Config struct {
	Service *licensing.Service
	Logger  *slog.Logger
	// Now is the clock for responses that show the time (time.Now when nil).
	Now func() time.Time
	// BodyLimit bounds request bodies in bytes (DefaultBodyLimit when 0).
	BodyLimit int64
	// CORSOrigins may call the management API from a browser; "*" for any.
	// The public license API allows every origin.
	CORSOrigins []string
	// RateLimits are the public API's and login's limits; nil turns them off.
	RateLimits *RateLimits
	// TrustedProxies are the networks whose X-Forwarded-For is believed.
	TrustedProxies []netip.Prefix
	// SignIn runs sign-ins through providers (Google, OpenID Connect);
	// nil when none is configured.
	SignIn *signin.Service
	// PublicURL is the server's address as browsers reach it, without a
	// trailing slash (e.g. https://keybox.example.com); when empty, sign-in
	// callback URLs are derived from each request.
	PublicURL string
	// Build is the build that answers, as /healthz and /metrics report it
	// (buildinfo.Get() when its Version is empty).
	Build buildinfo.Info
	// SeparateMetrics serves /metrics only through MetricsHandler, on a
	// listener of its own: the API's GET /metrics then answers 404.
	SeparateMetrics bool
}

// Server is the HTTP handler of KeyBox.
type Server struct {
	svc       *licensing.Service
	log       *slog.Logger
	now       func() time.Time
	bodyLimit int64
	cors      map[string]bool
	mux       *http.ServeMux
	table     []route
	words     map[string]bool // literal path segments of the routes, for logs
	limits    *limiters
	trusted   []netip.Prefix
	metrics   *metrics
	signin    *signin.Service
	publicURL string
	build     buildinfo.Info
	// metricsElsewhere: /metrics is served by MetricsHandler only.
	metricsElsewhere bool
}

// New returns the handler for the whole API.
func New(cfg Config) (*Server, error) {
	if cfg.Service == nil {
		return nil, errors.New("server: a licensing service is required")
	}
	s := &Server{svc: cfg.Service, log: cfg.Logger, now: cfg.Now, bodyLimit: cfg.BodyLimit, mux: http.NewServeMux(),
		limits: newLimiters(cfg.RateLimits), trusted: cfg.TrustedProxies, metrics: newMetrics(),
		signin: cfg.SignIn, publicURL: strings.TrimRight(cfg.PublicURL, "/"), build: cfg.Build,
		metricsElsewhere: cfg.SeparateMetrics}
	if s.build.Version == "" {
		s.build = buildinfo.Get()
	}
	if s.build.GoVersion == "" {
		s.build.GoVersion = runtime.Version()
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.bodyLimit <= 0 {
		s.bodyLimit = DefaultBodyLimit
	}
	s.cors = make(map[string]bool, len(cfg.CORSOrigins))
	for _, o := range cfg.CORSOrigins {
		s.cors[o] = true
	}
	if _, err := openAPI(); err != nil {
		return nil, err
	}
	s.register(s.routes())
	s.words = pathWords(s.Routes())
	return s, nil
}

// ServeHTTP runs every request through the middleware and the router.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rw := newResponseWriter(w, r)
	start := time.Now()
	defer func() {
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler {
				panic(p)
			}
			s.log.LogAttrs(r.Context(), slog.LevelError, "panic", slog.String("requestId", rw.id), slog.Any("panic", p))
			if !rw.wroteHeader {
				s.answerError(rw, r, bare, errors.New("panic"))
			}
		}
		d := time.Since(start)
		s.metrics.observe(r.Pattern, r.Method, rw.status, d)
		s.logRequest(r, rw, d)
		rw.release()
	}()
	setSecurityHeaders(rw.Header())
	if s.handleCORS(rw, r) {
		return
	}
	if r.ContentLength > s.bodyLimit {
		s.answerError(rw, r, bare, errBodyTooLarge)
		return
	}
	r.Body = http.MaxBytesReader(rw, r.Body, s.bodyLimit)
	s.route(rw, r)
}

// route dispatches to the mux in one lookup. When no route matches, the
// mux answers 404 or 405 in plain text; the response writer replaces that
// answer with JSON, as every answer is (keeping the mux's Allow header).
func (s *Server) route(rw *responseWriter, r *http.Request) {
	rw.routed = r
	s.mux.ServeHTTP(rw, r)
}

// logRequest writes the access log line, which names the route rather than
// the path (see addressed: a path may hold a license key), who made the
// request once authenticated (userId, and apiTokenId when through an API
// token), and the client's address as trusted proxies report it (clientIP)
// beside the peer's (remote). Successful calls of the public
// license API are logged at debug level: every installed application makes
// one every few minutes, for years, and /metrics counts them; at info level
// they would bury everything else (and cost a tenth of the hot path).
func (s *Server) logRequest(r *http.Request, rw *responseWriter, d time.Duration) {
	level := slog.LevelInfo
	switch {
	case rw.status >= 500:
		level = slog.LevelError
	case rw.status < 400 && isPublicPath(r.URL.Path):
		level = slog.LevelDebug
	}
	if !s.log.Enabled(r.Context(), level) {
		return
	}
	attrs := make([]slog.Attr, 0, 14)
	attrs = append(attrs, slog.String("requestId", rw.id), slog.String("method", r.Method))
	attrs = s.addressed(r, attrs)
	if rw.userID != "" {
		attrs = append(attrs, slog.String("userId", rw.userID))
	}
	if rw.apiTokenID != "" {
		attrs = append(attrs, slog.String("apiTokenId", rw.apiTokenID))
	}
	attrs = append(attrs,
		slog.Int("status", rw.status),
		slog.Int64("bytes", rw.bytes),
		slog.Float64("durationMs", durationMs(d)),
		slog.String("clientIP", s.clientIP(r)),
		slog.String("remote", r.RemoteAddr),
	)
	s.log.LogAttrs(r.Context(), level, "request", attrs...)
}

// durationMs is d in milliseconds to the microsecond: a number that log
// tools compare and add up as it is, precise enough for the fastest
// requests (a validation takes a few tens of microseconds).
func durationMs(d time.Duration) float64 {
	return float64(d.Microseconds()) / 1000
}
