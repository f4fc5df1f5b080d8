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
	"github.com/keyboxhq/keybox/internal/postgres"
	"github.com/keyboxhq/keybox/internal/servertest"
	"github.com/keyboxhq/keybox/internal/sqlstore"
	"github.com/keyboxhq/keybox/internal/storetest"
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

// TestWebhookWorkerDelivers: the running worker delivers each change,
// woken by its commit (its poll is a minute away); an endpoint that never
// answers holds one attempt of the worker, not the API or the other
// endpoints.
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
		// The hanging endpoint answers nothing until the test ends: the
		// changes are made, and the other endpoint served, all the same.
		for i := range 5 {
			e.client(ada, "Acme", fmt.Sprintf("acme%d@example.com", i))
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

// TestWebhookDisabledAfterThreeDays: an endpoint that fails every attempt is
// retried on the schedule until the delivery is 3 days old, then the
// delivery is given up and the webhook disabled, with a webhook.updated
// event by the system. It gets nothing more until it is turned on again.
func TestWebhookDisabledAfterThreeDays(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		rc := newReceiver(t)
		_, ada := e.developer("ada@example.com")
		hook, secret := e.createWebhook(ada, rc.URL, "client.created", "client.updated")
		rc.set("failing", secret)
		client := e.client(ada, "Acme", "acme@example.com")
		start := e.clock.Now()
		var waits []time.Duration
		last := start
		for attempt := 1; ; attempt++ {
			if n := e.drain(); n != 1 {
				t.Fatalf("attempt %d: %d attempts made", attempt, n)
			}
			d := e.deliveries(ada, hook)[0]
			if d["status"] != "pending" {
				if d["status"] != "failed" || d["attempts"] != float64(attempt) {
					t.Fatalf("after %d attempts: %v", attempt, d)
				}
				break
			}
			next, err := time.Parse(time.RFC3339, d["nextAttemptAt"].(string))
			if err != nil {
				t.Fatal(err)
			}
			waits = append(waits, next.Sub(last))
			last = next
			e.clock.Set(next)
			ada = e.login("ada@example.com")
		}
		// The last wait ends the retries at 72 hours.
		want := "[5s 1m0s 10m0s 1h0m0s 6h0m0s 12h0m0s 12h0m0s 12h0m0s 12h0m0s 12h0m0s 4h48m55s]"
		if got := fmt.Sprint(waits); got != want {
			t.Fatalf("waits %s, want %s", got, want)
		}
		if last.Sub(start) != 72*time.Hour {
			t.Fatalf("the last attempt came %v after the change, want 72h", last.Sub(start))
		}
		h := e.do("GET", "/webhooks/"+hook, ada, nil).want(t, 200, "").obj("webhook")
		if h["enabled"] != false || h["disabledAt"] == nil || h["failingSince"] == nil {
			t.Fatalf("after 3 days of failures: %v", h)
		}
		ev := e.newestEvents(ada, 1)[0]
		wantEvent(t, ev, "webhook.updated", "system", "", "webhook", hook, nil)
		if fmt.Sprint(data(ev, "enabled")) != "map[from:true to:false]" || data(ev, "reason") == nil {
			t.Fatalf("the disabling event's data: %v", ev["data"])
		}
		e.do("PATCH", "/clients/"+client, ada, map[string]any{"name": "Acme 2"}).want(t, 200, "")
		if n := e.drain(); n != 0 || len(e.deliveries(ada, hook)) != 1 {
			t.Fatalf("a disabled webhook got a delivery (%d attempts)", n)
		}
		r := e.do("PATCH", "/webhooks/"+hook, ada, map[string]any{"enabled": true}).want(t, 200, "")
		if h := r.obj("webhook"); h["enabled"] != true || h["failingSince"] != nil || h["disabledAt"] != nil {
			t.Fatalf("turned on again: %v", h)
		}
		rc.set("up", "")
		e.do("PATCH", "/clients/"+client, ada, map[string]any{"name": "Acme 3"}).want(t, 200, "")
		if n := e.drain(); n != 1 {
			t.Fatalf("turned on again: %d attempts", n)
		}
		if got := <-rc.arrived; !strings.Contains(string(got.body), "Acme 3") {
			t.Fatalf("got %s", got.body)
		}
	})
}

// TestWebhookRequests: every member is checked and a refusal names it;
// a test message is queued and delivered as webhook.test; an account's
// webhooks are bounded.
func TestWebhookRequests(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		_, ada := e.developer("ada@example.com")
		for _, tc := range []struct {
			body  any
			field string
		}{
			{map[string]any{}, "url"},
			{map[string]any{"events": []string{"*"}}, "url"},
			{map[string]any{"url": "", "events": []string{"*"}}, "url"},
			{map[string]any{"url": 5, "events": []string{"*"}}, "url"},
			{map[string]any{"url": "ftp://127.0.0.1/x", "events": []string{"*"}}, "url"},
			{map[string]any{"url": "not a url", "events": []string{"*"}}, "url"},
			{map[string]any{"url": "http://127.0.0.1/" + strings.Repeat("a", 3000), "events": []string{"*"}}, "url"},
			{map[string]any{"url": "http://127.0.0.1/x"}, "events"},
			{map[string]any{"url": "http://127.0.0.1/x", "events": []string{}}, "events"},
			{map[string]any{"url": "http://127.0.0.1/x", "events": "*"}, "events"},
			{map[string]any{"url": "http://127.0.0.1/x", "events": []string{"license.stolen"}}, "events"},
			{map[string]any{"url": "http://127.0.0.1/x", "events": []any{1}}, "events"},
			{map[string]any{"url": "http://127.0.0.1/x", "events": []string{"*"}, "description": 7}, "description"},
			{map[string]any{"url": "http://127.0.0.1/x", "events": []string{"*"}, "description": strings.Repeat("d", 201)}, "description"},
			{`{"url":"http://127.0.0.1/x","events":["*"],"description":"\u0000"}`, "description"},
		} {
			r := e.do("POST", "/webhooks", ada, tc.body).want(t, 400, "Validation error")
			if _, ok := r.obj("errors")[tc.field]; !ok {
				t.Errorf("%v: errors %v do not name %s", tc.body, r.body["errors"], tc.field)
			}
		}
		if n := len(e.do("GET", "/webhooks", ada, nil).want(t, 200, "").list("webhooks")); n != 0 {
			t.Fatalf("refused webhooks were stored: %d", n)
		}
		rc := newReceiver(t)
		hook, secret := e.createWebhook(ada, rc.URL, "license.revoked", "license.revoked", "license.created")
		rc.set("up", secret)
		h := e.do("GET", "/webhooks/"+hook, ada, nil).want(t, 200, "").obj("webhook")
		if fmt.Sprint(h["events"]) != "[license.revoked license.created]" || h["enabled"] != true {
			t.Fatalf("stored: %v", h)
		}
		if strings.Contains(string(e.do("GET", "/webhooks", ada, nil).raw), strings.TrimPrefix(secret, "whsec_")) {
			t.Fatal("the secret is shown again")
		}
		r := e.do("PATCH", "/webhooks/"+hook, ada, map[string]any{"enabled": "yes"}).want(t, 400, "Validation error")
		if _, ok := r.obj("errors")["enabled"]; !ok {
			t.Fatalf("errors %v do not name enabled", r.body["errors"])
		}
		e.do("PATCH", "/webhooks/"+hook, ada, map[string]any{"url": "gopher://x"}).want(t, 400, "Validation error")
		e.do("PATCH", "/webhooks/"+hook, ada, map[string]any{"events": []string{"*"}, "description": "all"}).want(t, 200, "Webhook updated")

		d := e.do("POST", "/webhooks/"+hook+"/test", ada, nil).want(t, 202, "Test delivery queued").obj("delivery")
		if d["type"] != "webhook.test" || d["event"] != nil || d["status"] != "pending" {
			t.Fatalf("queued: %v", d)
		}
		// The test message, and the webhook.updated event of the change
		// before it, which "*" now subscribes to.
		if n := e.drain(); n != 2 {
			t.Fatalf("%d attempts, want 2", n)
		}
		_, processed := rc.snapshot()
		got, ok := processed[d["_id"].(string)]
		if !ok || !strings.Contains(string(got.body), `"type":"webhook.test"`) {
			t.Fatalf("no test message under %s: %v", d["_id"], processed)
		}
		e.do("POST", "/webhooks/nope/test", ada, nil).want(t, 404, "Webhook not found")
		e.do("GET", "/webhooks/nope/deliveries", ada, nil).want(t, 404, "Webhook not found")
		e.do("GET", "/webhooks/"+hook+"/deliveries?limit=0", ada, nil).want(t, 400, "")

		for i := 1; i < 20; i++ {
			e.createWebhook(ada, fmt.Sprintf("%s/%d", rc.URL, i), "*")
		}
		e.do("POST", "/webhooks", ada, map[string]any{"url": rc.URL, "events": []string{"*"}}).want(t, 409, "An account may have at most 20 webhooks")
		e.do("DELETE", "/webhooks/"+hook, ada, nil).want(t, 200, "Webhook deleted")
		e.do("GET", "/webhooks/"+hook, ada, nil).want(t, 404, "Webhook not found")
		e.do("GET", "/webhooks/"+hook+"/deliveries", ada, nil).want(t, 404, "Webhook not found")
	})
}

// TestWebhookRefusesPrivateAddresses: on a server that does not allow them
// (the default), a URL pointing inside the server's network is refused at
// creation and change, naming url. The same refusal at connection time,
// for a name whose address changes after the check, is in internal/webhook.
func TestWebhookRefusesPrivateAddresses(t *testing.T) {
	e := newEnv(t, storeSQLite(t), func(o *servertest.Options) { o.StrictWebhooks = true })
	_, ada := e.developer("ada@example.com")
	for _, u := range []string{
		"http://127.0.0.1:5000/", "http://localhost:5000/", "http://[::1]/", "http://10.0.0.8/", "http://172.16.3.4/",
		"http://192.168.1.10/", "http://169.254.169.254/latest/meta-data/", "http://[fe80::1]/", "http://[fd00::1]/",
		"http://0.0.0.0/", "http://224.0.0.1/", "http://[::ffff:127.0.0.1]/", "http://100.64.0.1/",
	} {
		r := e.do("POST", "/webhooks", ada, map[string]any{"url": u, "events": []string{"*"}}).want(t, 400, "Validation error")
		if reason, _ := r.obj("errors")["url"].(string); !strings.Contains(reason, "loopback, private or link-local") {
			t.Errorf("%s: errors %v", u, r.body["errors"])
		}
	}
	hook, _ := e.createWebhook(ada, "https://93.184.216.34/hook", "*")
	r := e.do("PATCH", "/webhooks/"+hook, ada, map[string]any{"url": "http://169.254.169.254/"}).want(t, 400, "Validation error")
	if _, ok := r.obj("errors")["url"]; !ok {
		t.Fatalf("errors %v", r.body["errors"])
	}
	if h := e.do("GET", "/webhooks/"+hook, ada, nil).want(t, 200, "").obj("webhook"); h["url"] != "https://93.184.216.34/hook" {
		t.Fatalf("the refused change was stored: %v", h)
	}
}

// TestWebhookReplicasDeliverOnce: two servers share one PostgreSQL
// database, each with its delivery worker, and changes are made through
// both at once. Every event is delivered, each exactly once: no attempt is
// made twice without a crash.
func TestWebhookReplicasDeliverOnce(t *testing.T) {
	a, b := deliveringReplicas(t)
	rc := newReceiver(t)
	_, ada := a.developer("ada@example.com")
	hook, secret := a.createWebhook(ada, rc.URL, "client.created")
	rc.set("up", secret)
	const n = 40
	var wg sync.WaitGroup
	for i, server := range []*env{a, b} {
		wg.Go(func() {
			for j := range n / 2 {
				server.client(ada, "Acme", fmt.Sprintf("acme-%d-%d@example.com", i, j))
			}
		})
	}
	wg.Wait()
	for i := range n {
		select {
		case <-rc.arrived:
		case <-time.After(60 * time.Second):
			t.Fatalf("%d of %d events delivered", i, n)
		}
	}
	// Wait for the last outcomes to be recorded, then count.
	deadline := time.Now().Add(30 * time.Second)
	for {
		list := a.do("GET", "/webhooks/"+hook+"/deliveries?limit=100", ada, nil).want(t, 200, "").list("deliveries")
		done := 0
		for _, d := range list {
			if d := d.(map[string]any); d["status"] == "delivered" {
				if d["attempts"] != 1.0 {
					t.Fatalf("delivery %v was attempted more than once", d)
				}
				done++
			}
		}
		if len(list) != n {
			t.Fatalf("%d deliveries for %d events", len(list), n)
		}
		if done == n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d deliveries recorded as delivered", done, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
	requests, processed := rc.snapshot()
	if len(requests) != n || len(processed) != n {
		t.Fatalf("the receiver got %d requests for %d messages; want %d and %d", len(requests), len(processed), n, n)
	}
}

// deliveringReplicas starts two servers on one fresh PostgreSQL database,
// each with its own delivery worker.
func deliveringReplicas(t *testing.T) (a, b *env) {
	t.Helper()
	dbURL := storetest.PostgresURL(t)
	open := func(replica byte) *env {
		s, err := postgres.Open(context.Background(), dbURL, sqlstore.Options{Migrate: true, MaxConns: storetest.PostgresPool})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return newEnv(t, s, withDeliveries(), func(o *servertest.Options) { o.Replica = replica })
	}
	return open(0), open(1)
}
