package main

import (
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/keyboxhq/keybox/client"
)

// TestTokensCommands: keybox tokens create prints the secret alone on
// standard output, list shows the tokens without it, and a script given
// the token in KEYBOX_TOKEN works within its scope, is told why it is
// refused beyond it, is never refreshed, and stops at the revocation.
func TestTokensCommands(t *testing.T) {
	url := testServer(t)
	api, _ := client.New(url, client.Options{})
	if _, err := api.Signup(context.Background(), client.Signup{Name: "Ada", Email: "ada@example.com", Password: "correct horse"}); err != nil {
		t.Fatal(err)
	}
	sh := newShell(t, url, "KEYBOX_PASSWORD", "correct horse")
	sh.ok("login", "--email", "ada@example.com")

	code, out := sh.run("", "tokens", "create", "--name", "billing", "--scope", "write", "--expires", "720h")
	if code != 0 {
		t.Fatalf("tokens create: exit %d: %s", code, out)
	}
	lines := strings.SplitN(out, "\n", 2)
	write := lines[0]
	if !regexp.MustCompile(`^kbx_[a-z2-7]{48}$`).MatchString(write) || !strings.Contains(lines[1], "shown this once") {
		t.Fatalf("tokens create printed %q, want the secret alone, then the note", out)
	}
	var made client.NewToken
	if err := json.Unmarshal([]byte(sh.ok("tokens", "create", "--name", "reports", "--scope", "read", "-o", "json")), &made); err != nil {
		t.Fatal(err)
	}
	read := made.Token
	if made.APIToken.Name != "reports" || !strings.HasPrefix(read, made.APIToken.Prefix) || !made.APIToken.ExpiresAt.IsZero() {
		t.Fatalf("tokens create -o json: %+v", made)
	}

	list := sh.ok("tokens", "list")
	if !strings.Contains(list, "billing") || !strings.Contains(list, "reports") || strings.Contains(list, write[12:]) || strings.Contains(list, read[12:]) {
		t.Fatalf("tokens list:\n%s", list)
	}
	for _, bad := range [][]string{
		{"tokens", "create", "--name", "x", "--scope", "read", "--expires", "soon"},
		{"tokens", "create", "--name", "x", "--scope", "read", "--expires", "-5h"},
		{"tokens", "revoke"},
	} {
		sh.fails(2, bad...)
	}
	if out := sh.fails(1, "tokens", "create", "--name", "x", "--scope", "admin"); !strings.Contains(out, `scope must be "read" or "write"`) {
		t.Fatalf("got %q", out)
	}

	// A script with the write token: no login kept, no password.
	script := newShell(t, url, "KEYBOX_TOKEN", write)
	script.ok("clients", "create", "--name", "Acme", "--email", "billing@acme.example")
	script.ok("whoami")
	if out := script.fails(1, "tokens", "list"); !strings.Contains(out, "Token scope does not allow this (HTTP 403); KEYBOX_TOKEN holds an API token") {
		t.Fatalf("got %q", out)
	}
	if out := script.fails(1, "refresh"); !strings.Contains(out, "never refreshed") {
		t.Fatalf("got %q", out)
	}
	reader := newShell(t, url, "KEYBOX_TOKEN", read)
	if out := reader.ok("clients", "list"); !strings.Contains(out, "Acme") {
		t.Fatalf("the read token's list: %s", out)
	}
	if out := reader.fails(1, "clients", "create", "--name", "Globex", "--email", "it@globex.example"); !strings.Contains(out, "changes need one of write scope") {
		t.Fatalf("got %q", out)
	}

	var tokens struct {
		Tokens []struct {
			ID   string `json:"_id"`
			Name string `json:"name"`
		} `json:"tokens"`
	}
	if err := json.Unmarshal([]byte(sh.ok("tokens", "list", "-o", "json")), &tokens); err != nil {
		t.Fatal(err)
	}
	var billing string
	for _, tok := range tokens.Tokens {
		if tok.Name == "billing" {
			billing = tok.ID
		}
	}
	if out := sh.ok("tokens", "revoke", billing); !strings.Contains(out, "Token revoked") {
		t.Fatalf("got %q", out)
	}
	if out := script.fails(4, "clients", "list"); !strings.Contains(out, "the API token in KEYBOX_TOKEN is unknown, expired or revoked") {
		t.Fatalf("got %q", out)
	}
	sh.fails(1, "tokens", "revoke", billing)
}

func TestParseExpiry(t *testing.T) {
	now := time.Date(2026, 1, 15, 10, 0, 0, 0, time.UTC)
	cases := []struct {
		in   string
		want time.Time
	}{
		{"720h", now.Add(720 * time.Hour)},
		{"90d", now.AddDate(0, 0, 90)},
		{"1h30m", now.Add(90 * time.Minute)},
		{"2027-01-31", time.Date(2027, 1, 31, 0, 0, 0, 0, time.UTC)},
		{"2027-01-31T12:00:00+02:00", time.Date(2027, 1, 31, 10, 0, 0, 0, time.UTC)},
	}
	for _, tc := range cases {
		got, err := parseExpiry(tc.in, now)
		if err != nil || !got.Equal(tc.want) {
			t.Errorf("parseExpiry(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "soon", "0h", "-1h", "0d", "-3d", "31/01/2027"} {
		if _, err := parseExpiry(bad, now); err == nil {
			t.Errorf("parseExpiry(%q) accepted", bad)
		}
	}
}
