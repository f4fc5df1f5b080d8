package server_test

import (
	"encoding/json"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"testing"
)

// openAPIDoc is the part of an OpenAPI 3.1 document the tests read.
type openAPIDoc struct {
	OpenAPI    string                              `json:"openapi"`
	Paths      map[string]map[string]openAPIOp     `json:"paths"`
	Components struct{ Schemas map[string]schema } `json:"components"`
}

type openAPIOp struct {
	Responses map[string]struct {
		Content map[string]struct {
			Schema schema `json:"schema"`
		} `json:"content"`
	} `json:"responses"`
	Parameters []struct {
		Name string `json:"name"`
		In   string `json:"in"`
	} `json:"parameters"`
}

// schema is the JSON Schema subset the document uses.
type schema struct {
	Ref        string            `json:"$ref"`
	Type       any               `json:"type"`
	Properties map[string]schema `json:"properties"`
	Required   []string          `json:"required"`
	Items      *schema           `json:"items"`
	Enum       []any             `json:"enum"`
	Const      any               `json:"const"`
	AllOf      []schema          `json:"allOf"`
}

func loadOpenAPI(t *testing.T, e *env) openAPIDoc {
	t.Helper()
	r := e.do("GET", "/openapi.json", "", nil).want(t, 200, "")
	var doc openAPIDoc
	if err := json.Unmarshal(r.raw, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.OpenAPI != "3.1.0" {
		t.Fatalf("openapi %q, want 3.1.0", doc.OpenAPI)
	}
	return doc
}

// patternToPath turns a mux pattern into its OpenAPI method and path.
func patternToPath(p string) (string, string) {
	method, path, _ := strings.Cut(p, " ")
	return strings.ToLower(method), strings.ReplaceAll(path, "{$}", "")
}

// TestOpenAPICoversEveryRoute: every route is documented, with its path
// parameters, and every documented operation is a route.
func TestOpenAPICoversEveryRoute(t *testing.T) {
	e := newEnv(t, storeSQLite(t))
	doc := loadOpenAPI(t, e)
	routes := map[string]bool{}
	for _, p := range e.routes() {
		method, path := patternToPath(p)
		if !strings.HasPrefix(path, "/app") { // the dashboard's pages are not API
			routes[method+" "+path] = true
		}
	}
	for r := range routes {
		method, path, _ := strings.Cut(r, " ")
		op, ok := doc.Paths[path][method]
		if !ok {
			t.Errorf("route %s is not in openapi.json", r)
			continue
		}
		declared := map[string]bool{}
		for _, prm := range op.Parameters {
			if prm.In == "path" {
				declared[prm.Name] = true
			}
		}
		for _, seg := range strings.Split(path, "/") {
			if strings.HasPrefix(seg, "{") && !declared[strings.Trim(seg, "{}")] {
				t.Errorf("%s: path parameter %s is not declared", r, seg)
			}
		}
		if len(op.Responses) == 0 {
			t.Errorf("%s documents no responses", r)
		}
	}
	var extra []string
	for path, ops := range doc.Paths {
		for method := range ops {
			if !routes[method+" "+path] {
				extra = append(extra, method+" "+path)
			}
		}
	}
	sort.Strings(extra)
	if len(extra) > 0 {
		t.Errorf("openapi.json documents operations that are not routes: %v", extra)
	}
}

// check reports where v departs from s.
func (d openAPIDoc) check(s schema, v any, at string) []string {
	if s.Ref != "" {
		return d.check(d.Components.Schemas[strings.TrimPrefix(s.Ref, "#/components/schemas/")], v, at)
	}
	var errs []string
	for _, sub := range s.AllOf {
		errs = append(errs, d.check(sub, v, at)...)
	}
	if s.Const != nil && fmt.Sprint(s.Const) != fmt.Sprint(v) {
		errs = append(errs, fmt.Sprintf("%s: %v, want %v", at, v, s.Const))
	}
	if s.Enum != nil {
		found := false
		for _, x := range s.Enum {
			found = found || fmt.Sprint(x) == fmt.Sprint(v)
		}
		if !found {
			errs = append(errs, fmt.Sprintf("%s: %v not in %v", at, v, s.Enum))
		}
	}
	if s.Type != nil && !typeMatches(s.Type, v) {
		return append(errs, fmt.Sprintf("%s: %T does not match type %v", at, v, s.Type))
	}
	switch x := v.(type) {
	case map[string]any:
		for _, r := range s.Required {
			if _, ok := x[r]; !ok {
				errs = append(errs, fmt.Sprintf("%s: required member %q missing", at, r))
			}
		}
		for k, sub := range s.Properties {
			if val, ok := x[k]; ok {
				errs = append(errs, d.check(sub, val, at+"."+k)...)
			}
		}
	case []any:
		if s.Items != nil {
			for i, item := range x {
				errs = append(errs, d.check(*s.Items, item, fmt.Sprintf("%s[%d]", at, i))...)
			}
		}
	}
	return errs
}

func typeMatches(t any, v any) bool {
	types := []string{}
	switch x := t.(type) {
	case string:
		types = append(types, x)
	case []any:
		for _, s := range x {
			types = append(types, fmt.Sprint(s))
		}
	}
	for _, ty := range types {
		switch ty {
		case "object":
			if _, ok := v.(map[string]any); ok {
				return true
			}
		case "array":
			if _, ok := v.([]any); ok {
				return true
			}
		case "string":
			if _, ok := v.(string); ok {
				return true
			}
		case "integer":
			if f, ok := v.(float64); ok && f == float64(int64(f)) {
				return true
			}
		case "number":
			if _, ok := v.(float64); ok {
				return true
			}
		case "boolean":
			if _, ok := v.(bool); ok {
				return true
			}
		case "null":
			if v == nil {
				return true
			}
		}
	}
	return false
}

// TestOpenAPIMatchesAnswers drives every operation and checks each answer
// against the schema documented for its route and status.
func TestOpenAPIMatchesAnswers(t *testing.T) {
	e := newEnv(t, storeSQLite(t))
	doc := loadOpenAPI(t, e)
	checked := map[string]bool{}
	call := func(method, route, path, token string, body any) response {
		t.Helper()
		r := e.do(method, path, token, body)
		status := fmt.Sprint(r.status)
		resp, ok := doc.Paths[route][strings.ToLower(method)].Responses[status]
		if !ok {
			t.Errorf("%s %s answered %d, which openapi.json does not document", method, route, r.status)
			return r
		}
		media, ok := resp.Content["application/json"]
		if !ok {
			return r
		}
		var v any
		if err := json.Unmarshal(r.raw, &v); err != nil {
			t.Errorf("%s %s: %v", method, path, err)
			return r
		}
		for _, problem := range doc.check(media.Schema, v, method+" "+route+" "+status) {
			t.Error(problem)
		}
		checked[strings.ToLower(method)+" "+route] = true
		return r
	}
	key := url.PathEscape
	call("GET", "/", "/", "", nil)
	call("GET", "/healthz", "/healthz", "", nil)
	call("GET", "/readyz", "/readyz", "", nil)
	call("GET", "/auth/signup", "/auth/signup", "", nil)
	call("POST", "/auth/signup", "/auth/signup", "", map[string]any{"name": "Ada", "email": "ada@example.com", "password": "correct horse", "confirm_password": "correct horse"})
	call("POST", "/auth/signup", "/auth/signup", "", map[string]any{})
	tok := call("POST", "/auth/login", "/auth/login", "", map[string]any{"email": "ada@example.com", "password": "correct horse"}).str("token")
	call("POST", "/auth/login", "/auth/login", "", map[string]any{"email": "ada@example.com", "password": "wrong"})
	me := call("GET", "/auth/me", "/auth/me", tok, nil).obj("user")["_id"].(string)
	call("GET", "/auth/users", "/auth/users", tok, nil)
	call("PATCH", "/auth/users/{id}", "/auth/users/"+me, tok, map[string]any{"name": "Ada L."})
	// A password change ends every earlier token and answers a fresh one.
	tok = call("PATCH", "/auth/password", "/auth/password", tok, map[string]any{"currentPassword": "correct horse", "password": "correct horse", "confirm_password": "correct horse"}).str("token")
	tok = call("POST", "/auth/refresh", "/auth/refresh", tok, nil).str("token")
	call("POST", "/auth/refresh", "/auth/refresh", "", nil)
	call("POST", "/auth/signup", "/auth/signup", "", map[string]any{"name": "Bob", "email": "bob@example.com", "password": "correct horse", "confirm_password": "correct horse"})
	bob := call("POST", "/auth/login", "/auth/login", "", map[string]any{"email": "bob@example.com", "password": "correct horse"})
	call("DELETE", "/auth/users/{id}", "/auth/users/"+me, bob.str("token"), nil)
	call("DELETE", "/auth/users/{id}", "/auth/users/"+me, tok, nil)
	call("DELETE", "/auth/users/{id}", "/auth/users/"+bob.str("userId"), tok, nil)
	call("DELETE", "/auth/users/{id}", "/auth/users/"+bob.str("userId"), tok, nil)
	client := call("POST", "/clients", "/clients", tok, map[string]any{"name": "Acme", "email": "acme@example.com"}).obj("client")["_id"].(string)
	call("POST", "/clients", "/clients", tok, map[string]any{"name": "Acme", "email": "bad"})
	call("POST", "/clients", "/clients", tok, map[string]any{"name": "Acme", "email": "acme@example.com"})
	call("GET", "/clients", "/clients", tok, nil)
	apiToken := call("POST", "/tokens", "/tokens", tok, map[string]any{"name": "ci", "scope": "read", "expiresAt": "2030-01-01T00:00:00Z"})
	call("POST", "/tokens", "/tokens", tok, map[string]any{"name": "", "scope": "root"})
	call("GET", "/tokens", "/tokens", tok, nil)
	call("GET", "/tokens", "/tokens", apiToken.str("token"), nil)
	call("GET", "/clients", "/clients", apiToken.str("token"), nil)
	call("POST", "/clients", "/clients", apiToken.str("token"), map[string]any{"name": "Acme", "email": "acme@example.com"})
	call("DELETE", "/tokens/{id}", "/tokens/"+apiToken.obj("apiToken")["_id"].(string), tok, nil)
	call("DELETE", "/tokens/{id}", "/tokens/"+apiToken.obj("apiToken")["_id"].(string), tok, nil)
	call("GET", "/clients", "/clients", apiToken.str("token"), nil)
	call("GET", "/clients/{id}", "/clients/"+client, tok, nil)
	call("PATCH", "/clients/{id}", "/clients/"+client, tok, map[string]any{"name": "Acme Inc"})
	r := call("POST", "/projects/createProject", "/projects/createProject", tok, map[string]any{"clientId": client, "projectName": "Web", "duration": 3, "services": []string{"Hosting"}})
	project, lk := r.obj("project")["_id"].(string), r.obj("license")["key"].(string)
	bare := call("POST", "/projects", "/projects", tok, map[string]any{"clientId": client, "name": "Bare"}).obj("project")["_id"].(string)
	call("GET", "/projects", "/projects", tok, nil)
	call("GET", "/projects/{id}", "/projects/"+project, tok, nil)
	call("PATCH", "/projects/{id}", "/projects/"+project, tok, map[string]any{"name": "Website"})
	call("GET", "/projects/{id}/policy", "/projects/"+project+"/policy", tok, nil)
	call("PATCH", "/projects/{id}/policy", "/projects/"+project+"/policy", tok, map[string]any{"requireMachineId": true})
	call("PATCH", "/projects/{id}/policy", "/projects/"+project+"/policy", tok, map[string]any{"requireMachineId": "yes"})
	call("PATCH", "/projects/{id}/policy", "/projects/"+project+"/policy", tok, map[string]any{"requireMachineId": false})
	call("PATCH", "/projects/{id}/policy", "/projects/"+project+"/policy", tok, map[string]any{"duration": 6, "maxMachines": 3, "leaseSeconds": 600, "entitlements": []string{"pro"}})
	call("PATCH", "/projects/{id}/policy", "/projects/"+project+"/policy", tok, map[string]any{"duration": 13, "leaseSeconds": 1})
	call("POST", "/projects/createProject", "/projects/createProject", tok, map[string]any{"clientId": client, "projectName": "Floating", "services": []string{"Hosting"},
		"policy": map[string]any{"duration": 12, "leaseSeconds": 300, "entitlements": []string{"pro"}}})
	call("POST", "/projects/createProject", "/projects/createProject", tok, map[string]any{"clientId": client, "projectName": "Bad", "duration": 1, "services": []string{"Hosting"},
		"policy": map[string]any{"maxMachines": 0}})
	call("POST", "/license/create", "/license/create", tok, map[string]any{"duration": 1, "clientId": client, "projectId": project, "key": "IMPORTED-1"})
	call("GET", "/license", "/license", tok, nil)
	call("GET", "/license/me", "/license/me", tok, nil)
	call("GET", "/license/user/{id}", "/license/user/"+me, tok, nil)
	call("PATCH", "/license/{key}", "/license/"+key(lk), tok, map[string]any{"maxMachines": 2})
	call("POST", "/validate", "/validate", "", map[string]any{"key": lk, "machineId": "m"})
	call("POST", "/license/", "/license/", "", map[string]any{"key": "nope"})
	call("POST", "/validate/activate", "/validate/activate", "", map[string]any{"key": lk, "machineId": "m", "nonce": "openapi-nonce"})
	call("POST", "/license/activate", "/license/activate", "", map[string]any{"key": lk, "machineId": "m"})
	call("POST", "/license/activate", "/license/activate", "", map[string]any{"key": "nope"})
	call("POST", "/validate/checkout", "/validate/checkout", "", map[string]any{"key": lk, "machineId": "m"})
	call("POST", "/validate/heartbeat", "/validate/heartbeat", "", map[string]any{"key": lk, "machineId": "m"})
	call("POST", "/validate/heartbeat", "/validate/heartbeat", "", map[string]any{"key": lk, "machineId": "stranger"})
	call("POST", "/validate/heartbeat", "/validate/heartbeat", "", map[string]any{"key": "nope"})
	call("PATCH", "/license/{key}", "/license/"+key(lk), tok, map[string]any{"leaseSeconds": 300, "entitlements": []string{"pro"}, "metadata": map[string]any{"plan": "gold"}})
	call("POST", "/validate/heartbeat", "/validate/heartbeat", "", map[string]any{"key": lk, "machineId": "m"})
	call("POST", "/validate", "/validate", "", map[string]any{"key": lk, "machineId": "m", "entitlements": []string{"pro"}})
	call("POST", "/validate", "/validate", "", map[string]any{"key": lk, "machineId": "m", "entitlements": []string{"pro", "sso"}})
	call("POST", "/validate", "/validate", "", map[string]any{"key": lk, "machineId": "m", "entitlements": "pro"})
	call("POST", "/validate/activate", "/validate/activate", "", map[string]any{"key": lk, "machineId": "m"})
	call("PATCH", "/license/{key}", "/license/"+key(lk), tok, map[string]any{"leaseSeconds": 5})
	call("GET", "/validate/public-keys", "/validate/public-keys", "", nil)
	acts := call("GET", "/license/{key}", "/license/"+key(lk), tok, nil).list("activations")
	call("POST", "/validate", "/validate", "", map[string]any{"key": lk, "machineId": "m"})
	call("POST", "/license/renew/{key}", "/license/renew/"+key(lk), tok, map[string]any{"duration": 1})
	call("PATCH", "/license/renew/{key}", "/license/renew/"+key(lk), tok, nil)
	call("GET", "/dashboard", "/dashboard", tok, nil)
	call("GET", "/dashboard/stats", "/dashboard/stats", tok, nil)
	call("PATCH", "/license/revoke/{key}", "/license/revoke/"+key(lk), tok, nil)
	call("POST", "/validate", "/validate", "", map[string]any{"key": lk, "machineId": "m"})
	call("PATCH", "/license/revoke/{key}", "/license/revoke/"+key(lk), tok, nil)
	call("DELETE", "/license/{key}/activations/{activationId}", "/license/"+key(lk)+"/activations/"+acts[0].(map[string]any)["_id"].(string), tok, nil)
	call("POST", "/validate/deactivate", "/validate/deactivate", "", map[string]any{"key": lk, "machineId": "m"})
	call("DELETE", "/projects/{id}", "/projects/"+bare, tok, nil)
	call("DELETE", "/clients/{id}", "/clients/"+client, tok, nil)
	call("DELETE", "/clients/{id}", "/clients/"+client+"?cascade=true", tok, nil)
	call("GET", "/openapi.json", "/openapi.json", "", nil)
	hook := call("POST", "/webhooks", "/webhooks", tok, map[string]any{"url": "http://127.0.0.1:1/hook", "events": []string{"*"}}).obj("webhook")["_id"].(string)
	call("POST", "/webhooks", "/webhooks", tok, map[string]any{"url": "gopher://x", "events": []string{"*"}})
	call("GET", "/webhooks", "/webhooks", tok, nil)
	call("GET", "/webhooks/{id}", "/webhooks/"+hook, tok, nil)
	call("GET", "/webhooks/{id}", "/webhooks/nope", tok, nil)
	call("PATCH", "/webhooks/{id}", "/webhooks/"+hook, tok, map[string]any{"description": "billing", "events": []string{"license.revoked"}})
	call("PATCH", "/webhooks/{id}", "/webhooks/"+hook, tok, map[string]any{"events": []string{"nothing.happened"}})
	tested := call("POST", "/webhooks/{id}/test", "/webhooks/"+hook+"/test", tok, nil).obj("delivery")["_id"].(string)
	if _, err := e.worker.Drain(t.Context()); err != nil {
		t.Fatal(err)
	}
	call("GET", "/webhooks/{id}/deliveries", "/webhooks/"+hook+"/deliveries", tok, nil)
	retry := "/webhooks/{id}/deliveries/{deliveryId}/retry"
	call("POST", retry, "/webhooks/"+hook+"/deliveries/"+tested+"/retry", tok, nil) // refused by the closed port: waiting, so retried now
	call("POST", retry, "/webhooks/"+hook+"/deliveries/nope/retry", tok, nil)
	call("POST", retry, "/webhooks/nope/deliveries/"+tested+"/retry", tok, nil)
	call("GET", "/events", "/events", tok, nil)
	call("GET", "/events", "/events?type=license.*&limit=5", tok, nil)
	call("GET", "/events", "/events?since=yesterday", tok, nil)
	call("DELETE", "/webhooks/{id}", "/webhooks/"+hook, tok, nil)
	call("DELETE", "/webhooks/{id}", "/webhooks/"+hook, tok, nil)
	call("POST", "/auth/logout-all", "/auth/logout-all", tok, nil)
	call("POST", "/auth/logout-all", "/auth/logout-all", tok, nil)
	call("GET", "/auth/providers", "/auth/providers", "", nil)
	call("POST", "/auth/exchange", "/auth/exchange", "", map[string]any{"code": "unknown"})
	call("POST", "/auth/exchange", "/auth/exchange", "", map[string]any{})
	for path, ops := range doc.Paths {
		for method, op := range ops {
			if _, json := op.Responses["200"].Content["application/json"]; json && !checked[method+" "+path] {
				if _, created := op.Responses["201"]; !created {
					t.Errorf("%s %s: no answer of it was checked against its schema", method, path)
				}
			}
		}
	}
}

// TestSchemaCheckerCatchesDrift: the checker used above does find an answer
// that departs from the document.
func TestSchemaCheckerCatchesDrift(t *testing.T) {
	e := newEnv(t, storeSQLite(t))
	doc := loadOpenAPI(t, e)
	license := map[string]any{"_id": "x", "duration": "three", "status": "LOST", "services": []any{"Hosting"}}
	problems := doc.check(schema{Ref: "#/components/schemas/License"}, license, "license")
	joined := strings.Join(problems, "\n")
	for _, want := range []string{`required member "key" missing`, "license.duration", "license.status"} {
		if !strings.Contains(joined, want) {
			t.Errorf("drift not reported: %q in\n%s", want, joined)
		}
	}
}
