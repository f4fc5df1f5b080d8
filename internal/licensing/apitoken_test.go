package licensing

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"
)

// TestAPITokenSecrets: every secret has the form the server recognises
// before any lookup, carries 240 bits (no two alike in a few thousand, and
// every base32 character in use), and is stored as its SHA-256 only.
func TestAPITokenSecrets(t *testing.T) {
	seen := map[string]bool{}
	used := map[rune]bool{}
	for range 4000 {
		secret, hash, err := newAPITokenSecret()
		if err != nil {
			t.Fatal(err)
		}
		if !wellFormedAPIToken(secret) || !IsAPIToken(secret) || len(secret) != 52 {
			t.Fatalf("secret %q is not well formed", secret)
		}
		if sum := sha256.Sum256([]byte(secret)); hash != hex.EncodeToString(sum[:]) {
			t.Fatalf("hash %s is not the secret's SHA-256", hash)
		}
		if seen[secret] || seen[secret[:apiTokenShown]] {
			t.Fatalf("secret or displayed prefix drawn twice: %s", secret)
		}
		seen[secret], seen[secret[:apiTokenShown]] = true, true
		for _, r := range secret[4:] {
			used[r] = true
		}
	}
	if len(used) != 32 {
		t.Fatalf("%d distinct characters in the secrets, want all 32 of base32", len(used))
	}
	for _, bad := range []string{"", "kbx_", "KBX_" + strings.Repeat("a", 48), "kbx_" + strings.Repeat("a", 47),
		"kbx_" + strings.Repeat("a", 49), "kbx_" + strings.Repeat("a", 47) + "1", "kbx_" + strings.Repeat("a", 47) + "8",
		"kbx_" + strings.Repeat("A", 48), "kbx_" + strings.Repeat("a", 47) + "é", "eyJhbGciOiJIUzI1NiJ9.e30.sig"} {
		if wellFormedAPIToken(bad) {
			t.Errorf("%q taken for an API token", bad)
		}
	}
}
