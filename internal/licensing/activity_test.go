package licensing_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/keyboxhq/keybox"
	"github.com/keyboxhq/keybox/internal/licensing"
	"github.com/keyboxhq/keybox/internal/storetest"
)

// TestActivityCountsCommittedEvents: an event is counted once the change
// that records it commits; a change that rolls back after writing its
// event (its webhook delivery failed) counts nothing.
func TestActivityCountsCommittedEvents(t *testing.T) {
	ctx := context.Background()
	store := storetest.SQLite(t)
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	svc := newService(t, store, &now)
	u := signup(t, svc, "ada@example.com")
	if _, _, err := svc.CreateWebhook(ctx, u, licensing.WebhookInput{URL: licensing.Str("https://93.184.216.34/hook"),
		Events: []byte(`["*"]`)}); err != nil {
		t.Fatal(err)
	}
	faulty := newService(t, &faultyStore{Store: store, fail: "delivery"}, &now)
	in := licensing.ClientInput{Name: licensing.Str("Acme"), Email: licensing.Str("acme@example.com")}
	if _, err := faulty.CreateClient(ctx, u, in); !errors.Is(err, errInjected) {
		t.Fatalf("got %v, want the injected failure", err)
	}
	if n := faulty.Activity().Events[keybox.EventClientCreated]; n != 0 {
		t.Fatalf("a change that rolled back counts %d client.created events", n)
	}
	if _, err := svc.CreateClient(ctx, u, in); err != nil {
		t.Fatal(err)
	}
	act := svc.Activity()
	for typ, want := range map[string]uint64{keybox.EventUserCreated: 1, keybox.EventWebhookCreated: 1, keybox.EventClientCreated: 1,
		keybox.EventLicenseCreated: 0} {
		if got, ok := act.Events[typ]; !ok || got != want {
			t.Errorf("%s: counted %d (listed: %v), want %d", typ, got, ok, want)
		}
	}
	if len(act.Events) != len(keybox.EventTypes) {
		t.Errorf("%d event types counted, want every one of the %d", len(act.Events), len(keybox.EventTypes))
	}
}
