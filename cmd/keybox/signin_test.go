package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/keyboxhq/keybox/internal/storetest"
)

func TestConfigSignIn(t *testing.T) {
	c, err := loadConfig("serve", []string{"--oidc-name", "Acme SSO"}, envFunc(map[string]string{
		"GOOGLE_CLIENT_ID": "g-id", "GOOGLE_CLIENT_SECRET": "g-secret",
		"KEYBOX_OIDC_ISSUER": "https://sso.example.com/realms/acme", "KEYBOX_OIDC_CLIENT_ID": "keybox",
		"KEYBOX_PUBLIC_URL": "https://keybox.example.com/",
	}))
	if err != nil {
		t.Fatal(err)
	}
	p := c.signIn.providers
	if c.signIn.publicURL != "https://keybox.example.com" || len(p) != 2 ||
		p[0].ID != "google" || p[0].Issuer != "https://accounts.google.com" || p[0].Key != "google" || p[0].ClientSecret != "g-secret" ||
		p[1].ID != "oidc" || p[1].Name != "Acme SSO" || p[1].Key != "https://sso.example.com/realms/acme" || p[1].ClientSecret != "" {
		t.Fatalf("got %+v", c.signIn)
	}
	c, err = loadConfig("serve", nil, envFunc(map[string]string{"KEYBOX_OIDC_ISSUER": "https://sso.example.com/realms/acme", "KEYBOX_OIDC_CLIENT_ID": "keybox"}))
	if err != nil || c.signIn.providers[0].Name != "sso.example.com" {
		t.Fatalf("default name: %+v, %v", c.signIn, err)
	}
	if c, err := loadConfig("serve", nil, envFunc(nil)); err != nil || len(c.signIn.providers) != 0 {
		t.Fatalf("unconfigured: %+v, %v", c.signIn, err)
	}

	var stderr bytes.Buffer
	code := run(context.Background(), []string{"serve"}, envFunc(map[string]string{
		"GOOGLE_CLIENT_ID":      "g-id",
		"GOOGLE_CALLBACK_URL":   "keybox.example.com/cb",
		"KEYBOX_OIDC_CLIENT_ID": "keybox",
		"KEYBOX_PUBLIC_URL":     "https://keybox.example.com/?x=1",
	}), io.Discard, &stderr)
	lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
	want := []string{"KEYBOX_PUBLIC_URL:", "GOOGLE_CLIENT_SECRET: required", "KEYBOX_OIDC_ISSUER: required"}
	if code != 1 || len(lines) != len(want) {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr.String())
	}
	for i, w := range want {
		if !strings.HasPrefix(lines[i], "keybox: "+w) {
			t.Errorf("line %d: got %q, want prefix %q", i, lines[i], "keybox: "+w)
		}
	}
	stderr.Reset()
	run(context.Background(), []string{"serve"}, envFunc(map[string]string{
		"GOOGLE_CLIENT_ID": "g-id", "GOOGLE_CLIENT_SECRET": "s", "GOOGLE_CALLBACK_URL": "https://keybox.example.com",
		"KEYBOX_OIDC_ISSUER": "sso.example.com", "KEYBOX_OIDC_CLIENT_ID": "keybox",
	}), io.Discard, &stderr)
	for _, w := range []string{"GOOGLE_CALLBACK_URL:", "KEYBOX_OIDC_ISSUER: \"sso.example.com\" is not"} {
		if !strings.Contains(stderr.String(), w) {
			t.Errorf("no %q in:\n%s", w, stderr.String())
		}
	}
}

// TestServeWithUnreachableProvider: a provider that cannot be reached at
// start does not keep the server from starting; the log says so, and its
// sign-in sends the browser back with a reason.
func TestServeWithUnreachableProvider(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	issuer := "http://" + ln.Addr().String() + "/realms/acme"
	_ = ln.Close() // nothing listens there now
	ctx, cancel := context.WithCancel(context.Background())
	logs := newLogLines()
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"serve"}, envFunc(map[string]string{
			"KEYBOX_ADDR": "127.0.0.1:0", "KEYBOX_DATABASE_URL": storetest.SQLiteURL(t), "KEYBOX_LOG_FORMAT": "json",
			"KEYBOX_JWT_SECRET": strings.Repeat("k", 32), "KEYBOX_OIDC_ISSUER": issuer, "KEYBOX_OIDC_CLIENT_ID": "keybox",
			"KEYBOX_OIDC_NAME": "Acme SSO",
		}), io.Discard, logs)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	base := waitAddr(t, logs.addr, logs.text)
	resp, err := http.Get(base + "/auth/providers")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), `{"id":"oidc","name":"Acme SSO","url":"/auth/oidc"}`) {
		t.Fatalf("providers: %s", body)
	}
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err = noFollow.Get(base + "/auth/oidc")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "../app/#/login?error=unavailable" {
		t.Fatalf("GET /auth/oidc: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if !strings.Contains(logs.text(), `"reason":"unavailable"`) {
		t.Fatalf("the log does not say why the sign-in failed:\n%s", logs.text())
	}
}
