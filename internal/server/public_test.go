package server_test

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

// newKey makes a developer, a client and a project, and returns a token and
// the PENDING key of the project's first license.
func (e *env) newKey(email string) (string, string) {
	e.t.Helper()
	_, token := e.developer(email)
	client := e.client(token, "Acme", "acme-"+email)
	_, key := e.projectWithLicense(token, client, "Website")
	return token, key
}

func TestActivate(t *testing.T) {
	for _, path := range []string{"/validate/activate", "/license/activate"} {
		t.Run(path, func(t *testing.T) {
			eachEngine(t, func(t *testing.T, e *env) {
				token, key := e.newKey("ada@example.com")
				_, revoked := e.projectWithLicense(token, e.client(token, "R", "r@example.com"), "R")
				e.do("PATCH", "/license/revoke/"+revoked, token, nil).want(t, 200, "")
				_, lapsed := e.projectWithLicense(token, e.client(token, "L", "l@example.com"), "L")
				e.do("POST", path, "", map[string]any{"key": lapsed, "machineId": "m"}).want(t, 200, "License activated successfully")

				// POST /validate/activate: each rule in the order it is checked.
				start := e.clock.Now()
				r := e.do("POST", path, "", map[string]any{"machineId": "m1"}).want(t, 400, "License key is required")
				if r.body["success"] != false {
					t.Errorf("400 without success:false: %s", r.raw)
				}
				e.do("POST", path, "", map[string]any{"key": 42}).want(t, 400, "License key is required")
				e.do("POST", path, "", map[string]any{"key": "KB-NOPE"}).want(t, 404, "License not found")
				e.do("POST", path, "", map[string]any{"key": revoked, "machineId": "m1"}).want(t, 403, "License has been revoked")
				e.do("PATCH", "/license/"+key, token, map[string]any{"productName": "Acme Desktop"}).want(t, 200, "")
				e.do("POST", path, "", map[string]any{"key": key, "machineId": "m1", "productName": "Other"}).want(t, 403, "License key is not valid for this product")

				e.clock.Add(time.Minute)
				r = e.do("POST", path, "", map[string]any{"key": key, "machineId": "m1", "instanceId": "i1", "productName": "Acme Desktop"}).
					want(t, 200, "License activated successfully")
				golden(t, "activate", r.raw)
				if r.body["success"] != true || r.str("machineId") != "m1" || r.str("instanceId") != "i1" {
					t.Fatalf("activation: %s", r.raw)
				}
				// The clock starts at the first activation.
				activated := e.clock.Now()
				if r.str("activatedAt") != activated.Format("2006-01-02T15:04:05.000Z") ||
					r.str("expiresAt") != activated.AddDate(0, 3, 0).Format("2006-01-02T15:04:05.000Z") {
					t.Fatalf("times: %s (activated at %v; created at %v)", r.raw, activated, start)
				}
				// Idempotent on the same machine; an SDK that sends no instance id matches too.
				for _, body := range []map[string]any{
					{"key": key, "machineId": "m1", "instanceId": "i1"},
					{"key": key, "machineId": "m1"},
				} {
					r = e.do("POST", path, "", body).want(t, 200, "License already activated on this machine")
					if r.str("activatedAt") != activated.Format("2006-01-02T15:04:05.000Z") || r.str("expiresAt") == "" {
						t.Fatalf("re-activation %v: %s", body, r.raw)
					}
				}
				e.do("POST", path, "", map[string]any{"key": key, "machineId": "m2"}).want(t, 403, "License already activated on another machine")
				e.do("POST", path, "", map[string]any{"key": key, "machineId": "m1", "instanceId": "i2"}).want(t, 403, "License already activated on another instance")
				// No machine id is not a wildcard: it is another machine than m1.
				e.do("POST", path, "", map[string]any{"key": key}).want(t, 403, "License already activated on another machine")
				e.do("POST", path, "", map[string]any{"key": key, "instanceId": "i1"}).want(t, 403, "License already activated on another machine")

				// Expired: stored, or ACTIVE past expiry.
				e.clock.Add(4 * 31 * 24 * time.Hour)
				e.do("POST", path, "", map[string]any{"key": lapsed, "machineId": "m"}).want(t, 403, "License has expired")
				r = e.do("GET", "/license/"+key, e.login("ada@example.com"), nil)
				if acts := r.list("activations"); len(acts) != 1 {
					t.Fatalf("seats after refused activations: %d, want 1", len(acts))
				}
			})
		})
	}
}

func TestValidate(t *testing.T) {
	for _, path := range []string{"/validate", "/license/"} {
		t.Run(path, func(t *testing.T) {
			eachEngine(t, func(t *testing.T, e *env) {
				token, key := e.newKey("ada@example.com")
				// POST /validate: each rule in the order it is checked.
				r := e.do("POST", path, "", map[string]any{}).want(t, 400, "License key is required")
				if r.body["valid"] != false {
					t.Errorf("400 without valid:false: %s", r.raw)
				}
				check := func(body map[string]any, status, msg string) response {
					t.Helper()
					r := e.do("POST", path, "", body).want(t, 200, msg)
					if r.body["valid"] != (status == "active") || r.str("status") != status {
						t.Fatalf("%v: got %s, want status %s", body, r.raw, status)
					}
					return r
				}
				check(map[string]any{"key": "KB-NOPE"}, "invalid", "Key does not exist")
				check(map[string]any{"key": key, "machineId": "m1"}, "pending", "License has not been activated yet")
				e.do("POST", "/validate/activate", "", map[string]any{"key": key, "machineId": "m1", "instanceId": "i1", "productName": "Desk"}).want(t, 200, "")
				check(map[string]any{"key": key, "productName": "Other"}, "invalid", "License key is not valid for this product")

				r = check(map[string]any{"key": key, "machineId": "m1", "instanceId": "i1", "productName": "Desk"}, "active", "")
				golden(t, "validate_active", r.raw)
				if r.body["duration"] != "3 months" || r.body["expiresAt"] != float64(e.clock.Now().AddDate(0, 3, 0).UnixMilli()) {
					t.Fatalf("valid answer: %s", r.raw)
				}
				// Every generation of SDK: key and machine, with or without the
				// instance; a request without the machine id is not the machine's.
				check(map[string]any{"key": key, "machineId": "m1"}, "active", "")
				check(map[string]any{"key": key}, "machine_mismatch", "License is not valid for this machine")
				check(map[string]any{"key": key, "instanceId": "i1"}, "machine_mismatch", "License is not valid for this machine")
				check(map[string]any{"key": key, "machineId": "m2"}, "machine_mismatch", "License is not valid for this machine")
				check(map[string]any{"key": key, "machineId": "m1", "instanceId": "i2"}, "instance_mismatch", "License is not valid for this instance")

				e.do("PATCH", "/license/revoke/"+key, token, nil).want(t, 200, "License status changed to REVOKED")
				check(map[string]any{"key": key, "machineId": "m1"}, "revoked", "License revoked by developer")
				e.do("PATCH", "/license/revoke/"+key, token, nil).want(t, 200, "License status changed to ACTIVE")
				check(map[string]any{"key": key, "machineId": "m1"}, "active", "")

				// Past its expiry, at once: no sweep has run.
				expires := e.clock.Now().AddDate(0, 3, 0)
				e.clock.Add(3*31*24*time.Hour + time.Hour)
				r = check(map[string]any{"key": key, "machineId": "m1"}, "expired", "License has expired")
				golden(t, "validate_expired", r.raw)
				if r.body["expiresAt"] != float64(expires.UnixMilli()) {
					t.Fatalf("expired answer: %s, want expiresAt %d", r.raw, expires.UnixMilli())
				}
				// A renewal is seen by the very next validation.
				token = e.login("ada@example.com")
				e.do("POST", "/license/renew/"+key, token, map[string]any{"duration": 1}).want(t, 200, "License renewed")
				check(map[string]any{"key": key, "machineId": "m1"}, "active", "")
			})
		})
	}
}

// TestChangesSeenByNextValidation: every management change to a license is
// seen by the very next /validate on the same server, cache or not.
func TestChangesSeenByNextValidation(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		token, key := e.newKey("ada@example.com")
		validate := func(machine string) string {
			t.Helper()
			return e.do("POST", "/validate", "", map[string]any{"key": key, "machineId": machine}).want(t, 200, "").str("status")
		}
		if st := validate("m1"); st != "pending" {
			t.Fatalf("before activation: %s", st)
		}
		e.do("POST", "/validate/activate", "", map[string]any{"key": key, "machineId": "m1"}).want(t, 200, "")
		steps := []struct {
			name    string
			change  func()
			machine string
			want    string
		}{
			{"activation", func() {}, "m1", "active"},
			{"revoke", func() { e.do("PATCH", "/license/revoke/"+key, token, nil).want(t, 200, "") }, "m1", "revoked"},
			{"restore", func() { e.do("PATCH", "/license/revoke/"+key, token, nil).want(t, 200, "") }, "m1", "active"},
			{"other machine before a seat", func() {}, "m2", "machine_mismatch"},
			{"seat change", func() {
				e.do("PATCH", "/license/"+key, token, map[string]any{"maxMachines": 2}).want(t, 200, "")
				e.do("POST", "/validate/activate", "", map[string]any{"key": key, "machineId": "m2"}).want(t, 200, "License activated successfully")
			}, "m2", "active"},
			{"seat freed", func() {
				e.do("POST", "/validate/deactivate", "", map[string]any{"key": key, "machineId": "m2"}).want(t, 200, "")
			}, "m2", "machine_mismatch"},
			{"product bound", func() {
				e.do("PATCH", "/license/"+key, token, map[string]any{"productName": "Only"}).want(t, 200, "")
			}, "m1", "active"},
			{"deleted", func() {
				r := e.do("GET", "/license/"+key, token, nil)
				e.do("DELETE", "/projects/"+r.obj("license")["project"].(string)+"?cascade=true", token, nil).want(t, 200, "")
			}, "m1", "invalid"},
		}
		for _, s := range steps {
			s.change()
			if got := validate(s.machine); got != s.want {
				t.Fatalf("after %s: got %s, want %s", s.name, got, s.want)
			}
		}
	})
}

func TestDeactivate(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		token, key := e.newKey("ada@example.com")
		e.do("PATCH", "/license/"+key, token, map[string]any{"maxMachines": 2}).want(t, 200, "")
		e.do("POST", "/validate/activate", "", map[string]any{"key": key, "machineId": "old-laptop"}).want(t, 200, "")
		e.do("POST", "/validate/activate", "", map[string]any{"key": key, "machineId": "desktop"}).want(t, 200, "")
		e.do("POST", "/validate/activate", "", map[string]any{"key": key, "machineId": "new-laptop"}).want(t, 403, "License already activated on another machine")

		r := e.do("POST", "/validate/deactivate", "", map[string]any{"machineId": "x"}).want(t, 400, "License key is required")
		if r.body["success"] != false {
			t.Errorf("no success:false: %s", r.raw)
		}
		e.do("POST", "/validate/deactivate", "", map[string]any{"key": "KB-NOPE", "machineId": "x"}).want(t, 404, "License not found")
		e.do("POST", "/validate/deactivate", "", map[string]any{"key": key, "machineId": "stranger"}).want(t, 404, "License is not activated on this machine")
		e.do("POST", "/validate/deactivate", "", map[string]any{"key": key}).want(t, 404, "License is not activated on this machine")
		r = e.do("POST", "/validate/deactivate", "", map[string]any{"key": key, "machineId": "old-laptop"}).want(t, 200, "License deactivated on this machine")
		if r.body["success"] != true {
			t.Fatalf("deactivate: %s", r.raw)
		}
		e.do("POST", "/validate/activate", "", map[string]any{"key": key, "machineId": "new-laptop"}).want(t, 200, "License activated successfully")
		l := e.do("GET", "/license/"+key, token, nil).obj("license")
		if l["status"] != "ACTIVE" || l["machineId"] != "desktop" {
			t.Fatalf("license after moving a seat: %v", l)
		}
	})
}

// TestConcurrentActivationsNeverExceedSeats: 50 machines activate a 5-seat
// license at once; exactly 5 get a seat.
func TestConcurrentActivationsNeverExceedSeats(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		token, key := e.newKey("ada@example.com")
		e.do("PATCH", "/license/"+key, token, map[string]any{"maxMachines": 5}).want(t, 200, "")
		const n = 50
		results := make([]response, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				results[i] = e.do("POST", "/validate/activate", "", map[string]any{"key": key, "machineId": fmt.Sprintf("machine-%02d", i)})
			})
		}
		wg.Wait()
		ok, refused := 0, 0
		for _, r := range results {
			switch {
			case r.status == 200 && r.body["message"] == "License activated successfully":
				ok++
			case r.status == 403 && r.body["message"] == "License already activated on another machine":
				refused++
			default:
				t.Errorf("unexpected answer %d %s", r.status, r.raw)
			}
		}
		if ok != 5 || refused != 45 {
			t.Fatalf("%d activations succeeded and %d were refused; want 5 and 45", ok, refused)
		}
		if acts := e.do("GET", "/license/"+key, token, nil).list("activations"); len(acts) != 5 {
			t.Fatalf("%d seats stored, want 5", len(acts))
		}
	})
}
