package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/keyboxhq/keybox/internal/licensing"
	"github.com/keyboxhq/keybox/internal/postgres"
)

// config is the server's configuration: environment variables, overridden by
// the flags of keybox serve.
type config struct {
	addr           string
	databaseURL    string
	jwtSecret      string
	secretKey      string
	tokenTTL       time.Duration
	signupOpen     bool
	rateLimit      bool
	trustedProxies []netip.Prefix
	logFormat      string
	logLevel       slog.Level
	corsOrigins    []string
	debugAddr      string
	metricsAddr    string
	dbMaxConns     int
	eventRetention time.Duration // negative: for ever
	webhookPrivate bool
	cacheSize      int64 // bytes
	signIn         signInConfig
}

const defaultDatabaseURL = "sqlite://./keybox-data/keybox.db"

// rawConfig holds the settings as text, first from the environment, then
// overridden by flags, before loadConfig checks them all.
type rawConfig struct {
	port, addr, databaseURL, jwtSecret, secretKey, tokenTTL, signup, rateLimit,
	trustedProxies, logFormat, logLevel, corsOrigins, debugAddr, metricsAddr, dbMaxConns string
	eventRetention, webhookPrivate, cacheSize string
	signIn                                    signInRaw
}

// loadConfig reads the environment and then the flags. Every invalid setting
// is reported, one line each, in the returned error; -h is flag.ErrHelp.
func loadConfig(name string, args []string, getenv func(string) string) (config, error) {
	fs := flag.NewFlagSet("keybox "+name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	raw := configFlags(fs, getenv)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return config{}, err
		}
		return config{}, usageError(fmt.Sprintf("%s: %v (see keybox %s -h)", name, err, name))
	}
	if fs.NArg() > 0 {
		return config{}, usageError(fmt.Sprintf("%s: unexpected arguments: %s", name, strings.Join(fs.Args(), " ")))
	}
	return raw.check(name == "serve")
}

// serveFlags registers the server's settings as flags, with the built-in
// defaults (for help and completion: never the environment's values, which
// may be secrets).
func serveFlags(fs *flag.FlagSet) {
	configFlags(fs, func(string) string { return "" })
}

// configFlags registers the server's settings on fs, each flag's default
// the environment's value.
func configFlags(fs *flag.FlagSet, getenv func(string) string) *rawConfig {
	env := func(key, def string) string {
		if v := strings.TrimSpace(getenv(key)); v != "" {
			return v
		}
		return def
	}
	raw := rawConfig{
		port:           env("PORT", "5000"),
		addr:           env("KEYBOX_ADDR", ""),
		databaseURL:    env("KEYBOX_DATABASE_URL", defaultDatabaseURL),
		jwtSecret:      getenv("KEYBOX_JWT_SECRET"),
		secretKey:      getenv("KEYBOX_SECRET_KEY"),
		tokenTTL:       env("KEYBOX_TOKEN_TTL", "30m"),
		signup:         env("KEYBOX_SIGNUP", "open"),
		rateLimit:      env("KEYBOX_RATE_LIMIT", "on"),
		trustedProxies: env("KEYBOX_TRUSTED_PROXIES", ""),
		logFormat:      env("KEYBOX_LOG_FORMAT", ""),
		logLevel:       env("KEYBOX_LOG_LEVEL", "info"),
		corsOrigins:    env("KEYBOX_CORS_ORIGINS", ""),
		debugAddr:      env("KEYBOX_DEBUG_ADDR", ""),
		metricsAddr:    env("KEYBOX_METRICS_ADDR", ""),
		dbMaxConns:     env("KEYBOX_DB_MAX_CONNS", strconv.Itoa(postgres.DefaultMaxConns)),
		eventRetention: env("KEYBOX_EVENT_RETENTION", "365d"),
		webhookPrivate: env("KEYBOX_WEBHOOK_ALLOW_PRIVATE", "false"),
		cacheSize:      env("KEYBOX_CACHE_SIZE", formatSize(licensing.DefaultCacheSize)),
		signIn:         readSignIn(env),
	}
	fs.StringVar(&raw.port, "port", raw.port, "listen port (PORT)")
	fs.StringVar(&raw.addr, "addr", raw.addr, "full listen address, overrides -port (KEYBOX_ADDR)")
	fs.StringVar(&raw.databaseURL, "database-url", raw.databaseURL, "sqlite://PATH or postgres://… (KEYBOX_DATABASE_URL)")
	fs.StringVar(&raw.jwtSecret, "jwt-secret", raw.jwtSecret, "token signing secret, at least 32 bytes (KEYBOX_JWT_SECRET)")
	fs.StringVar(&raw.secretKey, "secret-key", raw.secretKey, "secret that encrypts the signing keys, at least 32 bytes (KEYBOX_SECRET_KEY)")
	fs.StringVar(&raw.tokenTTL, "token-ttl", raw.tokenTTL, "login token lifetime (KEYBOX_TOKEN_TTL)")
	fs.StringVar(&raw.signup, "signup", raw.signup, "open or closed (KEYBOX_SIGNUP)")
	fs.StringVar(&raw.rateLimit, "rate-limit", raw.rateLimit, "on or off (KEYBOX_RATE_LIMIT)")
	fs.StringVar(&raw.trustedProxies, "trusted-proxies", raw.trustedProxies, "comma-separated CIDRs whose X-Forwarded-For is believed (KEYBOX_TRUSTED_PROXIES)")
	fs.StringVar(&raw.logFormat, "log-format", raw.logFormat, "text or json; default text on a terminal, else json (KEYBOX_LOG_FORMAT)")
	fs.StringVar(&raw.logLevel, "log-level", raw.logLevel, "debug, info, warn or error (KEYBOX_LOG_LEVEL)")
	fs.StringVar(&raw.corsOrigins, "cors-origins", raw.corsOrigins, "comma-separated origins allowed to call the management API, or * (KEYBOX_CORS_ORIGINS)")
	fs.StringVar(&raw.debugAddr, "debug-addr", raw.debugAddr, "address of a separate listener for /debug/pprof, e.g. 127.0.0.1:6060; off when empty (KEYBOX_DEBUG_ADDR)")
	fs.StringVar(&raw.metricsAddr, "metrics-addr", raw.metricsAddr, "address of a separate listener for /metrics, e.g. 127.0.0.1:5001; the API's port then answers 404 for /metrics; on the API's port when empty (KEYBOX_METRICS_ADDR)")
	fs.StringVar(&raw.dbMaxConns, "db-max-conns", raw.dbMaxConns, "most connections open to PostgreSQL at once (KEYBOX_DB_MAX_CONNS)")
	fs.StringVar(&raw.eventRetention, "event-retention", raw.eventRetention, "how long events are kept: days such as 365d, a duration such as 720h, or forever (KEYBOX_EVENT_RETENTION)")
	fs.StringVar(&raw.cacheSize, "cache-size", raw.cacheSize, "memory the validation cache may hold, such as 48MB or 1GB (KEYBOX_CACHE_SIZE)")
	fs.StringVar(&raw.webhookPrivate, "webhook-allow-private", raw.webhookPrivate, "true lets webhooks reach loopback, private and link-local addresses (KEYBOX_WEBHOOK_ALLOW_PRIVATE)")
	raw.signIn.flags(fs)
	return &raw
}

// check validates every setting; serving also needs a JWT secret and a
// secret key with PostgreSQL.
func (raw rawConfig) check(serving bool) (config, error) {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	c := config{addr: raw.addr, databaseURL: raw.databaseURL, jwtSecret: raw.jwtSecret, secretKey: raw.secretKey}

	if c.addr == "" {
		if p, err := strconv.Atoi(raw.port); err != nil || p < 0 || p > 65535 {
			bad("PORT: %q is not a port number (0-65535)", raw.port)
		}
		c.addr = ":" + raw.port
	} else if _, _, err := net.SplitHostPort(c.addr); err != nil {
		bad("KEYBOX_ADDR: %q is not host:port", c.addr)
	}
	engine, _, err := parseDatabaseURL(c.databaseURL)
	if err != nil {
		bad("KEYBOX_DATABASE_URL: %v", err)
	}
	if c.jwtSecret != "" && len(c.jwtSecret) < 32 {
		bad("KEYBOX_JWT_SECRET: must be at least 32 bytes (got %d)", len(c.jwtSecret))
	}
	if serving && engine == "postgres" && c.jwtSecret == "" {
		bad("KEYBOX_JWT_SECRET: required with PostgreSQL (at least 32 bytes, the same on every server)")
	}
	if c.secretKey != "" && len(c.secretKey) < licensing.MinSecretKeyLength {
		bad("KEYBOX_SECRET_KEY: must be at least %d bytes (got %d)", licensing.MinSecretKeyLength, len(c.secretKey))
	}
	if serving && engine == "postgres" && c.secretKey == "" {
		errs = append(errs, errSecretKeyRequired)
	}
	if d, err := time.ParseDuration(raw.tokenTTL); err != nil || d <= 0 {
		bad("KEYBOX_TOKEN_TTL: %q is not a positive duration such as 30m", raw.tokenTTL)
	} else {
		c.tokenTTL = d
	}
	switch raw.signup {
	case "open":
		c.signupOpen = true
	case "closed":
	default:
		bad("KEYBOX_SIGNUP: %q must be open or closed", raw.signup)
	}
	switch raw.rateLimit {
	case "on":
		c.rateLimit = true
	case "off":
	default:
		bad("KEYBOX_RATE_LIMIT: %q must be on or off", raw.rateLimit)
	}
	for _, s := range splitList(raw.trustedProxies) {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			if a, aerr := netip.ParseAddr(s); aerr == nil {
				p, err = a.Prefix(a.BitLen())
			}
		}
		if err != nil {
			bad("KEYBOX_TRUSTED_PROXIES: %q is not a CIDR such as 10.0.0.0/8", s)
			continue
		}
		c.trustedProxies = append(c.trustedProxies, p.Masked())
	}
	switch raw.logFormat {
	case "", "text", "json":
		c.logFormat = raw.logFormat
	default:
		bad("KEYBOX_LOG_FORMAT: %q must be text or json", raw.logFormat)
	}
	if err := c.logLevel.UnmarshalText([]byte(raw.logLevel)); err != nil {
		bad("KEYBOX_LOG_LEVEL: %q must be debug, info, warn or error", raw.logLevel)
	}
	c.corsOrigins = splitList(raw.corsOrigins)
	if c.debugAddr = raw.debugAddr; c.debugAddr != "" {
		if _, _, err := net.SplitHostPort(c.debugAddr); err != nil {
			bad("KEYBOX_DEBUG_ADDR: %q is not host:port", c.debugAddr)
		}
	}
	if c.metricsAddr = raw.metricsAddr; c.metricsAddr != "" {
		if _, _, err := net.SplitHostPort(c.metricsAddr); err != nil {
			bad("KEYBOX_METRICS_ADDR: %q is not host:port", c.metricsAddr)
		}
	}
	if n, err := strconv.Atoi(raw.dbMaxConns); err != nil || n < 1 || n > maxDBConns {
		bad("KEYBOX_DB_MAX_CONNS: %q is not a number of connections from 1 to %d", raw.dbMaxConns, maxDBConns)
	} else {
		c.dbMaxConns = n
	}
	if d, ok := parseRetention(raw.eventRetention); ok {
		c.eventRetention = d
	} else {
		bad("KEYBOX_EVENT_RETENTION: %q is not a number of days such as 365d, a duration such as 720h, or forever", raw.eventRetention)
	}
	if v, err := strconv.ParseBool(raw.webhookPrivate); err != nil {
		bad("KEYBOX_WEBHOOK_ALLOW_PRIVATE: %q must be true or false", raw.webhookPrivate)
	} else {
		c.webhookPrivate = v
	}
	if n, ok := parseSize(raw.cacheSize); ok && n >= minCacheSize && n <= maxCacheSize {
		c.cacheSize = n
	} else {
		bad("KEYBOX_CACHE_SIZE: %q is not a size from 1MB to 64GB, such as 48MB", raw.cacheSize)
	}
	c.signIn = raw.signIn.check(bad)
	return c, errors.Join(errs...)
}

// parseRetention reads a retention: "forever", days ("365d") or a positive
// Go duration ("720h").
func parseRetention(s string) (time.Duration, bool) {
	if s == "forever" {
		return -1, true
	}
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n < 1 || n > 100*366 {
			return 0, false
		}
		return time.Duration(n) * 24 * time.Hour, true
	}
	d, err := time.ParseDuration(s)
	return d, err == nil && d > 0
}

// Bounds of KEYBOX_CACHE_SIZE.
const (
	minCacheSize = 1 << 20
	maxCacheSize = 64 << 30
)

// sizeUnits are the units of a size, in powers of 1024 (as memory is counted).
var sizeUnits = []struct {
	suffix string
	bytes  int64
}{{"KB", 1 << 10}, {"MB", 1 << 20}, {"GB", 1 << 30}, {"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"B", 1}}

// parseSize reads a size in bytes: a whole number with one of sizeUnits,
// or none for bytes.
func parseSize(s string) (int64, bool) {
	mult := int64(1)
	for _, u := range sizeUnits {
		if n, ok := strings.CutSuffix(s, u.suffix); ok {
			s, mult = strings.TrimSpace(n), u.bytes
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || n > maxCacheSize {
		return 0, false
	}
	return n * mult, true
}

// formatSize writes a size in the largest unit that divides it.
func formatSize(n int64) string {
	switch {
	case n%(1<<30) == 0:
		return strconv.FormatInt(n>>30, 10) + "GB"
	case n%(1<<20) == 0:
		return strconv.FormatInt(n>>20, 10) + "MB"
	}
	return strconv.FormatInt(n, 10)
}

// maxDBConns bounds KEYBOX_DB_MAX_CONNS, to catch a typo before PostgreSQL does.
const maxDBConns = 1000

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// parseDatabaseURL returns the engine ("sqlite" or "postgres") and what to
// open: a file path for SQLite, the URL itself for PostgreSQL.
func parseDatabaseURL(u string) (engine, target string, err error) {
	switch {
	case strings.HasPrefix(u, "sqlite://"):
		path := strings.TrimPrefix(u, "sqlite://")
		if path == "" {
			return "", "", errors.New("sqlite:// needs a file path, e.g. sqlite://./keybox-data/keybox.db")
		}
		return "sqlite", path, nil
	case strings.HasPrefix(u, "postgres://"), strings.HasPrefix(u, "postgresql://"):
		return "postgres", u, nil
	}
	return "", "", fmt.Errorf("%q must start with sqlite:// or postgres://", redactURL(u))
}

// sqliteFile is the database file of an sqlite:// URL; a postgres:// URL
// gets notSQLite, the refusal of the caller that needs a file.
func sqliteFile(u string, notSQLite error) (string, error) {
	engine, path, err := parseDatabaseURL(u)
	if err != nil {
		return "", fmt.Errorf("KEYBOX_DATABASE_URL: %w", err)
	}
	if engine != "sqlite" {
		return "", notSQLite
	}
	return path, nil
}

// redactURL hides a password in a database URL before it is printed.
func redactURL(u string) string {
	scheme, rest, ok := strings.Cut(u, "://")
	if !ok {
		return u
	}
	userinfo, host, ok := strings.Cut(rest, "@")
	if !ok {
		return u
	}
	if name, _, hasPass := strings.Cut(userinfo, ":"); hasPass {
		return scheme + "://" + name + ":xxxxx@" + host
	}
	return u
}

// newLogger builds the slog logger: text on a terminal, JSON otherwise.
func newLogger(c config, stderr io.Writer) *slog.Logger {
	format := c.logFormat
	if format == "" {
		format = "json"
		if f, ok := stderr.(*os.File); ok {
			if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
				format = "text"
			}
		}
	}
	opts := &slog.HandlerOptions{Level: c.logLevel}
	if format == "text" {
		return slog.New(slog.NewTextHandler(stderr, opts))
	}
	return slog.New(slog.NewJSONHandler(stderr, opts))
}
