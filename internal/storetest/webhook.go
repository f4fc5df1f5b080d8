package storetest

import (
	"context"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/keyboxhq/keybox"
)

func (f *fixture) webhook(owner keybox.User, url string) keybox.Webhook {
	f.t.Helper()
	w := keybox.Webhook{ID: f.id(), OwnerID: owner.ID, URL: url, Events: []string{keybox.AllEvents}, Description: "d",
		Enabled: true, Sealed: []byte{1, 2, 3}, CreatedAt: base, UpdatedAt: base}
	f.must(f.update(func(tx keybox.Tx) error { return tx.CreateWebhook(context.Background(), w) }))
	return w
}

func (f *fixture) delivery(w keybox.Webhook, due keybox.Time) keybox.Delivery {
	f.t.Helper()
	d := keybox.Delivery{ID: f.id(), WebhookID: w.ID, OwnerID: w.OwnerID, EventID: "e1", EventType: keybox.EventLicenseCreated,
		Payload: []byte(`{"type":"license.created"}`), Status: keybox.DeliveryPending, NextAttemptAt: due, CreatedAt: base, UpdatedAt: base}
	f.must(f.update(func(tx keybox.Tx) error { return tx.CreateDelivery(context.Background(), d) }))
	return d
}

// testWebhooks: webhooks round-trip, are scoped by owner, and take their
// deliveries with them when deleted, as their owner's deletion takes them.
func testWebhooks(t *testing.T, s keybox.Store) {
	f := newFixture(t, s)
	ctx := context.Background()
	alice, bob := f.user("alice@example.com"), f.user("bob@example.com")
	w := f.webhook(alice, "https://a.example/hook")
	hooks := func(owner string) int {
		t.Helper()
		var link keybox.ChainLink
		f.must(f.update(func(tx keybox.Tx) (err error) { link, err = tx.NextInChain(ctx, owner); return }))
		return link.Webhooks
	}
	if n := hooks(alice.ID); n != 1 {
		t.Fatalf("alice's chain counts %d webhooks, want 1", n)
	}
	got, err := s.Webhook(ctx, alice.ID, w.ID)
	f.must(err)
	if !reflect.DeepEqual(got, w) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, w)
	}
	_, err = s.Webhook(ctx, bob.ID, w.ID)
	wantCode(t, err, keybox.ErrNotFound)
	wantCode(t, f.update(func(tx keybox.Tx) error { return tx.DeleteWebhook(ctx, bob.ID, w.ID) }), keybox.ErrNotFound)
	w.URL, w.Events, w.Enabled = "https://b.example/", []string{keybox.EventLicenseRevoked, keybox.EventLicenseCreated}, false
	w.FailingSince, w.DisabledAt, w.UpdatedAt = base, base, keybox.NewTime(base.Add(time.Second))
	f.must(f.update(func(tx keybox.Tx) error { return tx.UpdateWebhook(ctx, w) }))
	list, err := s.Webhooks(ctx, alice.ID)
	f.must(err)
	if len(list) != 1 || !reflect.DeepEqual(list[0], w) {
		t.Fatalf("after update: %+v", list)
	}
	if list, _ := s.Webhooks(ctx, bob.ID); len(list) != 0 {
		t.Fatalf("bob sees %d webhooks", len(list))
	}
	d := f.delivery(w, base)
	f.must(f.update(func(tx keybox.Tx) error { return tx.DeleteWebhook(ctx, alice.ID, w.ID) }))
	if n := hooks(alice.ID); n != 0 {
		t.Fatalf("after the delete, alice's chain counts %d webhooks", n)
	}
	if _, n, err := s.Deliveries(ctx, keybox.DeliveryFilter{OwnerID: alice.ID, WebhookID: w.ID}); err != nil || n != 0 {
		t.Fatalf("delivery %s outlived its webhook: %d, %v", d.ID, n, err)
	}
	w2 := f.webhook(bob, "https://c.example/")
	f.delivery(w2, base)
	f.must(f.update(func(tx keybox.Tx) error { return tx.DeleteUser(ctx, bob.ID, false) }))
	if _, err := s.Webhook(ctx, bob.ID, w2.ID); !keybox.IsCode(err, keybox.NotFound) {
		t.Fatalf("a deleted account's webhook: %v", err)
	}
}

// testDeliveriesClaimAndFinish: a due delivery is claimed once until its
// lease ends; finishing needs the lease; attempts are listed with their
// delivery; deliveries that are done are pruned.
func testDeliveriesClaimAndFinish(t *testing.T, s keybox.Store) {
	f := newFixture(t, s)
	ctx := context.Background()
	alice := f.user("alice@example.com")
	w := f.webhook(alice, "https://a.example/hook")
	due := f.delivery(w, base)
	f.delivery(w, keybox.NewTime(base.Add(10*time.Second)))
	other := f.delivery(f.webhook(alice, "https://b.example/hook"), keybox.NewTime(base.Add(10*time.Second)))
	claim := func(at time.Time, lease string) []keybox.DeliveryJob {
		t.Helper()
		jobs, err := s.ClaimDeliveries(ctx, keybox.DeliveryClaim{Now: at, LeaseUntil: at.Add(30 * time.Second), Lease: lease, Limit: 10})
		f.must(err)
		return jobs
	}
	jobs := claim(base.Time, "lease-1")
	if len(jobs) != 1 || jobs[0].Delivery.ID != due.ID || jobs[0].Webhook.URL != w.URL || string(jobs[0].Delivery.Payload) != string(due.Payload) {
		t.Fatalf("first claim: %+v", jobs)
	}
	if again := claim(base.Time, "lease-2"); len(again) != 0 {
		t.Fatalf("claimed again while leased: %+v", again)
	}
	// While an attempt to a webhook is in flight, its other deliveries
	// wait; another webhook's do not.
	if jobs := claim(base.Add(10*time.Second), "lease-2"); len(jobs) != 1 || jobs[0].Delivery.ID != other.ID {
		t.Fatalf("claimed %+v while the first webhook is busy, want only the other webhook's", jobs)
	}
	// The server holding it dies: when the lease ends, it is due again,
	// with the delivery that has come due meanwhile.
	jobs = claim(base.Add(time.Minute), "lease-3")
	if len(jobs) != 3 {
		t.Fatalf("after the leases: %d claimed, want 3", len(jobs))
	}
	d := due
	d.Lease, d.Status, d.Attempts, d.UpdatedAt = "lease-1", keybox.DeliveryDelivered, 1, keybox.NewTime(base.Add(time.Minute))
	a := keybox.DeliveryAttempt{At: keybox.NewTime(base.Add(time.Minute)), Success: true, StatusCode: 204, DurationMS: 12, Response: "ok"}
	var held bool
	f.must(f.update(func(tx keybox.Tx) (err error) { held, err = tx.FinishAttempt(ctx, d, a); return }))
	if held {
		t.Fatal("an ended lease finished the delivery")
	}
	d.Lease = "lease-3"
	f.must(f.update(func(tx keybox.Tx) (err error) { held, err = tx.FinishAttempt(ctx, d, a); return }))
	if !held {
		t.Fatal("the holder of the lease could not finish")
	}
	list, n, err := s.Deliveries(ctx, keybox.DeliveryFilter{OwnerID: alice.ID, WebhookID: w.ID})
	f.must(err)
	if n != 2 || len(list) != 2 {
		t.Fatalf("got %d deliveries of the first webhook, want 2", n)
	}
	for _, got := range list {
		if got.ID == due.ID && (got.Status != keybox.DeliveryDelivered || got.Attempts != 1 || len(got.Log) != 2 ||
			!got.Log[1].Success || got.Log[1].StatusCode != 204 || got.Log[1].Response != "ok" || got.Log[1].DurationMS != 12) {
			t.Fatalf("delivered: %+v", got)
		}
	}
	if other, _, _ := s.Deliveries(ctx, keybox.DeliveryFilter{OwnerID: "bob", WebhookID: w.ID}); len(other) != 0 {
		t.Fatal("another owner lists the deliveries")
	}
	f.must(f.update(func(tx keybox.Tx) error { return tx.FailDeliveries(ctx, w.ID, base) }))
	if jobs := claim(base.Add(time.Hour), "lease-4"); len(jobs) != 1 || jobs[0].Delivery.ID != other.ID {
		t.Fatalf("claimed %+v; want only the other webhook's (the first's were given up)", jobs)
	}
	var pruned int
	f.must(f.update(func(tx keybox.Tx) (err error) { pruned, err = tx.PruneDeliveries(ctx, base.Add(time.Second)); return }))
	if pruned != 2 {
		t.Fatalf("pruned %d, want the first webhook's 2 (the other's is pending)", pruned)
	}
}

// testDeliveriesConcurrentClaims: claims racing from several servers take
// each due delivery exactly once.
func testDeliveriesConcurrentClaims(t *testing.T, s keybox.Store) {
	f := newFixture(t, s)
	ctx := context.Background()
	alice := f.user("alice@example.com")
	const total = 40
	for i := range total {
		f.delivery(f.webhook(alice, fmt.Sprintf("https://a.example/hook/%d", i)), base)
	}
	var mu sync.Mutex
	seen := map[string]int{}
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			for {
				jobs, err := s.ClaimDeliveries(ctx, keybox.DeliveryClaim{Now: base.Time, LeaseUntil: base.Add(time.Minute),
					Lease: fmt.Sprintf("claimer-%d", i), Limit: 3})
				if err != nil {
					t.Error(err)
					return
				}
				if len(jobs) == 0 {
					return
				}
				mu.Lock()
				for _, j := range jobs {
					seen[j.Delivery.ID]++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(seen) != total {
		t.Fatalf("claimed %d deliveries, want %d", len(seen), total)
	}
	for id, n := range seen {
		if n != 1 {
			t.Fatalf("delivery %s claimed %d times", id, n)
		}
	}
}

// testOutbox: the outbox counts the pending deliveries, those due and not
// in flight, and when the one due longest ago fell due; a delivery in
// flight is not due, nor is one that is done.
func testOutbox(t *testing.T, s keybox.Store) {
	f := newFixture(t, s)
	ctx := context.Background()
	at := base.Add(6 * time.Second)
	outbox := func(want keybox.OutboxStats) {
		t.Helper()
		got, err := s.Outbox(ctx, at)
		f.must(err)
		if got.Pending != want.Pending || got.Due != want.Due || !got.OldestDue.Equal(want.OldestDue) {
			t.Fatalf("outbox at %s: got %+v, want %+v", at, got, want)
		}
	}
	outbox(keybox.OutboxStats{})
	alice := f.user("alice@example.com")
	w, other := f.webhook(alice, "https://a.example/hook"), f.webhook(alice, "https://b.example/hook")
	first := f.delivery(w, base)
	f.delivery(w, keybox.NewTime(base.Add(10*time.Second)))
	f.delivery(other, keybox.NewTime(base.Add(5*time.Second)))
	outbox(keybox.OutboxStats{Pending: 3, Due: 2, OldestDue: base.Time})

	jobs, err := s.ClaimDeliveries(ctx, keybox.DeliveryClaim{Now: at, LeaseUntil: at.Add(30 * time.Second), Lease: "l", Limit: 10})
	f.must(err)
	if len(jobs) != 2 {
		t.Fatalf("claimed %d, want the 2 due", len(jobs))
	}
	outbox(keybox.OutboxStats{Pending: 3})
	d := first
	d.Lease, d.Status, d.Attempts, d.UpdatedAt = "l", keybox.DeliveryDelivered, 1, keybox.NewTime(at)
	f.must(f.update(func(tx keybox.Tx) error {
		_, err := tx.FinishAttempt(ctx, d, keybox.DeliveryAttempt{At: keybox.NewTime(at), Success: true, StatusCode: 200})
		return err
	}))
	at = at.Add(time.Minute) // the other lease has ended: its delivery is due again
	outbox(keybox.OutboxStats{Pending: 2, Due: 2, OldestDue: base.Add(10 * time.Second)})
}

// testDeliveryRequeue: one delivery is found by its id, within its
// webhook and owner only; requeueing makes it pending and due, without a
// lease, only while it is as it was read: a claim or a finish in between
// wins, and the requeue reports that it did nothing.
func testDeliveryRequeue(t *testing.T, s keybox.Store) {
	f := newFixture(t, s)
	ctx := context.Background()
	alice := f.user("alice@example.com")
	w := f.webhook(alice, "https://a.example/hook")
	d := f.delivery(w, base)
	f.delivery(w, base)
	other := f.webhook(alice, "https://b.example/hook")
	one := func(owner, hook, id string) []keybox.Delivery {
		t.Helper()
		list, n, err := s.Deliveries(ctx, keybox.DeliveryFilter{OwnerID: owner, WebhookID: hook, ID: id})
		f.must(err)
		if n != len(list) {
			t.Fatalf("total %d for %d deliveries", n, len(list))
		}
		return list
	}
	if got := one(alice.ID, w.ID, d.ID); len(got) != 1 || got[0].ID != d.ID || got[0].Status != keybox.DeliveryPending {
		t.Fatalf("delivery by id: %+v", got)
	}
	if got := one("bob", w.ID, d.ID); len(got) != 0 {
		t.Fatal("another owner finds the delivery")
	}
	if got := one(alice.ID, other.ID, d.ID); len(got) != 0 {
		t.Fatal("the delivery is found under another webhook")
	}
	requeue := func(read keybox.Delivery, at keybox.Time) bool {
		t.Helper()
		var ok bool
		f.must(f.update(func(tx keybox.Tx) (err error) { ok, err = tx.RequeueDelivery(ctx, read, at); return }))
		return ok
	}

	// Claimed after it was read: the requeue does nothing.
	read := one(alice.ID, w.ID, d.ID)[0]
	jobs, err := s.ClaimDeliveries(ctx, keybox.DeliveryClaim{Now: base.Time, LeaseUntil: base.Add(time.Minute), Lease: "lease-1", Limit: 1})
	f.must(err)
	if len(jobs) != 1 || jobs[0].Delivery.ID != d.ID {
		t.Fatalf("claimed %+v", jobs)
	}
	if requeue(read, keybox.NewTime(base.Add(time.Second))) {
		t.Fatal("requeued a delivery claimed since it was read")
	}
	// Given up, it is requeued, due at once, its lease gone.
	fin := jobs[0].Delivery
	fin.Status, fin.Attempts, fin.UpdatedAt = keybox.DeliveryFailed, 1, keybox.NewTime(base.Add(2*time.Second))
	var held bool
	f.must(f.update(func(tx keybox.Tx) (err error) {
		held, err = tx.FinishAttempt(ctx, fin, keybox.DeliveryAttempt{At: fin.UpdatedAt, StatusCode: 500})
		return
	}))
	if !held {
		t.Fatal("the claim's holder could not finish")
	}
	read = one(alice.ID, w.ID, d.ID)[0]
	if read.Status != keybox.DeliveryFailed || read.Lease != "" || len(read.Log) != 1 {
		t.Fatalf("given up: %+v", read)
	}
	at := keybox.NewTime(base.Add(time.Hour))
	if !requeue(read, at) {
		t.Fatal("a failed delivery was not requeued")
	}
	got := one(alice.ID, w.ID, d.ID)[0]
	if got.Status != keybox.DeliveryPending || !got.NextAttemptAt.Equal(at.Time) || got.Lease != "" || got.Attempts != 1 ||
		!got.UpdatedAt.Equal(at.Time) || len(got.Log) != 1 {
		t.Fatalf("requeued: %+v", got)
	}
	// The same stale read cannot requeue it twice.
	if requeue(read, at) {
		t.Fatal("a stale read requeued the delivery again")
	}
	// It is due: the next claim takes it, once.
	jobs, err = s.ClaimDeliveries(ctx, keybox.DeliveryClaim{Now: at.Time, LeaseUntil: at.Add(time.Minute), Lease: "lease-2", Limit: 10})
	f.must(err)
	n := 0
	for _, j := range jobs {
		if j.Delivery.ID == d.ID {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("the requeued delivery was claimed %d times: %+v", n, jobs)
	}
}

// testDeliveriesClaimLimit: a claim takes at most its limit, however many
// are due, whether they belong to one webhook or to several: the lease is
// sized for that many attempts.
func testDeliveriesClaimLimit(t *testing.T, s keybox.Store) {
	f := newFixture(t, s)
	ctx := context.Background()
	alice := f.user("alice@example.com")
	one := f.webhook(alice, "https://a.example/hook")
	for range 5 {
		f.delivery(one, base)
	}
	for i := range 5 {
		f.delivery(f.webhook(alice, fmt.Sprintf("https://b.example/hook/%d", i)), base)
	}
	for i, limit := range []int{1, 2, 3} {
		jobs, err := s.ClaimDeliveries(ctx, keybox.DeliveryClaim{Now: base.Time, LeaseUntil: base.Add(time.Minute),
			Lease: fmt.Sprintf("lease-%d", i), Limit: limit})
		f.must(err)
		if len(jobs) != limit {
			t.Fatalf("a claim with limit %d took %d deliveries", limit, len(jobs))
		}
	}
}
