package server_test

import (
	"strings"
	"testing"

	"github.com/keyboxhq/keybox/internal/server"
)

// routesWithoutOwnedIDs are the routes that take no id or key of an owned
// object, so there is nothing of another developer's to reach through them.
// Public license API routes are here too: their key is the credential.
var routesWithoutOwnedIDs = map[string]bool{
	"GET /{$}":              true,
	"GET /healthz":          true,
	"GET /readyz":           true,
	"POST /auth/signup":     true,
	"POST /auth/login":      true,
	"GET /auth/me":          true,
	"GET /auth/signup":      true,
	"GET /auth/users":       true,
	"PATCH /auth/password":  true,
	"POST /auth/refresh":    true,
	"POST /auth/logout-all": true,
	"POST /tokens":          true,
	"GET /tokens":           true, // the caller's own (TestAPITokens, and the lists below)
	"POST /clients":         true,
	"GET /clients":          true,
	"POST /webhooks":        true,
	"GET /license/me":       true,
	"GET /dashboard/stats":  true,
	"GET /openapi.json":     true,
	"GET /metrics":          true,
	"GET /app/":             true, // the dashboard's page and assets
	"GET /app":              true,
	// Signing in through a provider: the browser's own flow, and a
	// one-time code that is the credential of the account it names.
	"GET /auth/providers":       true,
	"GET /auth/google":          true,
	"GET /auth/google/callback": true,
	"GET /auth/oidc":            true,
	"GET /auth/oidc/callback":   true,
	"POST /auth/exchange":       true,
	// The public license API: the key is the credential, whoever sends it.
	"POST /validate":            true,
	"POST /validate/activate":   true,
	"POST /validate/deactivate": true,
	"POST /validate/checkout":   true,
	"POST /validate/heartbeat":  true,
	"GET /validate/public-keys": true,
	"POST /license/{$}":         true,
	"POST /license/activate":    true,
}

// probe is one attempt by a second developer on the first one's objects.
type probe struct {
	method, path string
	body         any
	status       int
	msg          string
	emptyList    string // for a 200 list: the member that must be empty
}

// TestTenantIsolation: for every management route that takes an id or a key
// (in the path, the query or the body), a second developer tries to read,
// change and delete the first developer's objects, gets the same answer as
// for a missing object, and nothing changes. A route missing from both
// tables fails the test.
func TestTenantIsolation(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		adaID, ada := e.developer("ada@example.com")
		client := e.client(ada, "Acme", "acme@example.com")
		project, key := e.projectWithLicense(ada, client, "Website")
		activation := e.seat(key, "ada-laptop")

		hook := e.do("POST", "/webhooks", ada, map[string]any{"url": "http://127.0.0.1:1/ada", "events": []string{"*"}}).
			want(t, 201, "").body["webhook"].(map[string]any)["_id"].(string)
		delivery := e.do("POST", "/webhooks/"+hook+"/test", ada, nil).want(t, 202, "").obj("delivery")["_id"].(string)
		adaToken := e.do("POST", "/tokens", ada, map[string]any{"name": "billing", "scope": "write"}).want(t, 201, "").obj("apiToken")["_id"].(string)

		_, bob := e.developer("bob@example.com")
		bobClient := e.client(bob, "Bob's", "bobs@example.com")
		_, bobKey := e.projectWithLicense(bob, bobClient, "Bob's app")
		// Bob's API tokens act as Bob: they reach no more of Ada's than he does.
		bobRead, bobWrite := e.apiToken(bob, "read"), e.apiToken(bob, "write")

		snapshot := func() string {
			return string(e.do("GET", "/dashboard", ada, nil).want(t, 200, "").raw) +
				string(e.do("GET", "/license/"+key, ada, nil).want(t, 200, "").raw) +
				string(e.do("GET", "/auth/me", ada, nil).want(t, 200, "").raw) +
				string(e.do("GET", "/projects/"+project+"/policy", ada, nil).want(t, 200, "").raw) +
				string(e.do("GET", "/events", ada, nil).want(t, 200, "").raw) +
				string(e.do("GET", "/webhooks", ada, nil).want(t, 200, "").raw) +
				string(e.do("GET", "/webhooks/"+hook+"/deliveries", ada, nil).want(t, 200, "").raw) +
				string(e.do("GET", "/tokens", ada, nil).want(t, 200, "").raw)
		}
		before := snapshot()

		probes := map[string][]probe{
			"PATCH /auth/users/{id}": {
				{"PATCH", "/auth/users/" + adaID, map[string]any{"name": "Mallory", "email": "mallory@example.com"}, 404, "User not found", ""},
			},
			// Deleting accounts is for ADMINs: a developer is refused whatever the id.
			"DELETE /auth/users/{id}": {
				{"DELETE", "/auth/users/" + adaID, nil, 403, "Forbidden", ""},
				{"DELETE", "/auth/users/" + adaID + "?cascade=true", nil, 403, "Forbidden", ""},
			},
			"GET /license/user/{id}": {{"GET", "/license/user/" + adaID, nil, 404, "User not found", ""}},
			"GET /clients/{id}":      {{"GET", "/clients/" + client, nil, 404, "Client not found", ""}},
			"PATCH /clients/{id}":    {{"PATCH", "/clients/" + client, map[string]any{"name": "Stolen"}, 404, "Client not found", ""}},
			"DELETE /clients/{id}": {
				{"DELETE", "/clients/" + client, nil, 404, "Client not found", ""},
				{"DELETE", "/clients/" + client + "?cascade=true", nil, 404, "Client not found", ""},
			},
			"POST /projects/createProject": {{"POST", "/projects/createProject", map[string]any{
				"clientId": client, "projectName": "Intruder", "duration": 1, "services": []string{"Hosting"}}, 404, "Client not found", ""}},
			"POST /projects": {{"POST", "/projects", map[string]any{"clientId": client, "name": "Intruder"}, 404, "Client not found", ""}},
			"GET /projects":  {{"GET", "/projects?clientId=" + client, nil, 200, "", "projects"}},
			"GET /projects/{id}": {
				{"GET", "/projects/" + project, nil, 404, "Project not found", ""},
			},
			"PATCH /projects/{id}": {{"PATCH", "/projects/" + project, map[string]any{"name": "Stolen"}, 404, "Project not found", ""}},
			"GET /projects/{id}/policy": {
				{"GET", "/projects/" + project + "/policy", nil, 404, "Project not found", ""},
			},
			"PATCH /projects/{id}/policy": {
				{"PATCH", "/projects/" + project + "/policy", map[string]any{"requireMachineId": true}, 404, "Project not found", ""},
			},
			"DELETE /projects/{id}": {
				{"DELETE", "/projects/" + project, nil, 404, "Project not found", ""},
				{"DELETE", "/projects/" + project + "?cascade=true", nil, 404, "Project not found", ""},
			},
			"POST /license/create": {
				{"POST", "/license/create", map[string]any{"duration": 1, "clientId": client, "projectId": project}, 404, "Client not found", ""},
				{"POST", "/license/create", map[string]any{"duration": 1, "clientId": bobClient, "projectId": project}, 404, "Project not found", ""},
			},
			"GET /license": {
				{"GET", "/license?clientId=" + client, nil, 200, "", "licenses"},
				{"GET", "/license?projectId=" + project, nil, 200, "", "licenses"},
			},
			"GET /license/{key}":          {{"GET", "/license/" + key, nil, 404, "License not found", ""}},
			"PATCH /license/{key}":        {{"PATCH", "/license/" + key, map[string]any{"maxMachines": 9}, 404, "License not found", ""}},
			"PATCH /license/revoke/{key}": {{"PATCH", "/license/revoke/" + key, nil, 404, "License not found", ""}},
			"POST /license/renew/{key}":   {{"POST", "/license/renew/" + key, map[string]any{"duration": 12}, 404, "License not found", ""}},
			"PATCH /license/renew/{key}": {
				{"PATCH", "/license/renew/" + key, map[string]any{"duration": 12}, 404, "License not found", ""},
				{"PATCH", "/license/renew/" + key, nil, 404, "License not found", ""},
			},
			"DELETE /license/{key}/activations/{activationId}": {
				{"DELETE", "/license/" + key + "/activations/" + activation, nil, 404, "License not found", ""},
				{"DELETE", "/license/" + bobKey + "/activations/" + activation, nil, 404, "Activation not found", ""},
			},
			// Bob's own events are his; none of them is about Ada's objects.
			"GET /events": {
				{"GET", "/events?subject=" + client, nil, 200, "", "events"},
				{"GET", "/events?subject=" + hook, nil, 200, "", "events"},
				{"GET", "/events?subject=" + adaID, nil, 200, "", "events"},
				{"GET", "/events?type=webhook.*", nil, 200, "", "events"},
			},
			"GET /webhooks":                 {{"GET", "/webhooks", nil, 200, "", "webhooks"}},
			"GET /webhooks/{id}":            {{"GET", "/webhooks/" + hook, nil, 404, "Webhook not found", ""}},
			"PATCH /webhooks/{id}":          {{"PATCH", "/webhooks/" + hook, map[string]any{"url": "http://127.0.0.1:1/mallory"}, 404, "Webhook not found", ""}},
			"DELETE /webhooks/{id}":         {{"DELETE", "/webhooks/" + hook, nil, 404, "Webhook not found", ""}},
			"GET /webhooks/{id}/deliveries": {{"GET", "/webhooks/" + hook + "/deliveries", nil, 404, "Webhook not found", ""}},
			"POST /webhooks/{id}/test":      {{"POST", "/webhooks/" + hook + "/test", nil, 404, "Webhook not found", ""}},
			// Through one of Bob's own webhooks: TestWebhookDeliveryRetry.
			"POST /webhooks/{id}/deliveries/{deliveryId}/retry": {
				{"POST", "/webhooks/" + hook + "/deliveries/" + delivery + "/retry", nil, 404, "Webhook not found", ""},
			},
			"GET /dashboard": {
				{"GET", "/dashboard?clientId=" + client, nil, 404, "Client not found", ""},
				{"GET", "/dashboard", map[string]any{"clientId": client}, 404, "Client not found", ""},
			},
			"DELETE /tokens/{id}": {{"DELETE", "/tokens/" + adaToken, nil, 404, "Token not found", ""}},
		}
		access := map[string]server.Access{}
		for _, rt := range e.server.RouteTable() {
			access[rt.Pattern] = rt.Access
		}

		for _, route := range e.routes() {
			rows, covered := probes[route]
			if !covered {
				if !routesWithoutOwnedIDs[route] {
					t.Errorf("route %q has no row in the tenant-isolation table: add probes for it, or list it in routesWithoutOwnedIDs", route)
				}
				continue
			}
			for _, p := range rows {
				// Bob's login token, then his API tokens: the read one
				// reaches the reads, the write one every route but the
				// account ones, and neither gets further than Bob.
				for _, as := range []struct{ name, token string }{{"login", bob}, {"read", bobRead}, {"write", bobWrite}} {
					status, msg := p.status, p.msg
					if as.name != "login" && !tokenReaches(as.name, access[route]) {
						status, msg = 403, "Token scope does not allow this"
					}
					r := e.do(p.method, p.path, as.token, p.body)
					if r.status != status || (msg != "" && r.body["message"] != msg) {
						t.Errorf("%s %s as another developer (%s token): got %d %s, want %d %q", p.method, p.path, as.name, r.status, r.raw, status, msg)
					}
					if status == p.status && p.emptyList != "" && (len(r.list(p.emptyList)) != 0 || r.body["total"] != 0.0) {
						t.Errorf("%s %s as another developer (%s token) shows %s", p.method, p.path, as.name, r.raw)
					}
				}
			}
		}
		for route := range probes {
			if !contains(e.routes(), route) {
				t.Errorf("the isolation table names %q, which is not a route", route)
			}
		}
		// Bob's lists, through his tokens, hold his objects only.
		for _, tok := range []string{bobRead, bobWrite} {
			for _, list := range []struct{ path, member string }{{"/clients", "clients"}, {"/projects", "projects"}, {"/license", "licenses"}, {"/dashboard", "data"}} {
				r := e.do("GET", list.path, tok, nil).want(t, 200, "")
				if items := r.list(list.member); len(items) != 1 || strings.Contains(string(r.raw), client) || strings.Contains(string(r.raw), key) {
					t.Errorf("GET %s with Bob's token: %s, want Bob's one %s only", list.path, r.raw, list.member)
				}
			}
		}
		if after := snapshot(); after != before {
			t.Fatalf("another developer changed the first one's data:\nbefore %s\nafter  %s", before, after)
		}
	})
}

// tokenReaches reports whether an API token of scope reaches a route of access.
func tokenReaches(scope string, access server.Access) bool {
	return access == server.AccessRead || (scope == "write" && access == server.AccessWrite)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
