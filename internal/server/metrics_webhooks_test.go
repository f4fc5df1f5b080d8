package server_test

import (
	"context"
	"errors"
	"net/url"
	"testing"
	"time"

	"github.com/keyboxhq/keybox"
	"github.com/keyboxhq/keybox/internal/storetest"
)

// TestEventAndWebhookMetrics: /metrics counts the events this server
// recorded by type (every type from 0), its delivery attempts by outcome
// (retry, failed, delivered) and their durations, and shows the outbox:
// deliveries pending, due, and how long the one due longest ago has waited.
func TestEventAndWebhookMetrics(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		rc := newReceiver(t)
		_, ada := e.developer("ada@example.com")
		hook, secret := e.createWebhook(ada, rc.URL, "license.revoked", "license.restored")
		rc.set("down", secret)
		_, key := e.projectWithLicense(ada, e.client(ada, "Acme", "acme@example.com"), "Web")

		m := e.webhookMetrics()
		for _, typ := range keybox.EventTypes {
			if _, ok := m.events[typ]; !ok {
				t.Errorf("keybox_events_total has no series for %s", typ)
			}
		}
		m.want(t, "before any delivery", map[string]float64{
			"event user.created": 1, "event webhook.created": 1, "event client.created": 1, "event license.revoked": 0,
			"retry": 0, "failed": 0, "delivered": 0, "attempts": 0, "pending": 0, "due": 0, "oldest": 0,
		})

		e.do("PATCH", "/license/revoke/"+url.PathEscape(key), ada, nil).want(t, 200, "")
		e.clock.Add(30 * time.Second)
		e.webhookMetrics().want(t, "a delivery waiting 30 s", map[string]float64{
			"event license.revoked": 1, "pending": 1, "due": 1, "oldest": 30, "attempts": 0,
		})

		// The endpoint is down until the delivery is given up, 3 days on.
		attempts := 0
		for {
			if n := e.drain(); n != 1 {
				t.Fatalf("%d attempts, want 1", n)
			}
			attempts++
			d := e.deliveries(ada, hook)[0]
			if d["status"] != "pending" {
				break
			}
			if attempts == 1 {
				e.webhookMetrics().want(t, "after a refused attempt", map[string]float64{
					"retry": 1, "attempts": 1, "pending": 1, "due": 0, "oldest": 0,
				})
			}
			next, err := time.Parse(time.RFC3339, d["nextAttemptAt"].(string))
			if err != nil {
				t.Fatal(err)
			}
			e.clock.Set(next)
			ada = e.login("ada@example.com")
		}
		e.webhookMetrics().want(t, "given up", map[string]float64{
			"retry": float64(attempts - 1), "failed": 1, "delivered": 0, "attempts": float64(attempts),
			"pending": 0, "due": 0, "event webhook.updated": 1, // disabled by the system
		})

		e.do("PATCH", "/webhooks/"+hook, ada, map[string]any{"enabled": true}).want(t, 200, "")
		rc.set("up", "")
		e.do("PATCH", "/license/revoke/"+url.PathEscape(key), ada, nil).want(t, 200, "")
		if n := e.drain(); n != 1 {
			t.Fatalf("%d attempts, want 1", n)
		}
		<-rc.arrived
		e.webhookMetrics().want(t, "delivered", map[string]float64{
			"event license.restored": 1, "event webhook.updated": 2, "delivered": 1, "failed": 1,
			"attempts": float64(attempts + 1), "pending": 0, "due": 0,
		})
	})
}

// webhookFigures are the event and webhook families of one scrape.
type webhookFigures struct {
	events map[string]float64
	all    map[string]float64 // "event TYPE", outcomes, "attempts", "pending", "due", "oldest"
}

func (e *env) webhookMetrics() webhookFigures {
	e.t.Helper()
	f := webhookFigures{events: map[string]float64{}, all: map[string]float64{}}
	for _, s := range e.metrics() {
		switch s.name {
		case "keybox_events_total":
			f.events[s.labels["type"]] = s.value
			f.all["event "+s.labels["type"]] = s.value
		case "keybox_webhook_delivery_attempts_total":
			f.all[s.labels["outcome"]] = s.value
		case "keybox_webhook_delivery_duration_seconds_count":
			f.all["attempts"] = s.value
		case "keybox_webhook_outbox_pending_deliveries":
			f.all["pending"] = s.value
		case "keybox_webhook_outbox_due_deliveries":
			f.all["due"] = s.value
		case "keybox_webhook_outbox_oldest_due_seconds":
			f.all["oldest"] = s.value
		}
	}
	return f
}

func (f webhookFigures) want(t *testing.T, when string, want map[string]float64) {
	t.Helper()
	for k, v := range want {
		got, ok := f.all[k]
		if !ok || got != v {
			t.Errorf("%s: %s is %v (present: %v), want %v", when, k, got, ok, v)
		}
	}
}

// outboxDownStore is a real store whose outbox cannot be read, as when the
// database does not answer.
type outboxDownStore struct{ keybox.Store }

func (outboxDownStore) Outbox(context.Context, time.Time) (keybox.OutboxStats, error) {
	return keybox.OutboxStats{}, errors.New("database on fire")
}

// TestMetricsWithoutOutbox: when the outbox cannot be counted, a scrape
// still answers everything else, well-formed, without the outbox's gauges.
func TestMetricsWithoutOutbox(t *testing.T) {
	e := newEnv(t, outboxDownStore{storetest.SQLite(t)})
	names := map[string]bool{}
	for _, s := range e.metrics() {
		names[s.name] = true
	}
	if names["keybox_webhook_outbox_pending_deliveries"] || !names["keybox_events_total"] || !names["go_goroutines"] {
		t.Errorf("families when the outbox cannot be read: %v", names)
	}
}
