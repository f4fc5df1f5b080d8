package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/keyboxhq/keybox"
	"github.com/keyboxhq/keybox/client"
	"github.com/keyboxhq/keybox/internal/servertest"
	"github.com/keyboxhq/keybox/internal/storetest"
)

const testSecret = "whsec-test-0123456789abcdef"

// billing sends a billing system's events to the webhook, signed with
// secret, and returns the status and the decoded answer.
type billing struct {
	t   *testing.T
	url string
}

func (b billing) send(event map[string]any, secret string) (int, map[string]any) {
	b.t.Helper()
	body, err := json.Marshal(event)
	if err != nil {
		b.t.Fatal(err)
	}
	req, err := http.NewRequest("POST", b.url+"/hooks/payment", bytes.NewReader(body))
	if err != nil {
		b.t.Fatal(err)
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	req.Header.Set(SignatureHeader, "sha256="+hex.EncodeToString(mac.Sum(nil)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	raw, _ := io.ReadAll(resp.Body)
	_ = json.Unmarshal(raw, &out)
	return resp.StatusCode, out
}

func paid(id, email, product string, months, seats int) map[string]any {
	return map[string]any{"id": id, "type": "payment.succeeded", "data": map[string]any{
		"customer": map[string]any{"name": "Acme", "email": email}, "product": product, "months": months, "seats": seats}}
}

// start runs the webhook with token against KeyBox at kbURL until the test ends.
func start(t *testing.T, kbURL, token string) billing {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"KEYBOX_SERVER": kbURL, "KEYBOX_TOKEN": token, "BILLING_WEBHOOK_SECRET": testSecret}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	var logs syncBuffer
	go func() { done <- run(ctx, func(k string) string { return env[k] }, &logs, ln) }()
	t.Cleanup(func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("run: %v\n%s", err, logs.String())
		}
	})
	return billing{t, "http://" + ln.Addr().String()}
}

// TestBillingWebhook drives the example against the real KeyBox server: a
// payment makes a client, a project and a PENDING license with the terms
// paid for; a returning customer gets a new product under the same client;
// a delivery repeated makes nothing more; a forged or foreign event is
// refused and makes nothing.
func TestBillingWebhook(t *testing.T) {
	kb := servertest.New(t, storetest.SQLite(t), servertest.Options{})
	ctx := context.Background()
	login, _ := kb.NewLicense(t, "vendor@example.com", 12) // the vendor's account, with a first client of its own
	dev, err := client.New(kb.URL, client.Options{Token: login})
	if err != nil {
		t.Fatal(err)
	}
	made, err := dev.CreateToken(ctx, client.TokenInput{Name: "billing", Scope: keybox.ScopeWrite})
	if err != nil {
		t.Fatal(err)
	}
	hook := start(t, kb.URL, made.Token)

	status, first := hook.send(paid("pay_1", "IT@acme.example", "Desktop app", 12, 2), testSecret)
	if status != 200 || !strings.HasPrefix(first["licenseKey"].(string), "KB-") {
		t.Fatalf("first payment: %d %v", status, first)
	}
	lic, err := dev.License(ctx, first["licenseKey"].(string))
	if err != nil {
		t.Fatal(err)
	}
	if l := lic.License; l.Status != keybox.StatusPending || l.Duration != 12 || l.MaxMachines != 2 || l.ClientID != first["clientId"] ||
		string(l.Metadata) != `{"payment":"pay_1"}` {
		t.Fatalf("the license issued: %+v", l)
	}
	if c, err := dev.Client(ctx, first["clientId"].(string)); err != nil || c.Email != "it@acme.example" || c.Name != "Acme" {
		t.Fatalf("the client recorded: %+v, %v", c, err)
	}

	// The same customer buys another product: same client, another project.
	status, second := hook.send(paid("pay_2", "it@acme.example", "Server app", 6, 1), testSecret)
	if status != 200 || second["clientId"] != first["clientId"] || second["projectId"] == first["projectId"] {
		t.Fatalf("second payment: %d %v (first %v)", status, second, first)
	}
	// And the first product again: same project, a new license.
	status, third := hook.send(paid("pay_3", "it@acme.example", "Desktop app", 1, 1), testSecret)
	if status != 200 || third["projectId"] != first["projectId"] || third["licenseKey"] == first["licenseKey"] {
		t.Fatalf("third payment: %d %v (first %v)", status, third, first)
	}

	// A delivery repeated answers as the first time, and issues nothing.
	if status, again := hook.send(paid("pay_1", "it@acme.example", "Desktop app", 12, 2), testSecret); status != 200 || again["licenseKey"] != first["licenseKey"] {
		t.Fatalf("repeated delivery: %d %v, want %v", status, again, first)
	}
	// Forged, foreign or malformed: refused, or acknowledged and ignored.
	if status, _ := hook.send(paid("pay_4", "mallory@example.com", "Desktop app", 12, 100), "not the secret"); status != http.StatusUnauthorized {
		t.Fatalf("forged event: %d, want 401", status)
	}
	if status, out := hook.send(map[string]any{"id": "evt_9", "type": "payment.refunded"}, testSecret); status != 200 || out["ignored"] != "payment.refunded" {
		t.Fatalf("another event: %d %v", status, out)
	}
	if status, _ := hook.send(paid("pay_5", "not an address", "Desktop app", 12, 1), testSecret); status != http.StatusBadRequest {
		t.Fatalf("bad payment: %d, want 400", status)
	}
	list, err := dev.Licenses(ctx, client.LicenseListOptions{ClientID: first["clientId"].(string)})
	if err != nil || list.Total != 3 {
		t.Fatalf("Acme has %d licenses (%v), want 3", list.Total, err)
	}
	clients, err := dev.Clients(ctx, client.ListOptions{})
	if err != nil || clients.Total != 2 {
		t.Fatalf("%d clients (%v), want the vendor's first and Acme", clients.Total, err)
	}

	// Once the token is revoked, a payment is not lost: the webhook answers
	// 503, so that the billing system delivers it again later.
	if err := dev.RevokeToken(ctx, made.APIToken.ID); err != nil {
		t.Fatal(err)
	}
	if status, _ := hook.send(paid("pay_6", "it@acme.example", "Desktop app", 12, 1), testSecret); status != http.StatusServiceUnavailable {
		t.Fatalf("with a revoked token: %d, want 503", status)
	}
}

// TestBillingWebhookNeedsAToken: without an API token, or with one KeyBox
// refuses, the webhook does not start.
func TestBillingWebhookNeedsAToken(t *testing.T) {
	kb := servertest.New(t, storetest.SQLite(t), servertest.Options{})
	for _, env := range []map[string]string{
		{"KEYBOX_SERVER": kb.URL, "BILLING_WEBHOOK_SECRET": testSecret},
		{"KEYBOX_SERVER": kb.URL, "KEYBOX_TOKEN": "a-password-or-login", "BILLING_WEBHOOK_SECRET": testSecret},
		{"KEYBOX_SERVER": kb.URL, "KEYBOX_TOKEN": "kbx_" + strings.Repeat("a", 48), "BILLING_WEBHOOK_SECRET": testSecret},
		{"KEYBOX_SERVER": kb.URL, "KEYBOX_TOKEN": "kbx_" + strings.Repeat("a", 48)},
	} {
		if err := run(context.Background(), func(k string) string { return env[k] }, io.Discard, nil); err == nil {
			t.Errorf("started with %v", env)
		}
	}
}

// syncBuffer is a buffer the webhook's logger and the test share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
