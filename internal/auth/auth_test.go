package auth

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

func TestPasswords(t *testing.T) {
	p, err := NewPasswords(4, 2)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	long := strings.Repeat("p", 100) // beyond bcrypt's 72 bytes
	h, err := p.Hash(ctx, long)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name     string
		hash, pw string
		want     bool
	}{
		{"right", h, long, true},
		{"differs after byte 72", h, strings.Repeat("p", 99) + "q", false},
		{"no account", "", long, false},
		{"empty password", h, "", false},
	}
	for _, tc := range cases {
		got, err := p.Check(ctx, tc.hash, tc.pw)
		if err != nil || got != tc.want {
			t.Errorf("%s: got %v, %v; want %v", tc.name, got, err, tc.want)
		}
	}
	if DefaultCost < 10 {
		t.Fatalf("DefaultCost %d, want at least 10: below it bcrypt is too cheap to guess against", DefaultCost)
	}
}

// TestCheckCostsTheSameWithoutAccount: login must not tell an unknown
// account from a wrong password by the time it takes. So every check, with
// or without an account, makes exactly one bcrypt comparison that runs to
// the end (it answers a match or a mismatch, not a malformed hash, which
// bcrypt refuses before doing any work), against a hash of the same cost,
// of the password prepared the same way. The work is watched, not timed.
func TestCheckCostsTheSameWithoutAccount(t *testing.T) {
	const cost = 6
	p, err := NewPasswords(cost, 1)
	if err != nil {
		t.Fatal(err)
	}
	type comparison struct {
		hash, password []byte
		err            error
	}
	var seen []comparison
	p.compare = func(hash, password []byte) error {
		err := bcrypt.CompareHashAndPassword(hash, password)
		seen = append(seen, comparison{hash, password, err})
		return err
	}
	ctx := context.Background()
	h, err := p.Hash(ctx, "correct horse")
	if err != nil {
		t.Fatal(err)
	}
	made, err := bcrypt.GenerateFromPassword([]byte("correct horse"), cost)
	if err != nil {
		t.Fatal(err)
	}
	imported, err := ImportBcrypt(string(made))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, hash, password string
		want                 bool
	}{
		{"wrong password", h, "wrong horse", false},
		{"right password", h, "correct horse", true},
		{"empty password", h, "", false},
		{"imported hash, wrong password", imported, "wrong horse", false},
		{"imported hash, right password", imported, "correct horse", true},
		// No account, or one that signs in only through a provider.
		{"no account", "", "wrong horse", false},
		{"no account, empty password", "", "", false},
		// Knowing what the dummy hash was made from opens no account.
		{"no account, the dummy's own password", "", "keybox: no such account", false},
	}
	var dummy []byte
	for _, tc := range cases {
		seen = seen[:0]
		ok, err := p.Check(ctx, tc.hash, tc.password)
		if err != nil || ok != tc.want {
			t.Fatalf("%s: got %v, %v; want %v", tc.name, ok, err, tc.want)
		}
		if len(seen) != 1 {
			t.Fatalf("%s: %d bcrypt comparisons, want exactly 1", tc.name, len(seen))
		}
		c := seen[0]
		if c.err != nil && !errors.Is(c.err, bcrypt.ErrMismatchedHashAndPassword) {
			t.Fatalf("%s: the comparison stopped early: %v", tc.name, c.err)
		}
		if got, err := bcrypt.Cost(c.hash); err != nil || got != cost {
			t.Fatalf("%s: compared against a hash of cost %d (%v), want %d", tc.name, got, err, cost)
		}
		if bare, ok := strings.CutPrefix(tc.hash, bareBcrypt); ok {
			// Another system's hash, of the password itself.
			if string(c.hash) != bare || string(c.password) != tc.password {
				t.Fatalf("%s: compared %s with %q, want the imported hash with the password itself", tc.name, c.hash, c.password)
			}
			continue
		}
		if !bytes.Equal(c.password, prehash(tc.password)) {
			t.Fatalf("%s: the password was not prepared as for a real account", tc.name)
		}
		if tc.hash != "" {
			if string(c.hash) != tc.hash {
				t.Fatalf("%s: compared against another hash than the account's", tc.name)
			}
			continue
		}
		// Without an account: the one dummy hash, made once, never the
		// account hash of someone else.
		if dummy == nil {
			dummy = c.hash
		}
		if !bytes.Equal(c.hash, dummy) || string(c.hash) == h {
			t.Fatalf("%s: compared against %s, want the dummy hash", tc.name, c.hash)
		}
	}
	if dummy == nil {
		t.Fatal("no check without an account was made")
	}
}

func TestTokens(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	if _, err := NewTokens([]byte("too short"), time.Minute, clock); err == nil {
		t.Fatal("accepted a short secret")
	}
	tk, err := NewTokens([]byte(strings.Repeat("s", 32)), 30*time.Minute, clock)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := tk.Issue("507f1f77bcf86cd799439011", "a@example.com", "ADMIN", 7)
	if err != nil {
		t.Fatal(err)
	}
	c, err := tk.Verify(tok)
	if err != nil || c.UserID != "507f1f77bcf86cd799439011" || c.Role != "ADMIN" || c.Email != "a@example.com" || c.SessionVersion != 7 {
		t.Fatalf("verify: %+v, %v", c, err)
	}
	other, _ := NewTokens([]byte(strings.Repeat("o", 32)), 30*time.Minute, clock)
	if _, err := other.Verify(tok); err != ErrInvalidToken {
		t.Fatalf("another secret: got %v, want ErrInvalidToken", err)
	}
	now = now.Add(30*time.Minute + time.Second)
	if _, err := tk.Verify(tok); err != ErrInvalidToken {
		t.Fatalf("expired: got %v, want ErrInvalidToken", err)
	}
}

// TestImportedBcrypt: hashes that another bcrypt made of the password itself
// (these come from libxcrypt, the C bcrypt that KeyBox's Node server also
// wraps) verify once imported, and only once imported.
func TestImportedBcrypt(t *testing.T) {
	p, err := NewPasswords(4, 2)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	const (
		h2a  = "$2a$04$KeyBoxAuthTestVector2OYuL6oy7lJZ9qagjyUvERPLdij6F5ade"
		h2b  = "$2b$04$KeyBoxAuthTestVector2OYuL6oy7lJZ9qagjyUvERPLdij6F5ade"
		long = "$2b$04$KeyBoxImportFixtureLoesVrbu8I8IAr1V0B0W67LvxeX0fEWPKe" // of 100 × "p"
	)
	imp := func(h string) string {
		t.Helper()
		s, err := ImportBcrypt(h)
		if err != nil {
			t.Fatalf("ImportBcrypt(%q): %v", h, err)
		}
		return s
	}
	cases := []struct {
		name     string
		hash, pw string
		want     bool
	}{
		{"$2a$", imp(h2a), "correct horse", true},
		{"$2b$", imp(h2b), "correct horse", true},
		{"wrong password", imp(h2b), "correct horsE", false},
		{"empty password", imp(h2b), "", false},
		{"not imported: taken for a hash of the prehash", h2b, "correct horse", false},
		{"long password", imp(long), strings.Repeat("p", 100), true},
		{"its first 72 bytes, as in KeyBox", imp(long), strings.Repeat("p", 72), true},
		{"71 bytes", imp(long), strings.Repeat("p", 71), false},
	}
	for _, tc := range cases {
		got, err := p.Check(ctx, tc.hash, tc.pw)
		if err != nil || got != tc.want {
			t.Errorf("%s: got %v, %v; want %v", tc.name, got, err, tc.want)
		}
	}
	for _, bad := range []string{
		"", "$2a$hash", "correct horse", "bcrypt-bare:" + h2b,
		"$1$" + h2b[3:], "$2x$" + h2b[4:], "$2b$99$" + h2b[7:], "$2b$04$" + h2b[7:59], h2b + "x",
	} {
		if got, err := ImportBcrypt(bad); err == nil {
			t.Errorf("ImportBcrypt(%q) = %q, want an error", bad, got)
		}
	}
}
