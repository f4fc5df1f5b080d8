package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/keyboxhq/keybox/client"
)

// TestCLIEventsAndWebhooks: keybox events lists and filters the caller's
// events; keybox webhooks manages webhooks, shows the secret once, queues a
// test and lists deliveries.
func TestCLIEventsAndWebhooks(t *testing.T) {
	url := testServer(t)
	ctx := context.Background()
	api, err := client.New(url, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := api.Signup(ctx, client.Signup{Name: "Ada", Email: "ada@example.com", Password: "correct horse"}); err != nil {
		t.Fatal(err)
	}
	sh := newShell(t, url)
	if code, out := sh.run("correct horse\n", "login", "--email", "ada@example.com", "--password-stdin"); code != 0 {
		t.Fatalf("login: exit %d: %s", code, out)
	}
	sh.ok("clients", "create", "--name", "Acme", "--email", "billing@acme.example")

	out := sh.ok("events")
	if !strings.Contains(out, "client.created") || !strings.Contains(out, "user.created") || !strings.Contains(out, "127.0.0.1") {
		t.Fatalf("keybox events:\n%s", out)
	}
	var list client.EventList
	if err := json.Unmarshal([]byte(sh.ok("events", "--type", "client.*", "-o", "json")), &list); err != nil {
		t.Fatal(err)
	}
	if list.Total != 1 || list.Events[0].Type != "client.created" || list.Events[0].Actor.Type != "user" {
		t.Fatalf("keybox events --type client.*: %+v", list)
	}
	sh.fails(2, "events", "--since", "yesterday")
	if out := sh.fails(1, "events", "--type", "nothing"); !strings.Contains(out, "type") {
		t.Fatalf("a bad filter: %s", out)
	}

	var created struct {
		Webhook struct {
			ID     string   `json:"_id"`
			Events []string `json:"events"`
		} `json:"webhook"`
		Secret string `json:"secret"`
	}
	raw := sh.ok("webhooks", "create", "--url", "http://127.0.0.1:9/hook", "--events", "license.revoked,license.renewed", "--description", "billing", "-o", "json")
	if err := json.Unmarshal([]byte(raw), &created); err != nil || !strings.HasPrefix(created.Secret, "whsec_") ||
		strings.Join(created.Webhook.Events, ",") != "license.revoked,license.renewed" {
		t.Fatalf("webhooks create: %s", raw)
	}
	id := created.Webhook.ID
	if out := sh.ok("webhooks", "list"); !strings.Contains(out, id) || strings.Contains(out, created.Secret) {
		t.Fatalf("webhooks list:\n%s", out)
	}
	if out := sh.ok("webhooks", "update", id, "--enabled=false"); !strings.Contains(out, "disabled:       2026") {
		t.Fatalf("webhooks update:\n%s", out)
	}
	sh.fails(2, "webhooks", "update", id)
	sh.fails(2, "webhooks", "update", id, "--enabled", "maybe")
	if out := sh.fails(1, "webhooks", "create", "--url", "ftp://example.com/"); !strings.Contains(out, "url") {
		t.Fatalf("a bad URL: %s", out)
	}
	out = sh.ok("webhooks", "test", id, "-o", "json")
	var queued struct {
		ID string `json:"_id"`
	}
	if err := json.Unmarshal([]byte(out), &queued); err != nil || queued.ID == "" {
		t.Fatalf("webhooks test:\n%s", out)
	}
	if out := sh.ok("webhooks", "retry", id, queued.ID); !strings.Contains(out, "Queued") || !strings.Contains(out, queued.ID) {
		t.Fatalf("webhooks retry:\n%s", out)
	}
	sh.fails(1, "webhooks", "retry", id, "nope")
	sh.fails(2, "webhooks", "retry", id)
	if out := sh.ok("webhooks", "deliveries", id); !strings.Contains(out, "webhook.test") || !strings.Contains(out, "pending") {
		t.Fatalf("webhooks deliveries:\n%s", out)
	}
	if out := sh.ok("webhooks", "get", id); !strings.Contains(out, "billing") {
		t.Fatalf("webhooks get:\n%s", out)
	}
	sh.ok("webhooks", "delete", id)
	sh.fails(1, "webhooks", "get", id)
	if out := sh.ok("events", "--type", "webhook.*"); strings.Count(out, "webhook.") != 3 {
		t.Fatalf("webhook events:\n%s", out)
	}
}
