package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"runtime"
	"sync"
	"time"

	"github.com/keyboxhq/keybox/internal/auth"
	"github.com/keyboxhq/keybox/internal/buildinfo"
	"github.com/keyboxhq/keybox/internal/licensing"
	"github.com/keyboxhq/keybox/internal/server"
	"github.com/keyboxhq/keybox/internal/signin"
	"github.com/keyboxhq/keybox/internal/sqlstore"
	"github.com/keyboxhq/keybox/internal/webhook"
)

// shutdownGrace is how long in-flight requests may take to finish on SIGTERM.
const shutdownGrace = 20 * time.Second

// runServe is keybox serve.
func runServe(ctx context.Context, c cli, args []string) error {
	return serve(ctx, args, c.getenv, c.stdout, c.stderr)
}

func serve(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := loadConfig("serve", args, getenv)
	if err != nil {
		return err
	}
	log := newLogger(cfg, stderr)
	secret, err := jwtSecret(cfg)
	if err != nil {
		return err
	}
	secretKey, err := serverSecret(cfg.secretKey, cfg.databaseURL)
	if err != nil {
		return err
	}
	store, err := openStoreWith(ctx, cfg.databaseURL, sqlstore.Options{MaxConns: cfg.dbMaxConns})
	if err != nil {
		return err
	}
	defer func() {
		if err := store.Close(); err != nil {
			log.Error("close database", "error", err)
		}
	}()
	tokens, err := auth.NewTokens(secret, cfg.tokenTTL, nil)
	if err != nil {
		return err
	}
	passwords, err := auth.NewPasswords(auth.DefaultCost, runtime.GOMAXPROCS(0))
	if err != nil {
		return err
	}
	svc, err := licensing.New(licensing.Config{
		Store: store, Passwords: passwords, Tokens: tokens, Logger: log, SignupClosed: !cfg.signupOpen, SecretKey: secretKey,
		// The secret every server shares and nobody rotates to end sessions:
		// a key's fingerprint (in logs, and as an application's id in the
		// event log) is the same on every server and stays the same.
		FingerprintSecret: secretKey,
		Webhooks:          webhook.Policy{AllowPrivate: cfg.webhookPrivate},
		EventRetention:    cfg.eventRetention,
		CacheSize:         cfg.cacheSize,
	})
	if err != nil {
		return err
	}
	if err := svc.EnsureSigningKey(ctx); err != nil {
		return err
	}
	if err := svc.CheckSigningKey(ctx); err != nil {
		return sealedKeyAdvice(err)
	}
	var limits *server.RateLimits
	if cfg.rateLimit {
		limits = server.DefaultRateLimits()
		limits.Counters = store // every server sharing the database shares the counts
	}
	var signIn *signin.Service
	if len(cfg.signIn.providers) > 0 {
		if signIn, err = signin.New(signin.Config{Providers: cfg.signIn.providers, Secret: secret}); err != nil {
			return err
		}
	}
	handler, err := server.New(server.Config{
		Service: svc, Logger: log, CORSOrigins: cfg.corsOrigins, RateLimits: limits, TrustedProxies: cfg.trustedProxies,
		SignIn: signIn, PublicURL: cfg.signIn.publicURL, Build: buildinfo.Get(), SeparateMetrics: cfg.metricsAddr != "",
	})
	if err != nil {
		return err
	}
	if cfg.metricsAddr != "" {
		stopMetrics, err := serveMetrics(cfg.metricsAddr, handler.MetricsHandler(), log)
		if err != nil {
			return err
		}
		defer stopMetrics()
	}
	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.addr, err)
	}
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	engine, _, _ := parseDatabaseURL(cfg.databaseURL)
	log.Info("listening", "addr", ln.Addr().String(), "database", engine,
		"version", buildinfo.Get().Version, "revision", buildinfo.Get().Revision)

	// Background work stops with workCtx, after the last request has finished.
	workCtx, stopWork := context.WithCancel(context.WithoutCancel(ctx))
	var work sync.WaitGroup
	work.Go(func() { svc.RunSweeper(workCtx, licensing.SweepInterval) })
	work.Go(func() { svc.RunFlusher(workCtx, licensing.DefaultFlushInterval) })
	// Changes made through other servers are forgotten as they commit, so
	// that the validation cache may keep what has not changed.
	work.Go(func() { svc.WatchChanges(workCtx) })
	// Webhook deliveries run apart from requests, a few at a time.
	deliveries := &webhook.Worker{Source: svc, Sender: webhook.NewSender(webhook.Policy{AllowPrivate: cfg.webhookPrivate}),
		Wake: svc.DeliveryWake(), Log: log}
	work.Go(func() { deliveries.Run(workCtx) })
	// Sign-in providers are discovered in the background: one that cannot
	// be reached delays nothing, and its sign-ins fail until it can be.
	work.Go(func() {
		if err := signIn.Discover(workCtx); err != nil && workCtx.Err() == nil {
			log.Warn("sign-in provider not reachable; its sign-ins fail until it is", "error", err)
		}
	})
	defer func() {
		stopWork()
		work.Wait()
	}()

	if cfg.debugAddr != "" {
		stopDebug, err := serveDebug(cfg.debugAddr, log)
		if err != nil {
			return err
		}
		defer stopDebug()
	}

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down: finishing requests in flight")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		log.Error("shutdown", "error", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	log.Info("stopped")
	return nil
}

// serveMetrics serves /metrics on its own listener, so that the API's
// address need not show them; it keeps serving until the server has
// stopped, so a scrape during the shutdown still answers.
func serveMetrics(addr string, h http.Handler, log *slog.Logger) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("metrics listener on %s: %w", addr, err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second, WriteTimeout: 30 * time.Second,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	go func() { _ = srv.Serve(ln) }()
	log.Info("metrics listener", "addr", ln.Addr().String())
	return func() { _ = srv.Close() }, nil
}

// serveDebug serves the runtime profiles on their own listener, so that
// they are never reachable through the public address.
func serveDebug(addr string, log *slog.Logger) (stop func(), err error) {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("debug listener on %s: %w", addr, err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	log.Info("debug listener", "addr", ln.Addr().String())
	return func() { _ = srv.Close() }, nil
}
