package server_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/keyboxhq/keybox/internal/server"
)

// samplePath fills a route pattern's wildcards with well-formed values that
// name nothing, so that a request reaches the route's handler.
func samplePath(pattern string) (method, path string) {
	method, path, _ = strings.Cut(pattern, " ")
	path = strings.TrimSuffix(path, "{$}")
	for _, w := range []string{"{id}", "{activationId}"} {
		path = strings.ReplaceAll(path, w, "000000000000000000000000")
	}
	return method, strings.ReplaceAll(path, "{key}", "KB-NONE")
}

// accountRoutes are the routes of account, user and token administration:
// a login token reaches them, an API token never does.
var accountRoutes = map[string]bool{
	"GET /auth/users":         true,
	"PATCH /auth/users/{id}":  true,
	"DELETE /auth/users/{id}": true,
	"PATCH /auth/password":    true,
	"POST /auth/refresh":      true,
	"POST /auth/logout-all":   true,
	"POST /tokens":            true,
	"GET /tokens":             true,
	"DELETE /tokens/{id}":     true,
}

// TestRouteAccess: the access each route declares is what it enforces. A
// route that needs a login token refuses a request without one, or with a
// token that does not verify; a public route never asks for one. Reads are
// GETs, everything else writes, and the account routes are exactly those
// listed above. API tokens, walked over every route: a read token gets 403
// "Token scope does not allow this" on each route that is not a read and
// never on a read; a write token gets it exactly on the account routes.
func TestRouteAccess(t *testing.T) {
	e := newEnv(t, storeSQLite(t))
	_, login := e.developer("ada@example.com") // the first account: an ADMIN, whom no route refuses for its role
	readToken, writeToken := e.apiToken(login, "read"), e.apiToken(login, "write")
	unknownToken := "kbx_" + strings.Repeat("a", 48)
	for _, rt := range e.server.RouteTable() {
		method, path := samplePath(rt.Pattern)
		var body any
		if rt.Body {
			body = "{}"
		}
		switch rt.Access {
		case server.AccessPublic:
			if r := e.do(method, path, "", body); r.status == 401 {
				t.Errorf("%s is public but answered %d %s", rt.Pattern, r.status, r.raw)
			}
			continue
		case server.AccessAccount:
			if !accountRoutes[rt.Pattern] {
				t.Errorf("%s is account administration, which the test does not list", rt.Pattern)
			}
		case server.AccessRead:
			if method != "GET" {
				t.Errorf("%s reads but is not a GET", rt.Pattern)
			}
		case server.AccessWrite:
			if method == "GET" {
				t.Errorf("%s is a GET but writes", rt.Pattern)
			}
		}
		if rt.Access != server.AccessAccount && accountRoutes[rt.Pattern] {
			t.Errorf("%s is account administration but declares access %v", rt.Pattern, rt.Access)
		}
		if r := e.do(method, path, "", body); r.status != 401 || r.body["message"] != "No token provided" {
			t.Errorf("%s without a token: got %d %s, want 401 No token provided", rt.Pattern, r.status, r.raw)
		}
		if r := e.do(method, path, "forged.token.here", body); r.status != 401 || r.body["message"] != "Unauthorized" {
			t.Errorf("%s with a forged token: got %d %s, want 401 Unauthorized", rt.Pattern, r.status, r.raw)
		}
		if r := e.do(method, path, unknownToken, body); r.status != 401 || r.body["message"] != "Unauthorized" {
			t.Errorf("%s with an unknown API token: got %d %s, want 401 Unauthorized", rt.Pattern, r.status, r.raw)
		}
		for _, tok := range []struct {
			scope, secret string
			refused       bool
		}{
			{"read", readToken, rt.Access != server.AccessRead},
			{"write", writeToken, rt.Access == server.AccessAccount},
		} {
			r := e.do(method, path, tok.secret, body)
			switch {
			case tok.refused && (r.status != 403 || r.body["message"] != "Token scope does not allow this"):
				t.Errorf("%s (%v) with a %s token: got %d %s, want 403 Token scope does not allow this", rt.Pattern, rt.Access, tok.scope, r.status, r.raw)
			case !tok.refused && (r.status == 403 || r.status == 401):
				t.Errorf("%s (%v) with a %s token: got %d %s, want the route's own answer", rt.Pattern, rt.Access, tok.scope, r.status, r.raw)
			}
		}
	}
	// Both tokens still work: nothing the walk did revoked them.
	for _, tok := range []string{readToken, writeToken} {
		e.do("GET", "/auth/me", tok, nil).want(t, 200, "")
	}
}

// TestEveryBodyRefusesBadInput walks every route that reads a JSON body:
// a body that is not a JSON object is "Invalid JSON body", and a member of
// the wrong type or size is never a 500 (an unknown key is still a 200
// "invalid" verdict on /validate). Nothing changes.
func TestEveryBodyRefusesBadInput(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		_, token := e.developer("ada@example.com")
		var doc struct {
			Paths map[string]map[string]struct {
				RequestBody struct {
					Content map[string]struct {
						Schema struct {
							Ref string `json:"$ref"`
						} `json:"schema"`
					} `json:"content"`
				} `json:"requestBody"`
			} `json:"paths"`
			Components struct {
				Schemas map[string]struct {
					Properties map[string]json.RawMessage `json:"properties"`
				} `json:"schemas"`
			} `json:"components"`
		}
		if err := json.Unmarshal(e.do("GET", "/openapi.json", "", nil).want(t, 200, "").raw, &doc); err != nil {
			t.Fatal(err)
		}
		before := string(e.do("GET", "/dashboard", token, nil).want(t, 200, "").raw)
		routes := 0
		for _, rt := range e.server.RouteTable() {
			if !rt.Body {
				continue
			}
			routes++
			method, path := samplePath(rt.Pattern)
			tok := token
			if rt.Access == server.AccessPublic {
				tok = ""
			}
			for _, bad := range []string{`{"key":`, `["a"]`, `"text"`, `{"a":1} {}`} {
				r := e.do(method, path, tok, bad)
				if r.status != 400 || r.body["message"] != "Invalid JSON body" {
					t.Errorf("%s with body %s: got %d %s, want 400 Invalid JSON body", rt.Pattern, bad, r.status, r.raw)
				}
			}
			opPath := strings.TrimSuffix(strings.SplitN(rt.Pattern, " ", 2)[1], "{$}")
			ref := doc.Paths[opPath][strings.ToLower(method)].RequestBody.Content["application/json"].Schema.Ref
			members := doc.Components.Schemas[strings.TrimPrefix(ref, "#/components/schemas/")].Properties
			if len(members) == 0 {
				t.Errorf("%s: the document describes no member of its body", rt.Pattern)
			}
			for name := range members {
				for _, value := range []any{map[string]any{"a": 1}, []any{1, "x"}, 1e300, -1, true, strings.Repeat("é", 5000), "\x00"} {
					r := e.do(method, path, tok, map[string]any{name: value})
					if r.status >= 500 {
						t.Errorf("%s with %s = %.40v: got %d %.200s, want a 4xx", rt.Pattern, name, value, r.status, r.raw)
					}
				}
				// Invalid UTF-8, which json.Marshal would repair: sent as it is.
				for _, value := range []string{"\"\xff\"", "\"caf\xc3\""} {
					r := e.do(method, path, tok, fmt.Sprintf("{%q:%s}", name, value))
					if r.status >= 500 {
						t.Errorf("%s with %s = %q: got %d %.200s, want a 4xx", rt.Pattern, name, value, r.status, r.raw)
					}
				}
			}
		}
		if routes < 15 {
			t.Fatalf("only %d routes read a body", routes)
		}
		if after := string(e.do("GET", "/dashboard", token, nil).want(t, 200, "").raw); after != before {
			t.Fatalf("bad input changed the data:\nbefore %s\nafter  %s", before, after)
		}
		if n, _ := e.store.CountUsers(t.Context()); n != 1 {
			t.Fatalf("bad input made accounts: %d, want 1", n)
		}
	})
}

// TestOpenAPIOperationsFromTable: every route of the API has its operation,
// under the operationId and with the access its table entry declares.
func TestOpenAPIOperationsFromTable(t *testing.T) {
	e := newEnv(t, storeSQLite(t))
	var doc struct {
		Paths map[string]map[string]struct {
			OperationID string                 `json:"operationId"`
			Access      string                 `json:"x-keybox-access"`
			Security    *[]map[string][]string `json:"security"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(e.do("GET", "/openapi.json", "", nil).want(t, 200, "").raw, &doc); err != nil {
		t.Fatal(err)
	}
	for _, rt := range e.server.RouteTable() {
		if rt.OperationID == "" {
			continue // the dashboard's pages
		}
		method, path, _ := strings.Cut(rt.Pattern, " ")
		op := doc.Paths[strings.TrimSuffix(path, "{$}")][strings.ToLower(method)]
		if op.OperationID != rt.OperationID || op.Access != rt.Access.String() {
			t.Errorf("%s: document says %q, %q; table says %q, %q", rt.Pattern, op.OperationID, op.Access, rt.OperationID, rt.Access)
		}
		if public := op.Security != nil && len(*op.Security) == 0; public != (rt.Access == server.AccessPublic) {
			t.Errorf("%s: security %v for access %v", rt.Pattern, op.Security, rt.Access)
		}
	}
	if got := fmt.Sprint(server.AccessPublic, server.AccessAccount, server.AccessRead, server.AccessWrite); got != "public account read write" {
		t.Errorf("access names: %s", got)
	}
}
