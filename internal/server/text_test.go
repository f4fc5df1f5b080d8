package server_test

import (
	"testing"

	"github.com/keyboxhq/keybox/internal/licensing"
)

// TestTextThatIsNotText: NUL and invalid UTF-8 in a path, a query string or
// a JSON body (raw bytes as well as escapes, which encoding/json would
// silently turn into NUL or U+FFFD) get the endpoint's 400 on every engine,
// and nothing is stored. A member that an endpoint judges by its own rules
// gets its usual message for a value of the wrong type; anything else is a
// "Validation error" naming the member, parameter or path segment (inside
// the public API's envelope there). Valid text, however unusual, is kept.
func TestTextThatIsNotText(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		adaID, token := e.developer("ada@example.com")
		client := e.client(token, "Acme", "acme@example.com")
		project, key := e.projectWithLicense(token, client, "Website")
		e.do("POST", "/validate/activate", "", map[string]any{"key": key, "machineId": "m1"}).want(t, 200, "License activated successfully")
		snapshot := func() string {
			return string(e.do("GET", "/dashboard", token, nil).want(t, 200, "").raw) +
				string(e.do("GET", "/license/"+key, token, nil).want(t, 200, "").raw) +
				string(e.do("GET", "/auth/users", token, nil).want(t, 200, "").raw)
		}
		before := snapshot()

		const validation = "Validation error"
		cases := []struct {
			name         string
			method, path string
			auth         bool
			body         string
			status       int
			msg          string
			field        string // the member of "errors", for a validation error
			envelope     string // "valid" or "success" on the public API
		}{
			{"NUL in a path key", "GET", "/license/%00", true, "", 400, validation, "key", ""},
			{"NUL inside a path id", "GET", "/clients/ab%00cd", true, "", 400, validation, "id", ""},
			{"invalid UTF-8 in a path id", "PATCH", "/projects/%FF", true, `{"name":"x"}`, 400, validation, "id", ""},
			{"a UTF-8 encoded surrogate in a path", "DELETE", "/license/" + key + "/activations/%ED%A0%80", true, "", 400, validation, "activationId", ""},
			{"invalid UTF-8 in a query", "GET", "/clients?q=%FF", true, "", 400, validation, "q", ""},
			{"NUL in a query", "GET", "/projects?clientId=%00", true, "", 400, validation, "clientId", ""},
			{"NUL in a status filter", "GET", "/license?status=ACTIVE%00", true, "", 400, validation, "status", ""},
			{"NUL in a parameter name", "GET", "/clients?%00=1", true, "", 400, validation, "query", ""},
			{"no route: the usual 404", "GET", "/nowhere%00", false, "", 404, "Not found", "", ""},

			{"NUL key on /validate", "POST", "/validate", false, `{"key":"\u0000"}`, 400, validation, "key", "valid"},
			{"NUL machine on activate", "POST", "/validate/activate", false, `{"key":"` + key + `","machineId":"m\u00001"}`, 400, validation, "machineId", "success"},
			{"raw invalid UTF-8 on /license/", "POST", "/license/", false, "{\"key\":\"" + key + "\",\"instanceId\":\"\xff\"}", 400, validation, "instanceId", "valid"},
			{"half a surrogate pair on deactivate", "POST", "/validate/deactivate", false, `{"key":"` + key + `","machineId":"m1","productName":"\udc00"}`, 400, validation, "productName", "success"},

			{"NUL in a client name", "POST", "/clients", true, `{"name":"a\u0000b","email":"b@example.com"}`, 400, validation, "name", ""},
			{"raw invalid UTF-8 in a client email", "POST", "/clients", true, "{\"name\":\"B\",\"email\":\"b\xc3@example.com\"}", 400, validation, "email", ""},
			{"an unpaired surrogate in a client name", "PATCH", "/clients/" + client, true, `{"name":"\ud800x"}`, 400, validation, "name", ""},
			{"NUL in a member no endpoint reads", "POST", "/clients", true, `{"name":"C","email":"c@example.com","note":"\u0000"}`, 400, validation, "note", ""},
			{"NUL in a member name", "POST", "/clients", true, `{"name":"C","email":"c@example.com","\u0000":1}`, 400, validation, "body", ""},
			{"invalid UTF-8 in a project name", "PATCH", "/projects/" + project, true, "{\"name\":\"caf\xc3\"}", 400, validation, "name", ""},
			{"NUL in a login email", "POST", "/auth/login", false, `{"email":"ada\u0000@example.com","password":"correct horse"}`, 400, "Email and password are required", "", ""},
			{"NUL in a signup name", "POST", "/auth/signup", false, `{"name":"\u0000","email":"new@example.com","password":"correct horse","confirm_password":"correct horse"}`, 400, "All fields are required", "", ""},
			{"NUL in a project name", "POST", "/projects/createProject", true, `{"clientId":"` + client + `","projectName":"P\u0000","duration":1,"services":["Hosting"]}`, 400, "Client ID & Project name required", "", ""},
			{"NUL in a body id: a missing client", "POST", "/license/create", true, `{"duration":1,"clientId":"\u0000","projectId":"` + project + `"}`, 404, "Client not found", "", ""},
			{"NUL in the dashboard's body id", "GET", "/dashboard", true, `{"clientId":"` + client + `\u0000"}`, 404, "Client not found", "", ""},
			{"NUL in an imported key", "POST", "/license/create", true, `{"duration":1,"clientId":"` + client + `","projectId":"` + project + `","key":"KEY-\u0000-1"}`, 400, "Invalid license key: use 4 to 128 printable characters without spaces", "", ""},
			{"NUL in a user's name", "PATCH", "/auth/users/" + adaID, true, `{"name":"\u0000"}`, 400, "Name must be a non-empty string of at most 200 characters", "", ""},
		}
		for _, tc := range cases {
			tok := ""
			if tc.auth {
				tok = token
			}
			var body any
			if tc.body != "" {
				body = tc.body
			}
			r := e.do(tc.method, tc.path, tok, body)
			if r.status != tc.status || (tc.msg != "" && r.body["message"] != tc.msg) {
				t.Errorf("%s: got %d %.300s, want %d %q", tc.name, r.status, r.raw, tc.status, tc.msg)
				continue
			}
			if tc.field != "" {
				errs, _ := r.body["errors"].(map[string]any)
				if len(errs) != 1 || errs[tc.field] != licensing.ReasonNotText || r.body["details"] != tc.field+" "+licensing.ReasonNotText+"." {
					t.Errorf("%s: got %s, want errors naming %q only", tc.name, r.raw, tc.field)
				}
			}
			if tc.envelope != "" && r.body[tc.envelope] != false {
				t.Errorf("%s: got %s, want %q: false", tc.name, r.raw, tc.envelope)
			}
		}
		if after := snapshot(); after != before {
			t.Fatalf("text that is not text changed something:\nbefore %s\nafter  %s", before, after)
		}

		// Valid text is text, whatever it looks like: an escaped backslash
		// before "u0000", a replacement character sent as such, a pair of
		// surrogate escapes, a right-to-left mark.
		name := "Café \\u0000 \ufffd \U0001F4A5 \u200f"
		r := e.do("POST", "/clients", token, `{"name":"Café \\u0000 \ufffd \ud83d\udca5 \u200f","email":"cafe@example.com"}`).
			want(t, 201, "Client created successfully")
		if got := r.obj("client")["name"]; got != name {
			t.Fatalf("name read back as %q, want %q", got, name)
		}
		id := r.obj("client")["_id"].(string)
		if got := e.do("GET", "/clients/"+id, token, nil).want(t, 200, "").obj("client")["name"]; got != name {
			t.Fatalf("name stored as %q, want %q", got, name)
		}
		e.do("GET", "/clients?q=%E2%80%8F", token, nil).want(t, 200, "")
		e.do("GET", "/license/%EF%BF%BD", token, nil).want(t, 404, "License not found")
	})
}
