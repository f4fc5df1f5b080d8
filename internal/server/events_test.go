package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"
)

// newestEvents returns the caller's n newest events.
func (e *env) newestEvents(token string, n int) []map[string]any {
	e.t.Helper()
	r := e.do("GET", fmt.Sprintf("/events?limit=%d", n), token, nil).want(e.t, 200, "")
	var out []map[string]any
	for _, v := range r.list("events") {
		out = append(out, v.(map[string]any))
	}
	return out
}

// wantEvent checks one event: its type, actor, subject, and the origin of
// the request r that made it (nil for background work).
func wantEvent(t *testing.T, ev map[string]any, typ, actorType, actorID, subjectType, subjectID string, r *response) {
	t.Helper()
	actor, _ := ev["actor"].(map[string]any)
	subject, _ := ev["subject"].(map[string]any)
	got := fmt.Sprintf("%v %v/%v %v/%v", ev["type"], actor["type"], actor["id"], subject["type"], subject["id"])
	want := fmt.Sprintf("%s %s/%v %s/%s", typ, actorType, orNil(actorID), subjectType, subjectID)
	if got != want {
		t.Fatalf("got event %s, want %s (%v)", got, want, ev)
	}
	if r != nil && (ev["ip"] != "127.0.0.1" || ev["requestId"] != r.header.Get("X-Request-Id") || ev["requestId"] == "") {
		t.Fatalf("%s: ip %v, requestId %v; want 127.0.0.1 and %s", typ, ev["ip"], ev["requestId"], r.header.Get("X-Request-Id"))
	}
	if r == nil && (ev["ip"] != nil || ev["requestId"] != nil) {
		t.Fatalf("%s from background work: ip %v, requestId %v; want null", typ, ev["ip"], ev["requestId"])
	}
	if _, ok := ev["data"].(map[string]any); !ok {
		t.Fatalf("%s: data %v is not an object", typ, ev["data"])
	}
}

func orNil(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// data returns member k of an event's data.
func data(ev map[string]any, k string) any { return ev["data"].(map[string]any)[k] }

// TestEventsOfEveryChange: each change made through the API records its
// event, with who made it (the user, or the application by its key's
// fingerprint), the client's address and the request's id; the sweep
// records as the system; reads and validations record nothing; no event
// holds a password, a hash or a secret; the log verifies at the end.
func TestEventsOfEveryChange(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		adaID, _ := e.developer("ada@example.com") // the first account: ADMIN
		r := e.do("POST", "/auth/signup", "", map[string]string{"name": "Bob", "email": "bob@example.com", "password": "correct horse", "confirm_password": "correct horse"})
		bobID := r.str("userId")
		bob := e.login("bob@example.com")
		wantEvent(t, e.newestEvents(bob, 1)[0], "user.created", "user", bobID, "user", bobID, &r)

		r = e.do("POST", "/clients", bob, map[string]any{"name": "Acme", "email": "acme@example.com"}).want(t, 201, "")
		client := r.obj("client")["_id"].(string)
		ev := e.newestEvents(bob, 1)[0]
		wantEvent(t, ev, "client.created", "user", bobID, "client", client, &r)
		if data(ev, "email") != "acme@example.com" {
			t.Fatalf("client.created data: %v", ev["data"])
		}
		r = e.do("PATCH", "/clients/"+client, bob, map[string]any{"name": "Acme Inc"}).want(t, 200, "")
		ev = e.newestEvents(bob, 1)[0]
		wantEvent(t, ev, "client.updated", "user", bobID, "client", client, &r)
		if fmt.Sprint(data(ev, "name")) != "map[from:Acme to:Acme Inc]" || data(ev, "email") != nil {
			t.Fatalf("client.updated data: %v", ev["data"])
		}

		r = e.do("POST", "/projects/createProject", bob, map[string]any{"clientId": client, "projectName": "Web", "duration": 3, "services": []string{"Hosting"}}).want(t, 201, "")
		project, license, key := r.obj("project")["_id"].(string), r.obj("license")["_id"].(string), r.obj("license")["key"].(string)
		evs := e.newestEvents(bob, 2)
		wantEvent(t, evs[0], "license.created", "user", bobID, "license", license, &r)
		wantEvent(t, evs[1], "project.created", "user", bobID, "project", project, &r)
		if data(evs[0], "key") != key || data(evs[0], "status") != "PENDING" {
			t.Fatalf("license.created data: %v", evs[0]["data"])
		}
		r = e.do("PATCH", "/projects/"+project, bob, map[string]any{"name": "Website"}).want(t, 200, "")
		wantEvent(t, e.newestEvents(bob, 1)[0], "project.updated", "user", bobID, "project", project, &r)
		r = e.do("PATCH", "/projects/"+project+"/policy", bob, map[string]any{"requireMachineId": true}).want(t, 200, "")
		wantEvent(t, e.newestEvents(bob, 1)[0], "project.updated", "user", bobID, "project", project, &r)
		e.do("PATCH", "/projects/"+project+"/policy", bob, map[string]any{"requireMachineId": false}).want(t, 200, "")

		r = e.do("POST", "/license/create", bob, map[string]any{"duration": 1, "clientId": client, "projectId": project}).want(t, 201, "")
		second := r.obj("license")["_id"].(string)
		wantEvent(t, e.newestEvents(bob, 1)[0], "license.created", "user", bobID, "license", second, &r)

		for _, step := range []struct{ path, typ, from, to string }{
			{"/license/revoke/", "license.revoked", "PENDING", "REVOKED"},
			{"/license/revoke/", "license.restored", "REVOKED", "PENDING"},
		} {
			r = e.do("PATCH", step.path+url.PathEscape(key), bob, nil).want(t, 200, "")
			ev = e.newestEvents(bob, 1)[0]
			wantEvent(t, ev, step.typ, "user", bobID, "license", license, &r)
			if fmt.Sprint(data(ev, "status")) != fmt.Sprintf("map[from:%s to:%s]", step.from, step.to) || data(ev, "key") != key {
				t.Fatalf("%s data: %v", step.typ, ev["data"])
			}
		}
		r = e.do("POST", "/license/renew/"+url.PathEscape(key), bob, map[string]any{"duration": 2}).want(t, 200, "")
		ev = e.newestEvents(bob, 1)[0]
		wantEvent(t, ev, "license.renewed", "user", bobID, "license", license, &r)
		if fmt.Sprint(data(ev, "duration")) != "map[from:3 to:5]" {
			t.Fatalf("license.renewed data: %v", ev["data"])
		}
		r = e.do("PATCH", "/license/"+url.PathEscape(key), bob, map[string]any{"maxMachines": 3}).want(t, 200, "")
		ev = e.newestEvents(bob, 1)[0]
		wantEvent(t, ev, "license.updated", "user", bobID, "license", license, &r)
		if fmt.Sprint(data(ev, "maxMachines")) != "map[from:1 to:3]" {
			t.Fatalf("license.updated data: %v", ev["data"])
		}

		app := e.svc.KeyFingerprint(key)
		r = e.do("POST", "/validate/activate", "", map[string]any{"key": key, "machineId": "laptop"}).want(t, 200, "License activated successfully")
		ev = e.newestEvents(bob, 1)[0]
		seat := ev["subject"].(map[string]any)["id"].(string)
		wantEvent(t, ev, "activation.created", "application", app, "activation", seat, &r)
		if data(ev, "machineId") != "laptop" || data(ev, "license") != license ||
			fmt.Sprint(data(ev, "status")) != "map[from:PENDING to:ACTIVE]" {
			t.Fatalf("activation.created data: %v", ev["data"])
		}
		before := len(e.newestEvents(bob, 100))
		for range 5 {
			e.do("POST", "/validate", "", map[string]any{"key": key, "machineId": "laptop"}).want(t, 200, "")
			e.do("POST", "/validate/activate", "", map[string]any{"key": key, "machineId": "laptop"}).want(t, 200, "License already activated on this machine")
			e.do("GET", "/license/"+url.PathEscape(key), bob, nil).want(t, 200, "")
		}
		if after := len(e.newestEvents(bob, 100)); after != before {
			t.Fatalf("validations, repeated activations and reads recorded %d events", after-before)
		}
		r = e.do("DELETE", "/license/"+url.PathEscape(key)+"/activations/"+seat, bob, nil).want(t, 200, "")
		wantEvent(t, e.newestEvents(bob, 1)[0], "activation.deleted", "user", bobID, "activation", seat, &r)
		e.do("POST", "/validate/activate", "", map[string]any{"key": key, "machineId": "desktop"}).want(t, 200, "")
		seat = e.newestEvents(bob, 1)[0]["subject"].(map[string]any)["id"].(string)
		r = e.do("POST", "/validate/deactivate", "", map[string]any{"key": key, "machineId": "desktop"}).want(t, 200, "")
		wantEvent(t, e.newestEvents(bob, 1)[0], "activation.deleted", "application", app, "activation", seat, &r)

		r = e.do("PATCH", "/auth/users/"+bobID, bob, map[string]any{"name": "Robert"}).want(t, 200, "")
		wantEvent(t, e.newestEvents(bob, 1)[0], "user.updated", "user", bobID, "user", bobID, &r)
		r = e.do("PATCH", "/auth/password", bob, map[string]any{"currentPassword": "correct horse", "password": "battery staple", "confirm_password": "battery staple"}).want(t, 200, "")
		bob = r.str("token")
		wantEvent(t, e.newestEvents(bob, 1)[0], "user.password_changed", "user", bobID, "user", bobID, &r)
		r = e.do("POST", "/auth/logout-all", bob, nil).want(t, 200, "")
		bob = e.do("POST", "/auth/login", "", map[string]string{"email": "bob@example.com", "password": "battery staple"}).want(t, 200, "").str("token")
		wantEvent(t, e.newestEvents(bob, 1)[0], "user.updated", "user", bobID, "user", bobID, &r)

		r = e.do("POST", "/webhooks", bob, map[string]any{"url": "http://127.0.0.1:1/hook", "events": []string{"license.revoked"}}).want(t, 201, "")
		hook := r.obj("webhook")["_id"].(string)
		wantEvent(t, e.newestEvents(bob, 1)[0], "webhook.created", "user", bobID, "webhook", hook, &r)
		r = e.do("PATCH", "/webhooks/"+hook, bob, map[string]any{"events": []string{"*"}}).want(t, 200, "")
		wantEvent(t, e.newestEvents(bob, 1)[0], "webhook.updated", "user", bobID, "webhook", hook, &r)
		r = e.do("DELETE", "/webhooks/"+hook, bob, nil).want(t, 200, "")
		wantEvent(t, e.newestEvents(bob, 1)[0], "webhook.deleted", "user", bobID, "webhook", hook, &r)

		// The sweep: the system, from no request.
		r = e.do("POST", "/license/create", bob, map[string]any{"duration": 1, "clientId": client, "projectId": project}).want(t, 201, "")
		lapsing, lapsingKey := r.obj("license")["_id"].(string), r.obj("license")["key"].(string)
		e.do("POST", "/validate/activate", "", map[string]any{"key": lapsingKey, "machineId": "m"}).want(t, 200, "")
		e.clock.Add(40 * 24 * time.Hour)
		if n, err := e.svc.SweepExpired(context.Background()); err != nil || n != 1 {
			t.Fatalf("sweep: %d, %v", n, err)
		}
		bob = e.do("POST", "/auth/login", "", map[string]string{"email": "bob@example.com", "password": "battery staple"}).want(t, 200, "").str("token")
		ada := e.login("ada@example.com") // the clock moved past the first token's life
		wantEvent(t, e.newestEvents(bob, 1)[0], "license.expired", "system", "", "license", lapsing, nil)

		// Cascades: each license, each project, then the client.
		r = e.do("DELETE", "/clients/"+client+"?cascade=true", bob, nil).want(t, 200, "")
		evs = e.newestEvents(bob, 5)
		wantEvent(t, evs[0], "client.deleted", "user", bobID, "client", client, &r)
		wantEvent(t, evs[1], "project.deleted", "user", bobID, "project", project, &r)
		deleted := map[string]bool{}
		for _, ev := range evs[2:] {
			if ev["type"] != "license.deleted" {
				t.Fatalf("cascade: %v", ev)
			}
			deleted[ev["subject"].(map[string]any)["id"].(string)] = true
		}
		if !deleted[license] || !deleted[second] || !deleted[lapsing] {
			t.Fatalf("license.deleted for %v, want %s, %s and %s", deleted, license, second, lapsing)
		}

		// The installation's events: seen by the ADMIN only.
		if _, err := e.svc.RotateSigningKey(context.Background()); err != nil {
			t.Fatal(err)
		}
		ev = e.newestEvents(ada, 1)[0]
		if ev["type"] != "signing_key.rotated" || ev["actor"].(map[string]any)["type"] != "system" {
			t.Fatalf("the ADMIN's newest event: %v", ev)
		}
		for _, ev := range e.newestEvents(bob, 100) {
			if strings.HasPrefix(ev["type"].(string), "signing_key.") {
				t.Fatalf("a developer sees the installation's events: %v", ev)
			}
		}
		r = e.do("PATCH", "/auth/users/"+bobID, ada, map[string]any{"role": "ADMIN"}).want(t, 200, "")
		bob = e.do("POST", "/auth/login", "", map[string]string{"email": "bob@example.com", "password": "battery staple"}).want(t, 200, "").str("token")
		wantEvent(t, e.newestEvents(bob, 1)[0], "user.updated", "user", adaID, "user", bobID, &r)
		carolID, _ := e.developer("carol@example.com")
		r = e.do("DELETE", "/auth/users/"+carolID, ada, nil).want(t, 200, "")
		wantEvent(t, e.newestEvents(ada, 1)[0], "user.deleted", "user", adaID, "user", carolID, &r)

		for _, ev := range e.newestEvents(bob, 100) {
			raw, _ := json.Marshal(ev["data"])
			for _, secret := range []string{"password", "hash", "secret", "whsec_", "correct horse", "battery staple", "$2"} {
				if strings.Contains(strings.ToLower(string(raw)), strings.ToLower(secret)) {
					t.Fatalf("%s holds %q: %s", ev["type"], secret, raw)
				}
			}
		}
		rep, err := e.svc.VerifyAudit(context.Background())
		if err != nil || len(rep.Breaks) != 0 {
			t.Fatalf("audit: %v %v", rep.Breaks, err)
		}
	})
}

// TestEventFilters: GET /events filters by type (or family), subject and
// time, pages, and refuses a bad filter naming it.
func TestEventFilters(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		_, ada := e.developer("ada@example.com")
		client := e.client(ada, "Acme", "acme@example.com")
		e.clock.Add(time.Hour)
		since := e.clock.Now().Format(time.RFC3339)
		ada = e.login("ada@example.com")
		_, key := e.projectWithLicense(ada, client, "Web")
		e.do("PATCH", "/license/revoke/"+url.PathEscape(key), ada, nil).want(t, 200, "")
		types := func(path string) string {
			t.Helper()
			var out []string
			for _, ev := range e.do("GET", path, ada, nil).want(t, 200, "").list("events") {
				out = append(out, ev.(map[string]any)["type"].(string))
			}
			return strings.Join(out, " ")
		}
		for path, want := range map[string]string{
			"/events?type=license.revoked":            "license.revoked",
			"/events?type=license.*":                  "license.revoked license.created",
			"/events?subject=" + client:               "client.created",
			"/events?since=" + url.QueryEscape(since): "license.revoked license.created project.created",
			"/events?limit=1&page=2":                  "license.created",
		} {
			if got := types(path); got != want {
				t.Errorf("%s: got %q, want %q", path, got, want)
			}
		}
		for path, field := range map[string]string{
			"/events?type=license.stolen": "type",
			"/events?type=nothing.*":      "type",
			"/events?since=yesterday":     "since",
		} {
			r := e.do("GET", path, ada, nil).want(t, 400, "Validation error")
			if _, ok := r.obj("errors")[field]; !ok {
				t.Errorf("%s: errors %v do not name %s", path, r.body["errors"], field)
			}
		}
		e.do("GET", "/events?page=0", ada, nil).want(t, 400, "")
		e.do("GET", "/events", "", nil).want(t, 401, "No token provided")
	})
}

// TestLapsedSeatEvents: a seat whose lease lapsed is recorded as
// activation.expired by the system, whether the lease sweep removes it or
// an activation finds it lapsed and takes its place.
func TestLapsedSeatEvents(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		_, key := e.leased("ada@example.com", 1, 60)
		e.do("POST", "/validate/activate", "", map[string]any{"key": key, "machineId": "m1"}).want(t, 200, "License activated successfully")
		e.clock.Add(2 * time.Minute)
		token := e.login("ada@example.com")
		first := e.newestEvents(token, 1)[0]["subject"].(map[string]any)["id"].(string)
		// The next activation finds m1's seat lapsed: it is removed, and m2 takes a seat.
		r := e.do("POST", "/validate/activate", "", map[string]any{"key": key, "machineId": "m2"}).want(t, 200, "License activated successfully")
		evs := e.newestEvents(token, 2)
		second := evs[0]["subject"].(map[string]any)["id"].(string)
		wantEvent(t, evs[0], "activation.created", "application", e.svc.KeyFingerprint(key), "activation", second, &r)
		if evs[1]["type"] != "activation.expired" || evs[1]["actor"].(map[string]any)["type"] != "system" ||
			evs[1]["subject"].(map[string]any)["id"] != first || data(evs[1], "machineId") != "m1" {
			t.Fatalf("the lapsed seat removed by an activation: %v", evs[1])
		}
		// Silent for longer than the lease: the sweep removes it.
		e.clock.Add(2 * time.Minute)
		if n, err := e.svc.SweepLeases(context.Background()); err != nil || n != 1 {
			t.Fatalf("lease sweep: %d, %v", n, err)
		}
		token = e.login("ada@example.com")
		wantEvent(t, e.newestEvents(token, 1)[0], "activation.expired", "system", "", "activation", second, nil)
	})
}

// TestTokenEvents: an API token's creation and revocation are events of its
// owner (by name, scope and prefix, never the secret), and what is done
// through a token is recorded as the token's doing; logging out everywhere
// revokes the account's tokens, each with its event.
func TestTokenEvents(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		adaID, ada := e.developer("ada@example.com")
		r := e.do("POST", "/tokens", ada, map[string]any{"name": "billing", "scope": "write"}).want(t, 201, "")
		secret, id := r.str("token"), r.obj("apiToken")["_id"].(string)
		ev := e.newestEvents(ada, 1)[0]
		wantEvent(t, ev, "token.created", "user", adaID, "token", id, &r)
		if data(ev, "name") != "billing" || data(ev, "scope") != "write" || !strings.HasPrefix(secret, data(ev, "prefix").(string)) {
			t.Fatalf("token.created data: %v", ev["data"])
		}
		r = e.do("POST", "/clients", secret, map[string]any{"name": "Acme", "email": "acme@example.com"}).want(t, 201, "")
		wantEvent(t, e.newestEvents(ada, 1)[0], "client.created", "token", id, "client", r.obj("client")["_id"].(string), &r)
		r = e.do("DELETE", "/tokens/"+id, ada, nil).want(t, 200, "")
		wantEvent(t, e.newestEvents(ada, 1)[0], "token.revoked", "user", adaID, "token", id, &r)

		second := e.do("POST", "/tokens", ada, map[string]any{"name": "ci", "scope": "read"}).want(t, 201, "").obj("apiToken")["_id"].(string)
		r = e.do("POST", "/auth/logout-all", ada, nil).want(t, 200, "")
		ada = e.login("ada@example.com")
		evs := e.newestEvents(ada, 2)
		wantEvent(t, evs[1], "token.revoked", "user", adaID, "token", second, &r)
		if data(evs[1], "reason") != "logged out everywhere" {
			t.Fatalf("token.revoked data: %v", evs[1]["data"])
		}
		for _, ev := range e.newestEvents(ada, 100) {
			if raw, _ := json.Marshal(ev); strings.Contains(string(raw), secret) {
				t.Fatalf("an event holds the token's secret: %s", raw)
			}
		}
	})
}
