package server_test

import (
	"testing"
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
	"POST /clients":         true,
	"GET /clients":          true,
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

		_, bob := e.developer("bob@example.com")
		bobClient := e.client(bob, "Bob's", "bobs@example.com")
		_, bobKey := e.projectWithLicense(bob, bobClient, "Bob's app")

		snapshot := func() string {
			return string(e.do("GET", "/dashboard", ada, nil).want(t, 200, "").raw) +
				string(e.do("GET", "/license/"+key, ada, nil).want(t, 200, "").raw) +
				string(e.do("GET", "/auth/me", ada, nil).want(t, 200, "").raw) +
				string(e.do("GET", "/projects/"+project+"/policy", ada, nil).want(t, 200, "").raw)
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
			"GET /dashboard": {
				{"GET", "/dashboard?clientId=" + client, nil, 404, "Client not found", ""},
				{"GET", "/dashboard", map[string]any{"clientId": client}, 404, "Client not found", ""},
			},
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
				r := e.do(p.method, p.path, bob, p.body)
				if r.status != p.status || (p.msg != "" && r.body["message"] != p.msg) {
					t.Errorf("%s %s as another developer: got %d %s, want %d %q", p.method, p.path, r.status, r.raw, p.status, p.msg)
				}
				if p.emptyList != "" && (len(r.list(p.emptyList)) != 0 || r.body["total"] != 0.0) {
					t.Errorf("%s %s as another developer shows %s", p.method, p.path, r.raw)
				}
			}
		}
		for route := range probes {
			if !contains(e.routes(), route) {
				t.Errorf("the isolation table names %q, which is not a route", route)
			}
		}
		if after := snapshot(); after != before {
			t.Fatalf("another developer changed the first one's data:\nbefore %s\nafter  %s", before, after)
		}
	})
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
