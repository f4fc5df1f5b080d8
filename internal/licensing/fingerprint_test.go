package licensing

import (
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"testing"
)

// TestKeyFingerprints: a fingerprint is short, the same for a key wherever
// the secret is shared, different for another key or another secret, and
// not a plain hash that anyone could compute for guessed keys.
func TestKeyFingerprints(t *testing.T) {
	secret := []byte("a shared secret, 32 bytes or more")
	a, b := newKeyFingerprints(secret), newKeyFingerprints(append([]byte(nil), secret...))
	other := newKeyFingerprints([]byte("another secret, 32 bytes or more!"))
	const key = "KB-7QX2M-9HD4T-KAW3E-PZ81C"
	fp := a.of(key)
	if !regexp.MustCompile(`^[0-9a-f]{16}$`).MatchString(fp) {
		t.Fatalf("fingerprint %q, want 16 hex digits", fp)
	}
	if b.of(key) != fp {
		t.Fatal("two servers sharing the secret disagree")
	}
	if other.of(key) == fp {
		t.Fatal("another secret gives the same fingerprint")
	}
	if a.of("KB-7QX2M-9HD4T-KAW3E-PZ81D") == fp {
		t.Fatal("two keys share a fingerprint")
	}
	plain := sha256.Sum256([]byte(key))
	if hex.EncodeToString(plain[:8]) == fp {
		t.Fatal("the fingerprint is an unkeyed hash of the key")
	}
	if p1, p2 := newKeyFingerprints(nil), newKeyFingerprints(nil); p1.of(key) == p2.of(key) {
		t.Fatal("without a secret, two processes share fingerprints: the key is not random")
	}
}
