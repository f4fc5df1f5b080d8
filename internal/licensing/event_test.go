package licensing_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/keyboxhq/keybox"
	"github.com/keyboxhq/keybox/internal/licensing"
	"github.com/keyboxhq/keybox/internal/storetest"
)

// faultyStore is a real store whose transactions fail at one step, named by
// fail: the way to see that a change and its event stand or fall together.
type faultyStore struct {
	keybox.Store
	fail string // "append" (the event) or "delivery" (the webhook's outbox row)
}

var errInjected = errors.New("injected failure")

func (s *faultyStore) Update(ctx context.Context, fn func(keybox.Tx) error) error {
	return s.Store.Update(ctx, func(tx keybox.Tx) error { return fn(&faultyTx{Tx: tx, fail: s.fail}) })
}

type faultyTx struct {
	keybox.Tx
	fail string
}

func (t *faultyTx) AppendEvent(ctx context.Context, e keybox.Event) error {
	if t.fail == "append" {
		return errInjected
	}
	return t.Tx.AppendEvent(ctx, e)
}

func (t *faultyTx) CreateDelivery(ctx context.Context, d keybox.Delivery) error {
	if t.fail == "delivery" {
		return errInjected
	}
	return t.Tx.CreateDelivery(ctx, d)
}

func signup(t *testing.T, svc *licensing.Service, email string) keybox.User {
	t.Helper()
	u, err := svc.CreateUser(context.Background(), licensing.SignupInput{
		Name: licensing.Str("Dev"), Email: licensing.Str(email),
		Password: licensing.Str("password1"), ConfirmPassword: licensing.Str("password1"),
	}, "")
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func eventTypes(t *testing.T, store keybox.Store, owner string) []string {
	t.Helper()
	list, _, err := store.Events(context.Background(), keybox.EventFilter{OwnerID: owner})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range list {
		out = append(out, e.Type)
	}
	return out
}

// TestChangeAndEventAreOneTransaction: when writing the event, or the
// delivery it makes for a webhook, fails, the change is not made either;
// when they succeed, the change and its event are both there.
func TestChangeAndEventAreOneTransaction(t *testing.T) {
	for _, e := range storetest.Engines() {
		for _, step := range []string{"append", "delivery"} {
			t.Run(e.Name+"/"+step, func(t *testing.T) {
				ctx := context.Background()
				store := e.Open(t)
				now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
				svc := newService(t, store, &now)
				u := signup(t, svc, "ada@example.com")
				if _, _, err := svc.CreateWebhook(ctx, u, licensing.WebhookInput{URL: licensing.Str("https://93.184.216.34/hook"),
					Events: []byte(`["*"]`)}); err != nil {
					t.Fatal(err)
				}
				before := eventTypes(t, store, u.ID)

				faulty := newService(t, &faultyStore{Store: store, fail: step}, &now)
				_, err := faulty.CreateClient(ctx, u, licensing.ClientInput{Name: licensing.Str("Acme"), Email: licensing.Str("acme@example.com")})
				if !errors.Is(err, errInjected) {
					t.Fatalf("got %v, want the injected failure", err)
				}
				if _, n, _ := store.Clients(ctx, keybox.ClientFilter{OwnerID: u.ID}); n != 0 {
					t.Fatalf("the client was created without its event (%d clients)", n)
				}
				if after := eventTypes(t, store, u.ID); fmt.Sprint(after) != fmt.Sprint(before) {
					t.Fatalf("events %v after a failed change, want %v", after, before)
				}
				if rep, err := svc.VerifyAudit(ctx); err != nil || len(rep.Breaks) != 0 {
					t.Fatalf("the chain after a rollback: %+v %v", rep.Breaks, err)
				}

				c, err := svc.CreateClient(ctx, u, licensing.ClientInput{Name: licensing.Str("Acme"), Email: licensing.Str("acme@example.com")})
				if err != nil {
					t.Fatal(err)
				}
				list, _, err := store.Events(ctx, keybox.EventFilter{OwnerID: u.ID, Types: []string{keybox.EventClientCreated}})
				if err != nil || len(list) != 1 || list[0].Subject.ID != c.ID {
					t.Fatalf("the committed change's event: %+v %v", list, err)
				}
				if _, n, _ := store.Deliveries(ctx, keybox.DeliveryFilter{OwnerID: u.ID, WebhookID: mustWebhook(t, svc, u).ID}); n != 1 {
					t.Fatalf("%d deliveries, want the client.created one", n)
				}
			})
		}
	}
}

func mustWebhook(t *testing.T, svc *licensing.Service, u keybox.User) keybox.Webhook {
	t.Helper()
	list, err := svc.Webhooks(context.Background(), u)
	if err != nil || len(list) != 1 {
		t.Fatalf("webhooks: %v %v", list, err)
	}
	return list[0]
}

// TestRetentionKeepsTheChainVerifiable: events older than the retention
// are deleted, each chain keeping the hash of the last one deleted, and the
// log still verifies, then and after more events.
func TestRetentionKeepsTheChainVerifiable(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			ctx := context.Background()
			store := e.Open(t)
			now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
			svc := newService(t, store, &now) // the default retention, 365 days
			u := signup(t, svc, "ada@example.com")
			client := func(name string) {
				t.Helper()
				if _, err := svc.CreateClient(ctx, u, licensing.ClientInput{Name: licensing.Str(name), Email: licensing.Str(name + "@example.com")}); err != nil {
					t.Fatal(err)
				}
			}
			client("old1")
			client("old2")
			if err := svc.EnsureSigningKey(ctx); err != nil { // an installation event, as old
				t.Fatal(err)
			}
			now = now.AddDate(0, 0, 200)
			client("mid")
			now = now.AddDate(0, 0, 200) // the first three are now 400 days old
			n, err := svc.PruneEvents(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if n != 4 { // user.created, two client.created, signing_key.rotated
				t.Fatalf("pruned %d events, want 4", n)
			}
			if got := eventTypes(t, store, u.ID); fmt.Sprint(got) != "[client.created]" {
				t.Fatalf("left %v, want the 200-day-old client.created", got)
			}
			rep, err := svc.VerifyAudit(ctx)
			if err != nil || len(rep.Breaks) != 0 || rep.Events != 1 {
				t.Fatalf("after pruning: %d events checked, breaks %v, %v", rep.Events, rep.Breaks, err)
			}
			client("new")
			if n, err := svc.PruneEvents(ctx); err != nil || n != 0 {
				t.Fatalf("pruning again: %d, %v", n, err)
			}
			if rep, err = svc.VerifyAudit(ctx); err != nil || len(rep.Breaks) != 0 || rep.Events != 2 {
				t.Fatalf("after more events: %d checked, breaks %v, %v", rep.Events, rep.Breaks, err)
			}
			for _, c := range rep.Chains {
				if c.OwnerID == u.ID && (c.PrunedSeq != 3 || c.Seq != 5) {
					t.Fatalf("ada's chain: %+v, want pruned through 3 of 5", c)
				}
			}
		})
	}
}

// TestValidationsRecordNoEvent: /validate is counted, not recorded, however
// often it is called; activation and deactivation are recorded, by the
// application (its key's fingerprint, never the key).
func TestValidationsRecordNoEvent(t *testing.T) {
	store := storetest.SQLite(t)
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	svc := newService(t, store, &now)
	u := activeLicenses(t, svc, 1)
	list, _, _, err := svc.Licenses(context.Background(), u, licensing.LicenseList{})
	if err != nil {
		t.Fatal(err)
	}
	key := list[0].Key
	before := eventTypes(t, store, u.ID)
	for range 50 {
		if v, err := svc.Validate(context.Background(), licensing.Check{Key: key, MachineID: "m"}); err != nil || !v.Valid {
			t.Fatalf("validate: %+v %v", v, err)
		}
	}
	if after := eventTypes(t, store, u.ID); len(after) != len(before) {
		t.Fatalf("validations wrote events: %v", after[:len(after)-len(before)])
	}
	if err := svc.Deactivate(context.Background(), licensing.Check{Key: key, MachineID: "m"}); err != nil {
		t.Fatal(err)
	}
	got, _, err := store.Events(context.Background(), keybox.EventFilter{OwnerID: u.ID, Types: []string{keybox.EventActivationCreated, keybox.EventActivationDeleted}})
	if err != nil || len(got) != 2 {
		t.Fatalf("seat events: %+v %v", got, err)
	}
	for _, e := range got {
		want := keybox.Actor{Type: keybox.ActorApplication, ID: svc.KeyFingerprint(key)}
		if e.Actor != want {
			t.Fatalf("%s: actor %+v, want %+v", e.Type, e.Actor, want)
		}
	}
}

// TestProviderSignInEvents: an account made by a provider's sign-in records
// user.created, an account it links records user.updated, and a sign-in to
// an account already linked records nothing.
func TestProviderSignInEvents(t *testing.T) {
	ctx := context.Background()
	store := storetest.SQLite(t)
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	svc := newService(t, store, &now)
	signIn := func(subject, email string) {
		t.Helper()
		if _, err := svc.SignInWithProvider(ctx, licensing.ProviderAccount{Provider: "google", Subject: subject, Email: email, EmailVerified: true}); err != nil {
			t.Fatal(err)
		}
	}
	signIn("g-1", "new@example.com")
	created, err := store.UserByEmail(ctx, "new@example.com")
	if err != nil {
		t.Fatal(err)
	}
	ada := signup(t, svc, "ada@example.com")
	signIn("g-2", "ada@example.com")
	signIn("g-2", "ada@example.com")
	signIn("g-1", "new@example.com")
	if got := fmt.Sprint(eventTypes(t, store, created.ID)); got != "[user.created]" {
		t.Fatalf("the account a sign-in made: %s", got)
	}
	if got := fmt.Sprint(eventTypes(t, store, ada.ID)); got != "[user.updated user.created]" {
		t.Fatalf("the account a sign-in linked: %s", got)
	}
}
