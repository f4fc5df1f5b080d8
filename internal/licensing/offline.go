package licensing

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/keyboxhq/keybox"
)

// Offline licensing (signed license files and signed responses).

var (
	errMachineRequired = fail(keybox.Invalid, "Machine ID is required")
	errInvalidTTL      = fail(keybox.Invalid, "Invalid ttl: use whole seconds from 60 to 31536000")
	errInvalidNonce    = fail(keybox.Invalid, "Invalid nonce: use 8 to 256 printable characters")
	errNoSigningKey    = fail(keybox.Internal, "no signing key")
)

// Checkout bounds.
const (
	DefaultFileTTL = 30 * 24 * time.Hour
	minFileTTL     = time.Minute
	maxFileTTL     = 365 * 24 * time.Hour
	// keysRefresh is how often a server rereads the keys, to pick up a
	// rotation made through another server.
	keysRefresh = time.Minute
)

// signingKeys caches the installation's keys.
type signingKeys struct {
	mu     sync.Mutex
	list   []keybox.SigningKey
	loaded time.Time
}

// IsInvalidNonce reports the answer to a nonce that is refused: nothing is
// signed for it.
func IsInvalidNonce(err error) bool { return errors.Is(err, errInvalidNonce) }

// checkNonce accepts 8 to 256 printable ASCII characters, or none.
func checkNonce(n string) error {
	if n == "" {
		return nil
	}
	if len(n) < 8 || len(n) > 256 {
		return errInvalidNonce
	}
	for i := 0; i < len(n); i++ {
		if n[i] < 0x20 || n[i] > 0x7e {
			return errInvalidNonce
		}
	}
	return nil
}

// newSigningKey makes a key pair from r (crypto/rand when nil).
func newSigningKey(r io.Reader, now keybox.Time) (keybox.SigningKey, error) {
	if r == nil {
		r = rand.Reader
	}
	pub, priv, err := ed25519.GenerateKey(r)
	if err != nil {
		return keybox.SigningKey{}, fmt.Errorf("generate signing key: %w", err)
	}
	return keybox.SigningKey{ID: keybox.KeyID(pub), PublicKey: pub, PrivateKey: priv, CreatedAt: now}, nil
}

// EnsureSigningKey creates the installation's first signing key if there is
// none. Servers starting together agree on one under a lock.
func (s *Service) EnsureSigningKey(ctx context.Context) error {
	err := s.store.Update(ctx, func(tx keybox.Tx) error {
		if err := tx.Lock(ctx, "signing-keys"); err != nil {
			return err
		}
		keys, err := tx.SigningKeys(ctx)
		if err != nil {
			return err
		}
		if _, ok := newestActive(keys); ok {
			return nil
		}
		k, err := newSigningKey(s.keyRandom, s.now())
		if err != nil {
			return err
		}
		return tx.CreateSigningKey(ctx, k)
	})
	if err != nil {
		return fmt.Errorf("ensure signing key: %w", err)
	}
	s.forgetKeys()
	return nil
}

// RotateSigningKey makes a new signing key and retires the others: they
// stop signing but stay published, so files they signed verify until they
// expire.
func (s *Service) RotateSigningKey(ctx context.Context) (keybox.SigningKey, error) {
	var k keybox.SigningKey
	err := s.store.Update(ctx, func(tx keybox.Tx) error {
		if err := tx.Lock(ctx, "signing-keys"); err != nil {
			return err
		}
		keys, err := tx.SigningKeys(ctx)
		if err != nil {
			return err
		}
		now := s.now()
		if k, err = newSigningKey(s.keyRandom, now); err != nil {
			return err
		}
		if err := tx.CreateSigningKey(ctx, k); err != nil {
			return err
		}
		for _, old := range keys {
			if old.RetiredAt.IsZero() {
				if err := tx.RetireSigningKey(ctx, old.ID, now); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return keybox.SigningKey{}, fmt.Errorf("rotate signing key: %w", err)
	}
	s.forgetKeys()
	return k, nil
}

func newestActive(keys []keybox.SigningKey) (keybox.SigningKey, bool) {
	for i := len(keys) - 1; i >= 0; i-- {
		if keys[i].RetiredAt.IsZero() {
			return keys[i], true
		}
	}
	return keybox.SigningKey{}, false
}

func (s *Service) forgetKeys() {
	s.keys.mu.Lock()
	s.keys.list, s.keys.loaded = nil, time.Time{}
	s.keys.mu.Unlock()
}

// signingKeys returns the keys, rereading them at most once a minute.
func (s *Service) signingKeys(ctx context.Context) ([]keybox.SigningKey, error) {
	s.keys.mu.Lock()
	defer s.keys.mu.Unlock()
	if s.keys.list != nil && time.Since(s.keys.loaded) < keysRefresh {
		return s.keys.list, nil
	}
	keys, err := s.store.SigningKeys(ctx)
	if err != nil {
		return nil, err
	}
	s.keys.list, s.keys.loaded = keys, time.Now()
	return keys, nil
}

func (s *Service) activeKey(ctx context.Context) (keybox.SigningKey, error) {
	keys, err := s.signingKeys(ctx)
	if err != nil {
		return keybox.SigningKey{}, err
	}
	k, ok := newestActive(keys)
	if !ok {
		return keybox.SigningKey{}, errNoSigningKey
	}
	return k, nil
}

// PublicKey is a signing key as GET /validate/public-keys publishes it.
type PublicKey struct {
	ID        string      `json:"keyId"`
	Algorithm string      `json:"algorithm"`
	PublicKey string      `json:"publicKey"` // standard base64 of the 32 raw bytes
	CreatedAt keybox.Time `json:"createdAt"`
	RetiredAt keybox.Time `json:"retiredAt"`
}

// PublicKeys lists every key that may have signed a file still valid.
func (s *Service) PublicKeys(ctx context.Context) ([]PublicKey, error) {
	keys, err := s.signingKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("public keys: %w", err)
	}
	out := make([]PublicKey, len(keys))
	for i, k := range keys {
		out[i] = PublicKey{ID: k.ID, Algorithm: "Ed25519", PublicKey: base64.StdEncoding.EncodeToString(k.PublicKey),
			CreatedAt: k.CreatedAt, RetiredAt: k.RetiredAt}
	}
	return out, nil
}

// SignResponse returns the KeyBox-Signature header for body, sent in answer
// to a request that carried nonce.
func (s *Service) SignResponse(ctx context.Context, nonce string, body []byte) (string, error) {
	k, err := s.activeKey(ctx)
	if err != nil {
		return "", fmt.Errorf("sign response: %w", err)
	}
	return keybox.SignResponse(k, nonce, s.clock(), body), nil
}

// CheckoutInput is the body of POST /validate/checkout.
type CheckoutInput struct {
	Check
	// TTL is the file's lifetime in seconds (DefaultFileTTL when absent).
	TTL Int `json:"ttl"`
}

// Checkout issues a license file to a machine that holds a seat: a signed
// statement that the key is ACTIVE there until the file expires, which is
// the TTL from now or the license's own expiry, whichever comes first.
func (s *Service) Checkout(ctx context.Context, in CheckoutInput) (string, keybox.LicenseFile, error) {
	c := in.Check
	if c.Key == "" {
		return "", keybox.LicenseFile{}, errKeyRequired
	}
	if c.MachineID == "" {
		return "", keybox.LicenseFile{}, errMachineRequired
	}
	ttl := DefaultFileTTL
	if in.TTL.Present {
		if !in.TTL.In(int(minFileTTL/time.Second), int(maxFileTTL/time.Second)) {
			return "", keybox.LicenseFile{}, errInvalidTTL
		}
		ttl = time.Duration(in.TTL.Value) * time.Second
	}
	l, err := s.store.License(ctx, c.Key)
	if err != nil {
		return "", keybox.LicenseFile{}, storeErr(err, errLicenseNotFound, "checkout")
	}
	now := s.now()
	switch statusAt(l, now.Time) {
	case keybox.StatusRevoked:
		return "", keybox.LicenseFile{}, errRevoked
	case keybox.StatusExpired:
		return "", keybox.LicenseFile{}, errExpired
	case keybox.StatusPending:
		return "", keybox.LicenseFile{}, errNotOnThisDevice
	}
	if !sameProduct(string(l.ProductName), c.ProductName) {
		return "", keybox.LicenseFile{}, errWrongProduct
	}
	seats, err := s.store.Activations(ctx, l.ID)
	if err != nil {
		return "", keybox.LicenseFile{}, fmt.Errorf("checkout: %w", err)
	}
	i, _ := findSeat(seats, c)
	if i < 0 {
		return "", keybox.LicenseFile{}, errNotOnThisDevice
	}
	seat := &seats[i]
	k, err := s.activeKey(ctx)
	if err != nil {
		return "", keybox.LicenseFile{}, fmt.Errorf("checkout: %w", err)
	}
	expires := keybox.NewTime(now.Add(ttl))
	if l.ExpiresAt.Before(expires.Time) {
		expires = l.ExpiresAt
	}
	instance := c.InstanceID
	if instance == "" {
		instance = seat.InstanceID
	}
	f := keybox.LicenseFile{
		KeyID: k.ID, Key: l.Key, Status: keybox.StatusActive, Services: l.Services, LicenseExpiresAt: l.ExpiresAt,
		MachineID: c.MachineID, InstanceID: instance, ProductName: string(l.ProductName), IssuedAt: now, ExpiresAt: expires,
	}
	text, err := keybox.SignLicenseFile(f, k.PrivateKey)
	if err != nil {
		return "", keybox.LicenseFile{}, err
	}
	f.Format = keybox.LicenseFileFormat
	return text, f, nil
}
