package auth

import (
	"context"
	"sort"
	"strings"
	"testing"
	"time"
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
		t.Fatalf("DefaultCost %d, SPEC wants at least 10", DefaultCost)
	}
}

// TestCheckCostsTheSameWithoutAccount: a missing account is checked against a
// dummy hash of the same cost, so login cannot tell accounts apart by time.
// The check is of the work done (a full bcrypt comparison either way), with
// bounds wide enough for a noisy machine.
func TestCheckCostsTheSameWithoutAccount(t *testing.T) {
	p, err := NewPasswords(8, 1)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	h, err := p.Hash(ctx, "correct horse")
	if err != nil {
		t.Fatal(err)
	}
	median := func(hash string) time.Duration {
		var d []time.Duration
		for range 7 {
			start := time.Now()
			if ok, err := p.Check(ctx, hash, "wrong horse"); ok || err != nil {
				t.Fatalf("check: %v %v", ok, err)
			}
			d = append(d, time.Since(start))
		}
		sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
		return d[len(d)/2]
	}
	known, unknown := median(h), median("")
	if ratio := float64(unknown) / float64(known); ratio < 0.5 || ratio > 2 {
		t.Fatalf("unknown account took %v, wrong password %v (ratio %.2f): want about the same", unknown, known, ratio)
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
