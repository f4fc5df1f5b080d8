package licensing

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/ed25519"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"

	"github.com/keyboxhq/keybox"
)

// Private signing keys are kept encrypted in the database, so that a copy of
// the database alone (a stolen backup, a read-only SQL injection elsewhere)
// cannot sign licenses: sealing them takes the server's secret, which lives
// outside the database.
//
// A sealed key is: one version byte (1), a 12-byte random nonce, and the
// AES-256-GCM encryption of the key's 32-byte Ed25519 seed, with the key id
// as additional data so that a sealed key cannot be moved to another row.
// The AES key is HKDF-SHA256 of the secret (no salt, info sealInfo).

// MinSecretKeyLength is the shortest server secret accepted.
const MinSecretKeyLength = 32

const (
	sealVersion = 1
	sealInfo    = "keybox signing-key encryption v1"
)

// ErrSealedKey reports a signing key that the server's secret does not
// decrypt: the secret is not the one the key was sealed with.
var ErrSealedKey = errors.New("the signing key cannot be decrypted with this server secret")

type sealer struct{ aead cipher.AEAD }

func newSealer(secret []byte) (*sealer, error) {
	if len(secret) < MinSecretKeyLength {
		return nil, fmt.Errorf("licensing: a secret key of at least %d bytes is required: it encrypts the signing keys", MinSecretKeyLength)
	}
	key, err := hkdf.Key(sha256.New, secret, nil, sealInfo, 32)
	if err != nil {
		return nil, fmt.Errorf("licensing: derive the key encryption key: %w", err)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("licensing: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("licensing: %w", err)
	}
	return &sealer{aead: aead}, nil
}

// seal encrypts k's private key.
func (s *sealer) seal(k keybox.SigningKey) ([]byte, error) {
	out := make([]byte, 1+s.aead.NonceSize(), 1+s.aead.NonceSize()+ed25519.SeedSize+s.aead.Overhead())
	out[0] = sealVersion
	nonce := out[1:]
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("seal signing key: %w", err)
	}
	return s.aead.Seal(out, nonce, k.PrivateKey.Seed(), []byte(k.ID)), nil
}

// open returns k with its private key decrypted from k.Sealed, checked
// against its public key.
func (s *sealer) open(k keybox.SigningKey) (keybox.SigningKey, error) {
	if len(k.Sealed) == 0 && len(k.PrivateKey) == ed25519.PrivateKeySize {
		return k, nil // a key from before encryption, not sealed yet
	}
	n := s.aead.NonceSize()
	if len(k.Sealed) < 1+n || k.Sealed[0] != sealVersion {
		return k, fmt.Errorf("signing key %s: sealed in an unknown format", k.ID)
	}
	seed, err := s.aead.Open(nil, k.Sealed[1:1+n], k.Sealed[1+n:], []byte(k.ID))
	if err != nil || len(seed) != ed25519.SeedSize {
		return k, fmt.Errorf("signing key %s: %w", k.ID, ErrSealedKey)
	}
	priv := ed25519.NewKeyFromSeed(seed)
	if !priv.Public().(ed25519.PublicKey).Equal(k.PublicKey) {
		return k, fmt.Errorf("signing key %s: the decrypted key does not match its public key", k.ID)
	}
	k.PrivateKey = priv
	return k, nil
}
