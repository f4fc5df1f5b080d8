package licensing

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
)

// fingerprintLabel separates the fingerprint key from every other use of
// the server secret it is derived from.
const fingerprintLabel = "keybox license key fingerprint v1"

// keyFingerprints names license keys where the key itself must not appear:
// log lines, and whatever else identifies an application by its key.
//
// A fingerprint is HMAC-SHA256 of the key under a key derived from a server
// secret, cut to 64 bits. A plain hash would not do: imported keys may be
// as short as four characters, and anyone holding the logs could hash every
// candidate until one matched. Without the secret, a fingerprint says
// nothing about its key; with the same secret, every server gives a key the
// same fingerprint, so lines from several replicas can be joined.
type keyFingerprints struct{ mac []byte }

func newKeyFingerprints(secret []byte) keyFingerprints {
	if len(secret) == 0 {
		// No shared secret: fingerprints still hide keys, but are this
		// process's own.
		secret = make([]byte, 32)
		_, _ = rand.Read(secret) // crypto/rand.Read never fails on supported platforms
	}
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(fingerprintLabel))
	return keyFingerprints{mac: m.Sum(nil)}
}

func (f keyFingerprints) of(key string) string {
	m := hmac.New(sha256.New, f.mac)
	m.Write([]byte(key))
	return hex.EncodeToString(m.Sum(nil)[:8])
}

// KeyFingerprint returns a short, stable, non-reversible name for a license
// key (16 hex digits), to stand for the key in logs.
func (s *Service) KeyFingerprint(key string) string { return s.fingerprints.of(key) }
