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
// A sealed key is a box (below) of the key's 32-byte Ed25519 seed, with the
// key id as additional data, under the AES key of info sealInfo.

// MinSecretKeyLength is the shortest server secret accepted.
const MinSecretKeyLength = 32

const sealInfo = "keybox signing-key encryption v1"

// box seals the secrets kept in the database (private signing keys, webhook
// secrets): one version byte (1), a 12-byte random nonce, and the
// AES-256-GCM encryption of the plaintext with the row's id as additional
// data, so that a sealed value cannot be moved to another row. Its AES key
// is HKDF-SHA256 of the server's secret (no salt), with an info string of
// its own for each kind of secret, so that one kind never opens as another.
type box struct{ aead cipher.AEAD }

const boxVersion = 1

// Why a box does not open.
var (
	errBoxFormat = errors.New("sealed in an unknown format")
	errBoxKey    = errors.New("not sealed with this key")
)

func newBox(secret []byte, info string) (box, error) {
	key, err := hkdf.Key(sha256.New, secret, nil, info, 32)
	if err != nil {
		return box{}, fmt.Errorf("licensing: derive the key of %q: %w", info, err)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return box{}, fmt.Errorf("licensing: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return box{}, fmt.Errorf("licensing: %w", err)
	}
	return box{aead: aead}, nil
}

// seal encrypts plaintext for the row id.
func (b box) seal(plaintext []byte, id string) ([]byte, error) {
	n := b.aead.NonceSize()
	out := make([]byte, 1+n, 1+n+len(plaintext)+b.aead.Overhead())
	out[0] = boxVersion
	if _, err := rand.Read(out[1:]); err != nil {
		return nil, err
	}
	return b.aead.Seal(out, out[1:], plaintext, []byte(id)), nil
}

// open decrypts what seal made for the row id: errBoxFormat when sealed is
// not a box of this version, errBoxKey when this key does not open it.
func (b box) open(sealed []byte, id string) ([]byte, error) {
	n := b.aead.NonceSize()
	if len(sealed) < 1+n || sealed[0] != boxVersion {
		return nil, errBoxFormat
	}
	plain, err := b.aead.Open(nil, sealed[1:1+n], sealed[1+n:], []byte(id))
	if err != nil {
		return nil, errBoxKey
	}
	return plain, nil
}

// ErrSealedKey reports a signing key that the server's secret does not
// decrypt: the secret is not the one the key was sealed with.
var ErrSealedKey = errors.New("the signing key cannot be decrypted with this server secret")

type sealer struct{ box }

func newSealer(secret []byte) (*sealer, error) {
	if len(secret) < MinSecretKeyLength {
		return nil, fmt.Errorf("licensing: a secret key of at least %d bytes is required: it encrypts the signing keys", MinSecretKeyLength)
	}
	b, err := newBox(secret, sealInfo)
	if err != nil {
		return nil, err
	}
	return &sealer{b}, nil
}

// seal encrypts k's private key.
func (s *sealer) seal(k keybox.SigningKey) ([]byte, error) {
	out, err := s.box.seal(k.PrivateKey.Seed(), k.ID)
	if err != nil {
		return nil, fmt.Errorf("seal signing key: %w", err)
	}
	return out, nil
}

// open returns k with its private key decrypted from k.Sealed, checked
// against its public key.
func (s *sealer) open(k keybox.SigningKey) (keybox.SigningKey, error) {
	if len(k.Sealed) == 0 && len(k.PrivateKey) == ed25519.PrivateKeySize {
		return k, nil // a key from before encryption, not sealed yet
	}
	seed, err := s.box.open(k.Sealed, k.ID)
	if errors.Is(err, errBoxFormat) {
		return k, fmt.Errorf("signing key %s: %v", k.ID, err)
	}
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
