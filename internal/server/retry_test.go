package server_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/keyboxhq/keybox"
	"github.com/keyboxhq/keybox/internal/webhook"
)

const millis = "2006-01-02T15:04:05.000Z"

// delivery returns one delivery of a webhook by its id.
func (e *env) delivery(token, hook, id string) map[string]any {
	e.t.Helper()
	for _, d := range e.deliveries(token, hook) {
		if d["_id"] == id {
			return d
		}
	}
	e.t.Fatalf("no delivery %s in webhook %s", id, hook)
	return nil
}

func retryPath(hook, id string) string { return "/webhooks/" + hook + "/deliveries/" + id + "/retry" }

// TestWebhookDeliveryRetry: a delivery waiting for its next retry is
// attempted again at once when asked; one given up (its webhook turned
// off) is attempted once, and, its webhook being off, not retried after
// failing; with the webhook on again and the endpoint up it is delivered
// under its own webhook-id. A delivery delivered, or in flight, is refused;
// another webhook's delivery (above all another developer's) is not found
// through this one.
func TestWebhookDeliveryRetry(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		rc := newReceiver(t)
		_, ada := e.developer("ada@example.com")
		hook, secret := e.createWebhook(ada, rc.URL, "client.created")
		other, _ := e.createWebhook(ada, rc.URL+"/other", "client.created")
		rc.set("down", secret)
		id := e.do("POST", "/webhooks/"+hook+"/test", ada, nil).want(t, 202, "").obj("delivery")["_id"].(string)
		if n := e.drain(); n != 1 {
			t.Fatalf("%d attempts, want 1", n)
		}
		d := e.delivery(ada, hook, id)
		if d["status"] != "pending" || d["nextAttemptAt"] != e.clock.Now().Add(5*time.Second).Format(millis) {
			t.Fatalf("after a refused attempt: %v", d)
		}

		// Waiting: retried now, without the clock moving.
		r := e.do("POST", retryPath(hook, id), ada, nil).want(t, 202, "Delivery queued").obj("delivery")
		if r["_id"] != id || r["status"] != "pending" || r["nextAttemptAt"] != e.clock.Now().Format(millis) || r["attempts"] != 1.0 {
			t.Fatalf("queued again: %v", r)
		}
		if n := e.drain(); n != 1 {
			t.Fatalf("%d attempts after the retry, want 1", n)
		}
		if d := e.delivery(ada, hook, id); d["attempts"] != 2.0 || d["status"] != "pending" || len(d["log"].([]any)) != 2 {
			t.Fatalf("after the retried attempt: %v", d)
		}

		// Given up when the webhook is turned off; a retry then is one
		// attempt, not a new round of retries.
		e.do("PATCH", "/webhooks/"+hook, ada, map[string]any{"enabled": false}).want(t, 200, "")
		if d := e.delivery(ada, hook, id); d["status"] != "failed" {
			t.Fatalf("turned off: %v", d)
		}
		e.do("POST", retryPath(hook, id), ada, nil).want(t, 202, "Delivery queued")
		if n := e.drain(); n != 1 {
			t.Fatalf("%d attempts to the disabled webhook, want 1", n)
		}
		if d := e.delivery(ada, hook, id); d["status"] != "failed" || d["attempts"] != 3.0 || d["nextAttemptAt"] != nil {
			t.Fatalf("a failed retry to a disabled webhook: %v", d)
		}
		e.clock.Add(time.Hour)
		ada = e.login("ada@example.com")
		if n := e.drain(); n != 0 {
			t.Fatalf("%d attempts to a disabled webhook nobody asked for", n)
		}

		// Another webhook's delivery, an unknown one, another's webhook.
		e.do("POST", retryPath(other, id), ada, nil).want(t, 404, "Delivery not found")
		e.do("POST", retryPath(hook, "nope"), ada, nil).want(t, 404, "Delivery not found")
		e.do("POST", retryPath("nope", id), ada, nil).want(t, 404, "Webhook not found")
		// Another developer, through his own webhook: as unknown.
		_, bob := e.developer("bob@example.com")
		bobHook, _ := e.createWebhook(bob, rc.URL+"/bob", "client.created")
		e.do("POST", retryPath(bobHook, id), bob, nil).want(t, 404, "Delivery not found")
		e.do("POST", retryPath(hook, id), bob, nil).want(t, 404, "Webhook not found")
		if d := e.delivery(ada, hook, id); d["status"] != "failed" || d["attempts"] != 3.0 {
			t.Fatalf("another developer's retries changed the delivery: %v", d)
		}

		// In flight (claimed by a worker, its lease running): refused.
		e.do("PATCH", "/webhooks/"+hook, ada, map[string]any{"enabled": true}).want(t, 200, "")
		e.do("POST", retryPath(hook, id), ada, nil).want(t, 202, "")
		jobs, err := e.svc.ClaimDeliveries(context.Background(), 1)
		if err != nil || len(jobs) != 1 || jobs[0].Delivery.ID != id {
			t.Fatalf("claim: %+v %v", jobs, err)
		}
		e.do("POST", retryPath(hook, id), ada, nil).want(t, 409, "Delivery is being attempted now")
		rc.set("up", "")
		j := jobs[0]
		sent := webhook.NewSender(webhook.Policy{AllowPrivate: true}).Send(context.Background(), j.Webhook.URL, j.Webhook.Secret, j.Delivery.ID, e.clock.Now(), j.Delivery.Payload)
		if err := e.svc.FinishDelivery(context.Background(), j, sent); err != nil {
			t.Fatal(err)
		}
		got := <-rc.arrived
		if got.id != id {
			t.Fatalf("delivered under webhook-id %s, want the delivery's id %s", got.id, id)
		}
		d = e.delivery(ada, hook, id)
		if d["status"] != "delivered" || d["attempts"] != 4.0 {
			t.Fatalf("delivered: %v", d)
		}
		e.do("POST", retryPath(hook, id), ada, nil).want(t, 409, "Delivery already succeeded; there is nothing to retry")
		requests, _ := rc.snapshot()
		if len(requests) != 4 {
			t.Fatalf("the endpoint saw %d requests, want 4", len(requests))
		}
	})
}

// TestWebhookRetryOfOldDelivery: retrying a delivery whose retries ended
// days ago, to an endpoint that still fails, starts a failing streak now,
// not when the message was made: the webhook is not turned off by the next
// failure as though it had been failing all that while.
func TestWebhookRetryOfOldDelivery(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		rc := newReceiver(t)
		_, ada := e.developer("ada@example.com")
		hook, secret := e.createWebhook(ada, rc.URL, "client.created")
		rc.set("failing", secret)
		id := e.do("POST", "/webhooks/"+hook+"/test", ada, nil).want(t, 202, "").obj("delivery")["_id"].(string)
		e.do("PATCH", "/webhooks/"+hook, ada, map[string]any{"enabled": false}).want(t, 200, "")
		e.do("PATCH", "/webhooks/"+hook, ada, map[string]any{"enabled": true}).want(t, 200, "")

		e.clock.Add(4 * 24 * time.Hour)
		ada = e.login("ada@example.com")
		e.do("POST", retryPath(hook, id), ada, nil).want(t, 202, "")
		if n := e.drain(); n != 1 {
			t.Fatalf("%d attempts, want 1", n)
		}
		if d := e.delivery(ada, hook, id); d["status"] != "failed" || d["attempts"] != 1.0 {
			t.Fatalf("a 4-day-old delivery retried and failing: %v", d)
		}
		h := e.do("GET", "/webhooks/"+hook, ada, nil).want(t, 200, "").obj("webhook")
		if h["failingSince"] != e.clock.Now().Format(millis) || h["enabled"] != true {
			t.Fatalf("after the failed retry: %v, want failing since now", h)
		}
		e.client(ada, "Acme", "acme@example.com")
		if n := e.drain(); n != 1 {
			t.Fatalf("%d attempts, want 1", n)
		}
		if h := e.do("GET", "/webhooks/"+hook, ada, nil).want(t, 200, "").obj("webhook"); h["enabled"] != true {
			t.Fatalf("turned off by the next failure: %v", h)
		}
	})
}

// TestWebhookReplicasRetryOnce: two servers share one PostgreSQL database,
// each with its delivery worker; a waiting delivery is retried through
// both at once, several times: it is attempted once more, not once per
// request or per server.
func TestWebhookReplicasRetryOnce(t *testing.T) {
	a, b := deliveringReplicas(t)
	rc := newReceiver(t)
	_, ada := a.developer("ada@example.com")
	hook, secret := a.createWebhook(ada, rc.URL, "client.created")
	rc.set("down", secret)
	id := a.do("POST", "/webhooks/"+hook+"/test", ada, nil).want(t, 202, "").obj("delivery")["_id"].(string)
	waitFor := func(what string, done func(d map[string]any) bool) map[string]any {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			d := a.delivery(ada, hook, id)
			if done(d) {
				return d
			}
			if time.Now().After(deadline) {
				t.Fatalf("waiting for %s: %v", what, d)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	// Its next retry is 5 s away on the servers' clocks, which stand still.
	waitFor("the first attempt", func(d map[string]any) bool { return d["attempts"] == 1.0 && d["nextAttemptAt"] != nil })

	rc.set("up", "")
	var wg sync.WaitGroup
	var mu sync.Mutex
	answers := map[string]int{}
	for _, server := range []*env{a, b, a, b, a, b} {
		wg.Go(func() {
			r := server.do("POST", retryPath(hook, id), ada, nil)
			mu.Lock()
			answers[fmt.Sprintf("%d %v", r.status, r.body["message"])]++
			mu.Unlock()
		})
	}
	wg.Wait()
	for answer := range answers {
		switch answer {
		case "202 Delivery queued", "409 Delivery is being attempted now", "409 Delivery already succeeded; there is nothing to retry":
		default:
			t.Fatalf("a retry answered %s", answer)
		}
	}
	if answers["202 Delivery queued"] == 0 {
		t.Fatalf("no retry was queued: %v", answers)
	}
	select {
	case <-rc.arrived:
	case <-time.After(30 * time.Second):
		t.Fatal("the retried delivery did not arrive")
	}
	d := waitFor("the outcome", func(d map[string]any) bool { return d["status"] == keybox.DeliveryDelivered })
	requests, processed := rc.snapshot()
	if d["attempts"] != 2.0 || len(requests) != 2 || len(processed) != 1 {
		t.Fatalf("attempts %v, the endpoint saw %d requests; want 2 and 2", d["attempts"], len(requests))
	}
}
