package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keyboxhq/keybox"
	"github.com/keyboxhq/keybox/internal/servertest"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// receiver is a webhook endpoint on loopback. It checks each message with
// the Standard Webhooks reference library, and dedupes by webhook-id as a
// receiver should: the same id may come again (a retry whose answer was
// lost), and is then processed once.
type receiver struct {
	*httptest.Server
	mu        sync.Mutex
	mode      string // "up" answers 204, "failing" 503, "down" drops the connection
	secret    string
	requests  []receipt
	processed map[string]receipt
	arrived   chan receipt // each message processed
}

type receipt struct {
	id, timestamp string
	body          []byte
	valid         bool // the signature verifies
}

func newReceiver(t *testing.T) *receiver {
	rc := &receiver{mode: "up", processed: map[string]receipt{}, arrived: make(chan receipt, 100)}
	rc.Server = httptest.NewServer(http.HandlerFunc(rc.serve))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	got := receipt{id: r.Header.Get("webhook-id"), timestamp: r.Header.Get("webhook-timestamp"), body: body}
	if wh, err := standardwebhooks.NewWebhook(rc.secret); err == nil {
		// The timestamp is the test clock's, months from the real one: the
		// signature is checked here, the timestamp by the test.
		got.valid = wh.VerifyIgnoringTimestamp(body, r.Header) == nil
	}
	rc.requests = append(rc.requests, got)
	switch rc.mode {
	case "down":
		panic(http.ErrAbortHandler) // the connection closes with no answer
	case "failing":
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte("maintenance\n"))
		return
	}
	if _, seen := rc.processed[got.id]; !seen && got.valid {
		rc.processed[got.id] = got
		rc.arrived <- got
	}
	w.WriteHeader(http.StatusNoContent)
}

func (rc *receiver) set(mode, secret string) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.mode = mode
	if secret != "" {
		rc.secret = secret
	}
}

func (rc *receiver) snapshot() ([]receipt, map[string]receipt) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	processed := make(map[string]receipt, len(rc.processed))
	for k, v := range rc.processed {
		processed[k] = v
	}
	return append([]receipt(nil), rc.requests...), processed
}

// drain delivers what is due on the test clock and returns how many
// attempts were made.
func (e *env) drain() int {
	e.t.Helper()
	n, err := e.worker.Drain(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	return n
}

// deliveries returns a webhook's deliveries, newest first.
func (e *env) deliveries(token, hook string) []map[string]any {
	e.t.Helper()
	var out []map[string]any
	for _, d := range e.do("GET", "/webhooks/"+hook+"/deliveries", token, nil).want(e.t, 200, "").list("deliveries") {
		out = append(out, d.(map[string]any))
	}
	return out
}

// createWebhook adds a webhook and returns its id and secret.
func (e *env) createWebhook(token, endpoint string, events ...string) (string, string) {
	e.t.Helper()
	r := e.do("POST", "/webhooks", token, map[string]any{"url": endpoint, "events": events}).want(e.t, 201, "Webhook created")
	return r.obj("webhook")["_id"].(string), r.str("secret")
}

// TestWebhookDeliveredAfterRetries: an endpoint that is down, then failing,
// then up gets the event after retries at about 5 s and 1 min, signed as
// Standard Webhooks says (checked by its reference library), under one
// webhook-id on every attempt, processed once. Each attempt is in the
// deliveries log.
func TestWebhookDeliveredAfterRetries(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		rc := newReceiver(t)
		_, ada := e.developer("ada@example.com")
		hook, secret := e.createWebhook(ada, rc.URL+"/keybox", "license.revoked")
		if !strings.HasPrefix(secret, "whsec_") {
			t.Fatalf("secret %q", secret)
		}
		rc.set("down", secret)
		client := e.client(ada, "Acme", "acme@example.com") // not subscribed to: no delivery
		_, key := e.projectWithLicense(ada, client, "Web")
		if n := e.drain(); n != 0 {
			t.Fatalf("%d attempts for events the webhook did not ask for", n)
		}
		e.do("PATCH", "/license/revoke/"+url.PathEscape(key), ada, nil).want(t, 200, "")
		revoked := e.newestEvents(ada, 1)[0]
		start := e.clock.Now()

		if n := e.drain(); n != 1 {
			t.Fatalf("first pass: %d attempts, want 1", n)
		}
		d := e.deliveries(ada, hook)
		if len(d) != 1 || d[0]["status"] != "pending" || d[0]["attempts"] != 1.0 || d[0]["event"] != revoked["_id"] ||
			d[0]["nextAttemptAt"] != start.Add(5*time.Second).Format("2006-01-02T15:04:05.000Z") {
			t.Fatalf("after a refused attempt: %v", d)
		}
		if log := d[0]["log"].([]any)[0].(map[string]any); log["success"] != false || log["statusCode"] != 0.0 || log["error"] == nil {
			t.Fatalf("the refused attempt's log: %v", log)
		}
		if n := e.drain(); n != 0 {
			t.Fatalf("retried before it was due: %d", n)
		}

		e.clock.Add(5 * time.Second)
		rc.set("failing", "")
		if n := e.drain(); n != 1 {
			t.Fatalf("second pass: %d attempts, want 1", n)
		}
		d = e.deliveries(ada, hook)
		if log := d[0]["log"].([]any)[1].(map[string]any); log["statusCode"] != 503.0 || log["response"] != "maintenance\n" {
			t.Fatalf("the failing attempt's log: %v", log)
		}
		if d[0]["nextAttemptAt"] != e.clock.Now().Add(time.Minute).Format("2006-01-02T15:04:05.000Z") {
			t.Fatalf("the third attempt is planned at %v", d[0]["nextAttemptAt"])
		}

		e.clock.Add(time.Minute)
		rc.set("up", "")
		if n := e.drain(); n != 1 {
			t.Fatalf("third pass: %d attempts, want 1", n)
		}
		got := <-rc.arrived
		requests, processed := rc.snapshot()
		if len(requests) != 3 || len(processed) != 1 {
			t.Fatalf("the receiver saw %d requests, processed %d; want 3 and 1", len(requests), len(processed))
		}
		for _, r := range requests {
			if r.id != got.id || !r.valid {
				t.Fatalf("attempt %+v: another webhook-id than %s, or a signature that does not verify", r, got.id)
			}
		}
		if got.timestamp != strconv.FormatInt(e.clock.Now().Unix(), 10) {
			t.Fatalf("webhook-timestamp %s, want the attempt's time %d", got.timestamp, e.clock.Now().Unix())
		}
		var body map[string]any
		if err := json.Unmarshal(got.body, &body); err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(body) != fmt.Sprint(revoked) {
			t.Fatalf("body %v, want the event as GET /events shows it: %v", body, revoked)
		}
		d = e.deliveries(ada, hook)
		if d[0]["status"] != "delivered" || d[0]["attempts"] != 3.0 || d[0]["nextAttemptAt"] != nil {
			t.Fatalf("delivered: %v", d[0])
		}
		e.clock.Add(24 * time.Hour)
		if n := e.drain(); n != 0 {
			t.Fatalf("%d attempts after delivery", n)
		}
	})
}

// TestWebhookWorkerDelivers: the running worker delivers a change at once,
// woken by its commit (its poll is a minute away), and never from inside
// the request: a hanging endpoint does not slow the API.
func TestWebhookWorkerDelivers(t *testing.T) {
	forEngine(t, func(t *testing.T, open func(testing.TB) keybox.Store) {
		e := newEnv(t, open(t), withDeliveries())
		release := make(chan struct{})
		hanging := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-release }))
		defer hanging.Close()
		defer close(release)
		rc := newReceiver(t)
		_, ada := e.developer("ada@example.com")
		_, secret := e.createWebhook(ada, rc.URL, "client.created")
		rc.set("up", secret)
		e.createWebhook(ada, hanging.URL, "*")
		begun := time.Now()
		for i := range 5 {
			e.client(ada, "Acme", fmt.Sprintf("acme%d@example.com", i))
		}
		if d := time.Since(begun); d > 5*time.Second {
			t.Fatalf("5 changes took %v with a hanging endpoint", d) // a guard against a hang, not a timing
		}
		for range 5 {
			select {
			case r := <-rc.arrived:
				if !strings.Contains(string(r.body), `"type":"client.created"`) {
					t.Fatalf("got %s", r.body)
				}
			case <-time.After(30 * time.Second):
				t.Fatal("the worker did not deliver the changes")
			}
		}
	})
}

func withDeliveries() envOption { return func(o *servertest.Options) { o.Deliveries = true } }
