package server_test

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/keyboxhq/keybox"
)

// What KeyBox's own clients send, beyond what its documentation says.

// TestServicesAsAString: KeyBox's Next.js dashboard sends "services":
// "Hosting", a string; every endpoint that takes services reads a known
// service as a one-item list. Anything else that is not a list of known
// services is still refused, and refused requests leave nothing behind.
func TestServicesAsAString(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		_, token := e.developer("ada@example.com")
		acme := e.client(token, "Acme", "acme@example.com")
		services := func(r response) []any { return r.obj("license")["services"].([]any) }
		want := func(what string, got []any, service string) {
			t.Helper()
			if !reflect.DeepEqual(got, []any{service}) {
				t.Fatalf("%s: services %v, want [%s]", what, got, service)
			}
		}

		r := e.do("POST", "/projects/createProject", token, map[string]any{
			"clientId": acme, "projectName": "Website", "duration": 6, "services": "Hosting",
		}).want(t, 201, "Project and License created successfully")
		want("createProject", services(r), "Hosting")
		project, key := r.obj("project")["_id"].(string), r.obj("license")["key"].(string)

		r = e.do("POST", "/license/create", token, map[string]any{
			"duration": 1, "clientId": acme, "projectId": project, "services": "Domain",
		}).want(t, 201, "License created")
		want("license/create", services(r), "Domain")

		r = e.do("PATCH", "/license/"+key, token, map[string]any{"services": "Domain"}).want(t, 200, "License updated")
		want("PATCH /license/:key", services(r), "Domain")
		want("the stored license", services(e.do("GET", "/license/"+key, token, nil).want(t, 200, "")), "Domain")

		for _, bad := range []any{"", " Hosting", "hosting", "Email", "Hosting,Domain", 7, true, map[string]any{"0": "Hosting"}, []any{"Hosting", 7}} {
			const msg = "At least one service is required"
			e.do("POST", "/projects/createProject", token, map[string]any{
				"clientId": acme, "projectName": "Refused", "duration": 6, "services": bad,
			}).want(t, 400, msg)
			e.do("POST", "/license/create", token, map[string]any{
				"duration": 1, "clientId": acme, "projectId": project, "services": bad,
			}).want(t, 400, msg)
			e.do("PATCH", "/license/"+key, token, map[string]any{"services": bad, "maxMachines": 7}).want(t, 400, msg)
		}
		if n := e.do("GET", "/projects", token, nil).want(t, 200, "").body["total"]; n != 1.0 {
			t.Fatalf("%v projects after refused creations, want 1", n)
		}
		if n := e.do("GET", "/license", token, nil).want(t, 200, "").body["total"]; n != 2.0 {
			t.Fatalf("%v licenses after refused creations, want 2", n)
		}
		l := e.do("GET", "/license/"+key, token, nil).want(t, 200, "").obj("license")
		if l["maxMachines"] != 1.0 {
			t.Fatalf("a refused PATCH changed the license: %v", l)
		}
	})
}

// TestRenewByPatch: KeyBox's newer server renews with PATCH
// /license/renew/:key, and its duration is optional: without one a license
// is renewed by its own duration, at most 12 months. Both methods take the
// same body and give the same answer.
func TestRenewByPatch(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		_, token := e.developer("ada@example.com")
		acme := e.client(token, "Acme", "acme@example.com")
		_, pending := e.projectWithLicense(token, acme, "Pending") // 3 months
		_, active := e.projectWithLicense(token, acme, "Active")   // 3 months
		e.seat(active, "m1")
		start := e.clock.Now()
		at := func(months int) string { return keybox.NewTime(start.AddDate(0, months, 0)).String() }

		renew := func(method, key string, body any) map[string]any {
			t.Helper()
			r := e.do(method, "/license/renew/"+key, token, body).want(t, 200, "License renewed")
			if len(r.body) != 2 {
				t.Fatalf("%s renew answered %s, want only message and license", method, r.raw)
			}
			return r.obj("license")
		}
		check := func(what string, l map[string]any, duration int, expires, status string) {
			t.Helper()
			if l["duration"] != float64(duration) || l["expiresAt"] != expires || l["status"] != status {
				t.Fatalf("%s: duration %v, expiresAt %v, status %v; want %d, %s, %s",
					what, l["duration"], l["expiresAt"], l["status"], duration, expires, status)
			}
		}

		// A duration given: PATCH does what POST does.
		check("PATCH by 2", renew("PATCH", active, map[string]any{"duration": 2}), 5, at(5), "ACTIVE")
		check("POST by 2", renew("POST", active, map[string]any{"duration": 2}), 7, at(7), "ACTIVE")
		// None given (absent, null, no body at all): the license's own duration,
		// which counts every month sold, up to 12.
		check("PATCH, no duration", renew("PATCH", active, map[string]any{}), 14, at(14), "ACTIVE")
		check("POST, null duration", renew("POST", active, map[string]any{"duration": nil}), 26, at(26), "ACTIVE")
		check("PATCH, no body", renew("PATCH", active, nil), 38, at(38), "ACTIVE")
		// A PENDING license's clock has not started: its duration doubles.
		check("PENDING, no duration", renew("PATCH", pending, nil), 6, at(6), "PENDING")

		// An EXPIRED license renews from now and is ACTIVE again.
		e.clock.Add(40 * 31 * 24 * time.Hour)
		token = e.login("ada@example.com")
		now := e.clock.Now()
		l := renew("PATCH", active, map[string]any{"duration": "1"})
		check("EXPIRED, PATCH by 1", l, 39, keybox.NewTime(now.AddDate(0, 1, 0)).String(), "ACTIVE")

		for _, method := range []string{"POST", "PATCH"} {
			for _, bad := range []any{0, 13, -1, 1.5, "x", "", true, []int{3}} {
				e.do(method, "/license/renew/"+active, token, map[string]any{"duration": bad}).want(t, 400, "Invalid duration")
			}
			e.do(method, "/license/renew/"+active, token, "[3]").want(t, 400, "Invalid JSON body")
			e.do(method, "/license/renew/NO-SUCH-KEY", token, nil).want(t, 404, "License not found")
			e.do(method, "/license/renew/"+active, "", nil).want(t, 401, "No token provided")
		}
		if l := e.do("GET", "/license/"+active, token, nil).obj("license"); l["duration"] != 39.0 {
			t.Fatalf("refused renewals changed the license: %v", fmt.Sprint(l["duration"]))
		}
	})
}
