// Package licensing holds every business rule of KeyBox: accounts, ownership,
// the license lifecycle, seats and expiry. Handlers decode, call one method
// here, and encode; the Store only reads and writes.
package licensing

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/keyboxhq/keybox"
	"github.com/keyboxhq/keybox/internal/auth"
	"github.com/keyboxhq/keybox/internal/webhook"
)

// Config holds a Service's dependencies.
type Config struct {
	Store     keybox.Store
	Passwords *auth.Passwords
	Tokens    *auth.Tokens
	IDs       *keybox.IDs
	Now       func() time.Time // the clock; time.Now when nil
	Logger    *slog.Logger
	// Random is the source of license keys (crypto/rand when nil).
	Random io.Reader
	// SignupClosed refuses new accounts through the API.
	SignupClosed bool
	// CacheTTL bounds how long /validate may answer from memory a license
	// that another server could have changed (DefaultCacheTTL when 0).
	CacheTTL time.Duration
	// CacheSize bounds the memory, in bytes, the licenses /validate holds
	// take (DefaultCacheSize when 0).
	CacheSize int64
	// CacheClock is the clock of the cache's TTL (time.Now when nil), apart
	// from Now so that a test can age the cache without moving the dates.
	CacheClock func() time.Time
	// KeyRandom is the source of signing keys (crypto/rand when nil).
	KeyRandom io.Reader
	// FingerprintSecret keys the fingerprints that stand for license keys
	// in logs; servers sharing a database should share it (each process
	// draws its own when empty).
	FingerprintSecret []byte
	// SecretKey is the server's secret (at least MinSecretKeyLength bytes),
	// kept outside the database: the private signing keys are stored
	// encrypted with a key derived from it. Every server sharing a database
	// needs the same one.
	SecretKey []byte
	// Webhooks says which endpoints webhooks may point to.
	Webhooks webhook.Policy
	// EventRetention is how long events are kept (DefaultEventRetention
	// when 0; negative keeps them for ever).
	EventRetention time.Duration
}

// Service is the licensing service.
type Service struct {
	store        keybox.Store
	passwords    *auth.Passwords
	tokens       *auth.Tokens
	ids          *keybox.IDs
	clock        func() time.Time
	log          *slog.Logger
	random       io.Reader
	signupClosed bool
	// accountsExist is set once an account is seen (SignupStatus).
	accountsExist atomic.Bool
	cache         *licenseCache
	counts        *counter
	keyRandom     io.Reader
	sealer        *sealer
	keys          signingKeys
	fingerprints  keyFingerprints

	eventIDs      *keybox.IDs
	webhookPolicy webhook.Policy
	hookBox       *secretBox
	wake          chan struct{} // deliveries committed
	activity      *activity
	retention     time.Duration
	lastPrune     time.Time // on the clock; used by the sweeper only
}

// New returns a Service.
func New(cfg Config) (*Service, error) {
	if cfg.Store == nil || cfg.Passwords == nil || cfg.Tokens == nil {
		return nil, errors.New("licensing: store, passwords and tokens are required")
	}
	sealer, err := newSealer(cfg.SecretKey)
	if err != nil {
		return nil, err
	}
	hookBox, err := newSecretBox(cfg.SecretKey)
	if err != nil {
		return nil, err
	}
	s := &Service{
		store: cfg.Store, passwords: cfg.Passwords, tokens: cfg.Tokens, ids: cfg.IDs,
		clock: cfg.Now, log: cfg.Logger, random: cfg.Random, signupClosed: cfg.SignupClosed,
		cache: newLicenseCache(cfg.CacheTTL, cfg.CacheSize), counts: newCounter(), keyRandom: cfg.KeyRandom,
		fingerprints:  newKeyFingerprints(cfg.FingerprintSecret),
		sealer:        sealer,
		webhookPolicy: cfg.Webhooks, hookBox: hookBox, wake: make(chan struct{}, 1), retention: cfg.EventRetention,
		activity: newActivity(),
	}
	// Events and deliveries draw their ids from a source of their own, so
	// that recording events leaves the ids of everything else as they were.
	if s.eventIDs, err = keybox.NewIDs(nil); err != nil {
		return nil, err
	}
	if s.retention == 0 {
		s.retention = DefaultEventRetention
	}
	if s.clock == nil {
		s.clock = time.Now
	}
	if cfg.CacheClock != nil {
		s.cache.setClock(cfg.CacheClock)
	}
	s.cache.wall = s.clock
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.ids == nil {
		ids, err := keybox.NewIDs(nil)
		if err != nil {
			return nil, err
		}
		s.ids = ids
	}
	return s, nil
}

// now returns the current instant at the stored precision.
func (s *Service) now() keybox.Time { return keybox.NewTime(s.clock()) }

func (s *Service) newID(t keybox.Time) string { return s.ids.New(t.Time) }

// newEventID returns the id of an event or a delivery.
func (s *Service) newEventID(t keybox.Time) string { return s.eventIDs.New(t.Time) }

// Ready reports whether the store answers with a current schema.
func (s *Service) Ready(ctx context.Context) error { return s.store.Ping(ctx) }

// fail builds a user-facing error.
func fail(code keybox.Code, msg string) *keybox.Error { return &keybox.Error{Code: code, Message: msg} }

// storeErr passes a store error on, naming the operation; NotFound becomes
// the endpoint's own not-found error so that a foreign object looks missing.
func storeErr(err error, notFound *keybox.Error, op string) error {
	if errors.Is(err, keybox.ErrNotFound) && notFound != nil {
		return notFound
	}
	return fmt.Errorf("%s: %w", op, err)
}

// licensesChanged tells the validation cache that licenses changed, after
// the change is committed; with no keys, any license may have (a cascade
// delete).
func (s *Service) licensesChanged(keys ...string) { s.cache.forget(keys...) }

// StoreStats describes the database pools and work, for metrics.
func (s *Service) StoreStats() keybox.StoreStats { return s.store.Stats() }
