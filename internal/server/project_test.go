package server_test

import (
	"context"
	"errors"
	"testing"

	"github.com/keyboxhq/keybox"
)

func TestCreateProjectWithLicense(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		_, token := e.developer("ada@example.com")
		clientID := e.client(token, "Acme", "acme@example.com")
		_, bob := e.developer("bob@example.com")
		bobsClient := e.client(bob, "Bob's", "customer@example.com")
		valid := map[string]any{"clientId": clientID, "projectName": "Website", "duration": 6, "services": []string{"Hosting", "Domain"}}
		ok := func(change map[string]any) map[string]any { return changed(valid, change) }
		// POST /projects/createProject: each rule in the order it is checked.
		cases := []struct {
			name   string
			body   any
			status int
			msg    string
		}{
			{"missing clientId", ok(map[string]any{"clientId": nil, "duration": 0}), 400, "Client ID & Project name required"},
			{"missing projectName", ok(map[string]any{"projectName": ""}), 400, "Client ID & Project name required"},
			{"duration missing", ok(map[string]any{"duration": nil}), 400, "Invalid duration"},
			{"duration 0", ok(map[string]any{"duration": 0, "services": []string{}}), 400, "Invalid duration"},
			{"duration 13", ok(map[string]any{"duration": 13}), 400, "Invalid duration"},
			{"duration 1.5", ok(map[string]any{"duration": 1.5}), 400, "Invalid duration"},
			{"duration text", ok(map[string]any{"duration": "six"}), 400, "Invalid duration"},
			{"services missing", ok(map[string]any{"services": nil}), 400, "At least one service is required"},
			{"services empty", ok(map[string]any{"services": []string{}}), 400, "At least one service is required"},
			{"services unknown", ok(map[string]any{"services": []string{"Email"}}), 400, "At least one service is required"},
			{"services neither a list nor a name", ok(map[string]any{"services": 7}), 400, "At least one service is required"},
			{"services an unknown name", ok(map[string]any{"services": "Email"}), 400, "At least one service is required"},
			{"client unknown", ok(map[string]any{"clientId": "000000000000000000000000"}), 404, "Client not found"},
			{"client malformed", ok(map[string]any{"clientId": "zzz"}), 404, "Client not found"},
			{"client of wrong type", ok(map[string]any{"clientId": 7}), 404, "Client not found"},
			{"another developer's client", ok(map[string]any{"clientId": bobsClient}), 404, "Client not found"},
			{"created", ok(nil), 201, "Project and License created successfully"},
			{"duration as a form string", ok(map[string]any{"duration": "3", "projectName": "App"}), 201, "Project and License created successfully"},
		}
		for _, tc := range cases {
			r := e.do("POST", "/projects/createProject", token, tc.body)
			if r.status != tc.status || r.body["message"] != tc.msg {
				t.Errorf("%s: got %d %s, want %d %q", tc.name, r.status, r.raw, tc.status, tc.msg)
			}
			if tc.name == "created" {
				golden(t, "project_with_license", r.raw)
				l := r.obj("license")
				if l["status"] != "PENDING" || l["project"] != r.obj("project")["_id"] || l["client"] != clientID || l["maxMachines"] != 1.0 {
					t.Errorf("created license: %v", l)
				}
			}
		}
		r := e.do("GET", "/projects?clientId="+clientID, token, nil).want(t, 200, "")
		if r.body["total"] != 2.0 {
			t.Fatalf("got %v projects, want 2: failed creates must leave nothing", r.body["total"])
		}
	})
}

// failLicenseInsert is a real store whose license inserts fail, as a full
// disk or a lost connection would make them.
type failLicenseInsert struct{ keybox.Store }

func (s failLicenseInsert) Update(ctx context.Context, fn func(keybox.Tx) error) error {
	return s.Store.Update(ctx, func(tx keybox.Tx) error { return fn(failingLicenseTx{tx}) })
}

type failingLicenseTx struct{ keybox.Tx }

func (failingLicenseTx) CreateLicense(context.Context, keybox.License) error {
	return errors.New("disk I/O error")
}

func TestCreateProjectLeavesNoOrphan(t *testing.T) {
	forEngine(t, func(t *testing.T, open func(testing.TB) keybox.Store) {
		store := open(t)
		e := newEnv(t, failLicenseInsert{store})
		_, token := e.developer("ada@example.com")
		clientID := e.client(token, "Acme", "acme@example.com")
		r := e.do("POST", "/projects/createProject", token, map[string]any{
			"clientId": clientID, "projectName": "Website", "duration": 1, "services": []string{"Hosting"},
		}).want(t, 500, "Internal server error")
		if r.str("requestId") == "" {
			t.Errorf("no request id in %s", r.raw)
		}
		u, err := store.UserByEmail(t.Context(), "ada@example.com")
		if err != nil {
			t.Fatal(err)
		}
		projects, total, err := store.Projects(t.Context(), keybox.ProjectFilter{OwnerID: u.ID})
		if err != nil {
			t.Fatal(err)
		}
		if total != 0 || len(projects) != 0 {
			t.Fatalf("found %d orphan projects after the license insert failed", len(projects))
		}
	})
}

func TestProjects(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		_, token := e.developer("ada@example.com")
		acme := e.client(token, "Acme", "acme@example.com")
		other := e.client(token, "Other", "other@example.com")
		e.do("POST", "/projects", token, map[string]any{"clientId": acme}).want(t, 400, "Client ID & Project name required")
		e.do("POST", "/projects", token, map[string]any{"clientId": "000000000000000000000000", "name": "X"}).want(t, 404, "Client not found")
		r := e.do("POST", "/projects", token, map[string]any{"clientId": acme, "name": "Mobile app"}).want(t, 201, "Project created successfully")
		golden(t, "project_created", r.raw)
		pid := r.obj("project")["_id"].(string)
		e.do("POST", "/projects", token, map[string]any{"clientId": other, "name": "Desktop"}).want(t, 201, "Project created successfully")

		r = e.do("GET", "/projects", token, nil).want(t, 200, "")
		if r.body["total"] != 2.0 || r.body["page"] != 1.0 || r.body["limit"] != 20.0 {
			t.Fatalf("list: %s", r.raw)
		}
		if r = e.do("GET", "/projects?clientId="+other, token, nil); r.body["total"] != 1.0 {
			t.Fatalf("by client: %s", r.raw)
		}
		if r = e.do("GET", "/projects?q=MOBILE", token, nil); r.body["total"] != 1.0 {
			t.Fatalf("search: %s", r.raw)
		}
		e.do("GET", "/projects/"+pid, token, nil).want(t, 200, "")
		e.do("GET", "/projects/nope", token, nil).want(t, 404, "Project not found")
		e.do("PATCH", "/projects/"+pid, token, map[string]any{"name": " "}).want(t, 400, "Project name required")
		r = e.do("PATCH", "/projects/"+pid, token, map[string]any{"name": "iOS app"}).want(t, 200, "Project updated successfully")
		if r.obj("project")["name"] != "iOS app" {
			t.Fatalf("rename: %s", r.raw)
		}

		// Licenses keep a project unless ?cascade=true.
		e.do("POST", "/license/create", token, map[string]any{"clientId": acme, "projectId": pid, "duration": 1}).want(t, 201, "License created")
		e.do("DELETE", "/projects/"+pid, token, nil).want(t, 409, "Project has licenses; delete them first or pass ?cascade=true")
		e.do("DELETE", "/projects/"+pid+"?cascade=true", token, nil).want(t, 200, "Project deleted successfully")
		e.do("GET", "/projects/"+pid, token, nil).want(t, 404, "Project not found")
		if r = e.do("GET", "/license", token, nil); r.body["total"] != 0.0 {
			t.Fatalf("licenses left after cascade: %s", r.raw)
		}
		e.do("DELETE", "/projects/"+pid, token, nil).want(t, 404, "Project not found")
	})
}
