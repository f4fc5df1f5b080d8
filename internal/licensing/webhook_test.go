package licensing_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/keyboxhq/keybox"
	"github.com/keyboxhq/keybox/internal/auth"
	"github.com/keyboxhq/keybox/internal/licensing"
	"github.com/keyboxhq/keybox/internal/storetest"
	"github.com/keyboxhq/keybox/internal/webhook"
	"golang.org/x/crypto/bcrypt"
)

// TestWebhookSecretSealed: the database holds a webhook's secret only
// encrypted with a key derived from the server's secret key. A copy of the
// database with another secret key (a stolen backup) cannot open it, so it
// cannot sign a delivery the endpoint would believe; its attempt fails and
// says why.
func TestWebhookSecretSealed(t *testing.T) {
	ctx := context.Background()
	store := storetest.SQLite(t)
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	svc := newService(t, store, &now)
	u := signup(t, svc, "ada@example.com")
	w, shown, err := svc.CreateWebhook(ctx, u, licensing.WebhookInput{URL: licensing.Str("https://93.184.216.34/hook"), Events: []byte(`["*"]`)})
	if err != nil {
		t.Fatal(err)
	}
	secret, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(shown, "whsec_"))
	if err != nil || len(secret) != 32 {
		t.Fatalf("secret %q: %v", shown, err)
	}
	stored, err := store.Webhook(ctx, u.ID, w.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(stored.Sealed) == 0 || bytes.Contains(stored.Sealed, secret) || len(stored.Secret) != 0 {
		t.Fatalf("the stored webhook holds its secret: %x", stored.Sealed)
	}
	if _, err := svc.CreateClient(ctx, u, licensing.ClientInput{Name: licensing.Str("Acme"), Email: licensing.Str("acme@example.com")}); err != nil {
		t.Fatal(err)
	}

	thief := serviceWithSecret(t, store, &now, "another-secret-key-0123456789abcdef")
	jobs, err := thief.ClaimDeliveries(ctx, 10)
	if err != nil || len(jobs) != 0 {
		t.Fatalf("claimed with another secret key: %d jobs, %v", len(jobs), err)
	}
	list, _, err := store.Deliveries(ctx, keybox.DeliveryFilter{OwnerID: u.ID, WebhookID: w.ID})
	if err != nil || len(list) != 1 || len(list[0].Log) != 1 || !strings.Contains(string(list[0].Log[0].Error), "cannot be decrypted") {
		t.Fatalf("the attempt that could not be signed: %+v %v", list, err)
	}

	// The server with the right key opens it and signs with it.
	now = now.Add(time.Minute)
	jobs, err = svc.ClaimDeliveries(ctx, 10)
	if err != nil || len(jobs) != 1 || !bytes.Equal(jobs[0].Webhook.Secret, secret) {
		t.Fatalf("claimed with the server's own key: %+v %v", jobs, err)
	}
}

func serviceWithSecret(t *testing.T, store keybox.Store, now *time.Time, secretKey string) *licensing.Service {
	t.Helper()
	clock := func() time.Time { return *now }
	tokens, err := auth.NewTokens([]byte("0123456789abcdef0123456789abcdef"), time.Hour, clock)
	if err != nil {
		t.Fatal(err)
	}
	pw, err := auth.NewPasswords(bcrypt.MinCost, 2)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := licensing.New(licensing.Config{Store: store, Passwords: pw, Tokens: tokens, Now: clock, SecretKey: []byte(secretKey)})
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

// TestDeliveryOfDeletedWebhook: a webhook deleted while an attempt to it is
// in flight takes its deliveries with it; the attempt's outcome is then
// dropped without an error.
func TestDeliveryOfDeletedWebhook(t *testing.T) {
	ctx := context.Background()
	store := storetest.SQLite(t)
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	svc := newService(t, store, &now)
	u := signup(t, svc, "ada@example.com")
	w, _, err := svc.CreateWebhook(ctx, u, licensing.WebhookInput{URL: licensing.Str("https://93.184.216.34/hook"), Events: []byte(`["*"]`)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.TestWebhook(ctx, u, w.ID); err != nil {
		t.Fatal(err)
	}
	jobs, err := svc.ClaimDeliveries(ctx, 10)
	if err != nil || len(jobs) != 1 {
		t.Fatalf("claimed %d, %v", len(jobs), err)
	}
	if err := svc.DeleteWebhook(ctx, u, w.ID); err != nil {
		t.Fatal(err)
	}
	if err := svc.FinishDelivery(ctx, jobs[0], webhook.Result{At: now, StatusCode: 500}); err != nil {
		t.Fatalf("finishing an attempt whose webhook is gone: %v", err)
	}
}
