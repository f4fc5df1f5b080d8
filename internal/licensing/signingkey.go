package licensing

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/keyboxhq/keybox"
)

// The installation's signing keys. A key is active (the newest key that is
// neither retired nor revoked signs), retired (signs nothing more, still
// verifies what it signed before its retirement) or revoked (verifies
// nothing: for a key that may have leaked).

// keysRefresh is how long a server signs with the keys it read before it
// reads them again, to pick up a rotation or revocation made by another
// server or by `keybox keys`: every server signs with a new key within this
// time (plus one read) of the change.
const keysRefresh = 4 * time.Second

var (
	errNoSigningKey       = fail(keybox.Internal, "no signing key")
	errSigningKeyNotFound = fail(keybox.NotFound, "Signing key not found")
)

// keyring is the keys as read at one instant, and the key that signs,
// decrypted. It is never changed once published.
type keyring struct {
	list   []keybox.SigningKey
	signer keybox.SigningKey // PrivateKey set; ID "" when no key may sign
	err    error             // why no key may sign
	loaded time.Time         // on the service's clock
}

// signingKeys is the service's current keyring; a reload happens under mu.
type signingKeys struct {
	mu  sync.Mutex
	cur atomic.Pointer[keyring]
}

// newSigningKey makes a key pair from s.keyRandom (crypto/rand when nil),
// sealed for the store.
func (s *Service) newSigningKey(now keybox.Time) (keybox.SigningKey, error) {
	r := s.keyRandom
	if r == nil {
		r = rand.Reader
	}
	pub, priv, err := ed25519.GenerateKey(r)
	if err != nil {
		return keybox.SigningKey{}, fmt.Errorf("generate signing key: %w", err)
	}
	k := keybox.SigningKey{ID: keybox.KeyID(pub), PublicKey: pub, PrivateKey: priv, CreatedAt: now}
	if k.Sealed, err = s.sealer.seal(k); err != nil {
		return keybox.SigningKey{}, err
	}
	return k, nil
}

// usable reports whether k may sign.
func usable(k keybox.SigningKey) bool { return k.RetiredAt.IsZero() && k.RevokedAt.IsZero() }

func newestUsable(keys []keybox.SigningKey) (keybox.SigningKey, bool) {
	for i := len(keys) - 1; i >= 0; i-- {
		if usable(keys[i]) {
			return keys[i], true
		}
	}
	return keybox.SigningKey{}, false
}

// EnsureSigningKey prepares the keys at start: it seals any private key that
// a database made before encryption holds as it is, and creates the
// installation's first key when none may sign. Servers starting together
// agree under a lock.
func (s *Service) EnsureSigningKey(ctx context.Context) error {
	err := s.update(ctx, func(tx keybox.Tx, ev *events) error {
		if err := tx.Lock(ctx, "signing-keys"); err != nil {
			return err
		}
		keys, err := tx.SigningKeys(ctx)
		if err != nil {
			return err
		}
		for _, k := range keys {
			if len(k.Sealed) > 0 || len(k.PrivateKey) == 0 {
				continue
			}
			sealed, err := s.sealer.seal(k)
			if err != nil {
				return err
			}
			if err := tx.SealSigningKey(ctx, k.ID, sealed); err != nil {
				return err
			}
		}
		if _, ok := newestUsable(keys); ok {
			return nil
		}
		k, err := s.newSigningKey(s.now())
		if err != nil {
			return err
		}
		if err := tx.CreateSigningKey(ctx, k); err != nil {
			return err
		}
		return ev.keyRotated(k, nil)
	})
	if err != nil {
		return fmt.Errorf("ensure signing key: %w", err)
	}
	s.forgetKeys()
	return nil
}

// CheckSigningKey reports whether this server can sign: the active key
// exists and its private key decrypts with the server's secret (ErrSealedKey
// otherwise).
func (s *Service) CheckSigningKey(ctx context.Context) error {
	s.forgetKeys()
	if _, err := s.activeKey(ctx); err != nil {
		return fmt.Errorf("check signing key: %w", err)
	}
	return nil
}

// RotateSigningKey makes a new signing key and retires the others: they
// stop signing but stay published, so that what they signed before verifies
// until it expires. It needs no other key's private key, so it also recovers
// an installation whose secret was lost.
func (s *Service) RotateSigningKey(ctx context.Context) (keybox.SigningKey, error) {
	var k keybox.SigningKey
	err := s.update(ctx, func(tx keybox.Tx, ev *events) error {
		if err := tx.Lock(ctx, "signing-keys"); err != nil {
			return err
		}
		keys, err := tx.SigningKeys(ctx)
		if err != nil {
			return err
		}
		if k, err = s.replaceKeys(ctx, tx, keys, s.now()); err != nil {
			return err
		}
		return ev.keyRotated(k, keys)
	})
	if err != nil {
		return keybox.SigningKey{}, fmt.Errorf("rotate signing key: %w", err)
	}
	s.forgetKeys()
	return k, nil
}

// replaceKeys creates a new key and retires every other key, at now.
func (s *Service) replaceKeys(ctx context.Context, tx keybox.Tx, keys []keybox.SigningKey, now keybox.Time) (keybox.SigningKey, error) {
	k, err := s.newSigningKey(now)
	if err != nil {
		return keybox.SigningKey{}, err
	}
	if err := tx.CreateSigningKey(ctx, k); err != nil {
		return keybox.SigningKey{}, err
	}
	for _, old := range keys {
		if old.RetiredAt.IsZero() {
			if err := tx.RetireSigningKey(ctx, old.ID, now); err != nil {
				return keybox.SigningKey{}, err
			}
		}
	}
	return k, nil
}

// RevokeSigningKey marks the key id as revoked: verifiers that know it stop
// trusting anything it signed, whenever it claims to have signed it. When it
// was the key that signs, a new one replaces it, returned as replacement
// (zero otherwise). Revoking a revoked key changes nothing.
func (s *Service) RevokeSigningKey(ctx context.Context, id string) (replacement keybox.SigningKey, err error) {
	err = s.update(ctx, func(tx keybox.Tx, ev *events) error {
		if err := tx.Lock(ctx, "signing-keys"); err != nil {
			return err
		}
		keys, err := tx.SigningKeys(ctx)
		if err != nil {
			return err
		}
		var target *keybox.SigningKey
		for i := range keys {
			if keys[i].ID == id {
				target = &keys[i]
			}
		}
		switch {
		case target == nil:
			return errSigningKeyNotFound
		case !target.RevokedAt.IsZero():
			return nil
		}
		now := s.now()
		if target.RetiredAt.IsZero() {
			if replacement, err = s.replaceKeys(ctx, tx, keys, now); err != nil {
				return err
			}
			if err := ev.keyRotated(replacement, keys); err != nil {
				return err
			}
		}
		if err := tx.RevokeSigningKey(ctx, id, now); err != nil {
			return err
		}
		data := map[string]any{}
		if replacement.ID != "" {
			data["replacement"] = replacement.ID
		}
		return ev.add(keybox.Event{Type: keybox.EventSigningKeyRevoked, Subject: signingKeySubject(id)}, data)
	})
	if err != nil {
		return keybox.SigningKey{}, storeErr(err, nil, "revoke signing key")
	}
	s.forgetKeys()
	return replacement, nil
}

// keyRotated records a new signing key for the installation, and the keys it
// retired (those of before that were still signing).
func (ev *events) keyRotated(k keybox.SigningKey, before []keybox.SigningKey) error {
	retired := []string{}
	for _, old := range before {
		if old.RetiredAt.IsZero() {
			retired = append(retired, old.ID)
		}
	}
	return ev.add(keybox.Event{Type: keybox.EventSigningKeyRotated, Subject: signingKeySubject(k.ID)},
		map[string]any{"retired": retired})
}

// forgetKeys makes the next use read the keys again.
func (s *Service) forgetKeys() { s.keys.cur.Store(nil) }

// keyring returns the keys, read again when they are keysRefresh old by the
// service's clock (or the clock went back).
func (s *Service) keyring(ctx context.Context) (*keyring, error) {
	now := s.clock()
	fresh := func(r *keyring) bool {
		return r != nil && !now.Before(r.loaded) && now.Sub(r.loaded) < keysRefresh
	}
	if r := s.keys.cur.Load(); fresh(r) {
		return r, nil
	}
	s.keys.mu.Lock()
	defer s.keys.mu.Unlock()
	prev := s.keys.cur.Load()
	if fresh(prev) {
		return prev, nil
	}
	list, err := s.store.SigningKeys(ctx)
	if err != nil {
		return nil, err
	}
	r := &keyring{list: list, loaded: now, err: errNoSigningKey}
	if k, ok := newestUsable(list); ok {
		if prev != nil && prev.signer.ID == k.ID {
			r.signer, r.err = prev.signer, nil
		} else if r.signer, r.err = s.sealer.open(k); r.err != nil {
			r.signer = keybox.SigningKey{}
			s.log.Error("signing key unusable", "keyId", k.ID, "error", r.err)
		}
	}
	s.keys.cur.Store(r)
	return r, nil
}

// activeKey returns the key that signs, with its private key.
func (s *Service) activeKey(ctx context.Context) (keybox.SigningKey, error) {
	r, err := s.keyring(ctx)
	if err != nil {
		return keybox.SigningKey{}, err
	}
	if r.err != nil {
		return keybox.SigningKey{}, r.err
	}
	return r.signer, nil
}

// PublicKey is a signing key as GET /validate/public-keys publishes it.
type PublicKey struct {
	ID        string      `json:"keyId"`
	Algorithm string      `json:"algorithm"`
	PublicKey string      `json:"publicKey"` // standard base64 of the 32 raw bytes
	CreatedAt keybox.Time `json:"createdAt"`
	RetiredAt keybox.Time `json:"retiredAt" openapi:"nullable" doc:"From this instant the key signs nothing; what it signed before still verifies."`
	RevokedAt keybox.Time `json:"revokedAt" openapi:"nullable" doc:"Set for a key that may have leaked: nothing it signed verifies."`
}

// PublicKeys lists every key, with the times that tell a verifier what each
// may have signed.
func (s *Service) PublicKeys(ctx context.Context) ([]PublicKey, error) {
	r, err := s.keyring(ctx)
	if err != nil {
		return nil, fmt.Errorf("public keys: %w", err)
	}
	out := make([]PublicKey, len(r.list))
	for i, k := range r.list {
		out[i] = PublicKey{ID: k.ID, Algorithm: "Ed25519", PublicKey: base64.StdEncoding.EncodeToString(k.PublicKey),
			CreatedAt: k.CreatedAt, RetiredAt: k.RetiredAt, RevokedAt: k.RevokedAt}
	}
	return out, nil
}
