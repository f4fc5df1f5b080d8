package server_test

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestCreateClient(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		_, token := e.developer("ada@example.com")
		long := strings.Repeat("n", 201)
		// POST /clients: each rule in the order it is checked.
		cases := []struct {
			name   string
			body   any
			status int
			msg    string
			errors map[string]any
		}{
			{"missing name", map[string]any{"email": "acme@example.com"}, 400, "Client name required", nil},
			{"blank name before email", map[string]any{"name": "  ", "email": ""}, 400, "Client name required", nil},
			{"missing email", map[string]any{"name": "Acme"}, 400, "Client email required", nil},
			{"empty email", map[string]any{"name": "Acme", "email": " "}, 400, "Client email required", nil},
			{"invalid email", map[string]any{"name": "Acme", "email": "not-an-email"}, 400, "Validation error", map[string]any{"email": "must be a valid email address"}},
			{"name of wrong type", map[string]any{"name": 42, "email": "acme@example.com"}, 400, "Validation error", map[string]any{"name": "must be a string"}},
			{"email of wrong type", map[string]any{"name": "Acme", "email": []string{"a@b.co"}}, 400, "Validation error", map[string]any{"email": "must be a string"}},
			{"name too long", map[string]any{"name": long, "email": "acme@example.com"}, 400, "Validation error", map[string]any{"name": "must be at most 200 characters"}},
			{"both wrong", map[string]any{"name": long, "email": "x@"}, 400, "Validation error", map[string]any{"name": "must be at most 200 characters", "email": "must be a valid email address"}},
			{"created", map[string]any{"name": " Acme Corp ", "email": " Billing@ACME.com "}, 201, "Client created successfully", nil},
			{"duplicate email, any case", map[string]any{"name": "Other", "email": "billing@acme.COM"}, 409, "Client with this email already exists", nil},
		}
		for _, tc := range cases {
			r := e.do("POST", "/clients", token, tc.body)
			if r.status != tc.status || r.body["message"] != tc.msg {
				t.Errorf("%s: got %d %s, want %d %q", tc.name, r.status, r.raw, tc.status, tc.msg)
				continue
			}
			if tc.errors != nil {
				if fmt.Sprint(r.body["errors"]) != fmt.Sprint(tc.errors) {
					t.Errorf("%s: errors %v, want %v", tc.name, r.body["errors"], tc.errors)
				}
				if d, _ := r.body["details"].(string); d == "" || !strings.HasSuffix(d, ".") {
					t.Errorf("%s: details %q, want one sentence", tc.name, d)
				}
			}
			if tc.status == 409 && r.body["field"] != "email" {
				t.Errorf("%s: field %v, want email", tc.name, r.body["field"])
			}
			if tc.status == 201 {
				golden(t, "client_created", r.raw)
			}
		}
		// Without a token: the authentication answers.
		e.do("POST", "/clients", "", map[string]any{"name": "A", "email": "a@example.com"}).want(t, 401, "No token provided")
		// Another developer may have the same customer.
		_, bob := e.developer("bob@example.com")
		e.do("POST", "/clients", bob, map[string]any{"name": "Acme", "email": "billing@acme.com"}).want(t, 201, "Client created successfully")
		r := e.do("GET", "/clients", token, nil).want(t, 200, "")
		if r.body["total"] != 1.0 {
			t.Fatalf("ada has %v clients, want 1 (failed creates leave nothing)", r.body["total"])
		}
	})
}

func TestClientListGetPatchDelete(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		_, token := e.developer("ada@example.com")
		var ids []string
		for i := range 25 {
			ids = append(ids, e.client(token, fmt.Sprintf("Customer %02d", i), fmt.Sprintf("c%02d@example.com", i)))
			e.clock.Add(time.Second)
		}
		r := e.do("GET", "/clients?limit=10&page=2", token, nil).want(t, 200, "")
		if r.body["total"] != 25.0 || r.body["page"] != 2.0 || r.body["limit"] != 10.0 || len(r.list("clients")) != 10 {
			t.Fatalf("page 2: %s", r.raw)
		}
		if first := r.list("clients")[0].(map[string]any)["_id"]; first != ids[14] {
			t.Fatalf("page 2 starts with %v, want %s (newest first)", first, ids[14])
		}
		r = e.do("GET", "/clients", token, nil).want(t, 200, "")
		if r.body["limit"] != 20.0 || r.body["page"] != 1.0 || len(r.list("clients")) != 20 {
			t.Fatalf("defaults: %s", r.raw[:120])
		}
		r = e.do("GET", "/clients?limit=500", token, nil).want(t, 200, "")
		if r.body["limit"] != 100.0 {
			t.Fatalf("limit 500 → %v, want 100", r.body["limit"])
		}
		r = e.do("GET", "/clients?q=C2", token, nil).want(t, 200, "")
		if r.body["total"] != 5.0 {
			t.Fatalf("q=C2: total %v, want 5 (c20-c24)", r.body["total"])
		}
		for _, q := range []string{"page=0", "limit=-1", "page=x"} {
			e.do("GET", "/clients?"+q, token, nil).want(t, 400, pagingMessage)
		}

		r = e.do("GET", "/clients/"+ids[0], token, nil).want(t, 200, "")
		golden(t, "client_get", r.raw)
		e.do("GET", "/clients/nope", token, nil).want(t, 404, "Client not found")

		r = e.do("PATCH", "/clients/"+ids[0], token, map[string]any{"name": "Renamed"}).want(t, 200, "Client updated successfully")
		if c := r.obj("client"); c["name"] != "Renamed" || c["email"] != "c00@example.com" {
			t.Fatalf("patch name: %s", r.raw)
		}
		e.do("PATCH", "/clients/"+ids[0], token, map[string]any{"email": "C01@example.com"}).want(t, 409, "Client with this email already exists")
		e.do("PATCH", "/clients/"+ids[0], token, map[string]any{"email": "bad"}).want(t, 400, "Validation error")
		e.do("PATCH", "/clients/"+ids[0], token, map[string]any{"name": ""}).want(t, 400, "Client name required")
		e.do("PATCH", "/clients/"+ids[0], token, map[string]any{"email": "new@example.com"}).want(t, 200, "Client updated successfully")

		// The cascade rule: a client with projects stays unless ?cascade=true.
		_, key := e.projectWithLicense(token, ids[0], "Website")
		e.do("DELETE", "/clients/"+ids[0], token, nil).want(t, 409, "Client has projects; delete them first or pass ?cascade=true")
		e.do("GET", "/license/"+key, token, nil).want(t, 200, "")
		e.do("DELETE", "/clients/"+ids[0]+"?cascade=true", token, nil).want(t, 200, "Client deleted successfully")
		e.do("GET", "/clients/"+ids[0], token, nil).want(t, 404, "Client not found")
		e.do("GET", "/license/"+key, token, nil).want(t, 404, "License not found")
		e.do("DELETE", "/clients/"+ids[1], token, nil).want(t, 200, "Client deleted successfully")
		e.do("DELETE", "/clients/"+ids[1], token, nil).want(t, 404, "Client not found")
	})
}
