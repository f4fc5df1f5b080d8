package server_test

import (
	"fmt"
	"testing"
)

// TestWildcardSeat is the seat-sharing attack: a key activated once without
// a machine id must not then answer for every other machine. With a 1-seat
// license, 100 other machines are refused activation, validation and a
// license file, and the license keeps its one id-less seat.
func TestWildcardSeat(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		token, key := e.newKey("ada@example.com")
		e.do("POST", "/validate/activate", "", map[string]any{"key": key}).want(t, 200, "License activated successfully")
		for i := range 100 {
			m := fmt.Sprintf("machine-%03d", i)
			r := e.do("POST", "/validate/activate", "", map[string]any{"key": key, "machineId": m}).
				want(t, 403, "License already activated on another machine")
			if r.body["success"] != false {
				t.Fatalf("activation refusal without success:false: %s", r.raw)
			}
			r = e.do("POST", "/validate", "", map[string]any{"key": key, "machineId": m}).
				want(t, 200, "License is not valid for this machine")
			if r.body["valid"] != false || r.str("status") != "machine_mismatch" {
				t.Fatalf("validation from %s: %s", m, r.raw)
			}
			e.do("POST", "/validate/checkout", "", map[string]any{"key": key, "machineId": m}).
				want(t, 404, "License is not activated on this machine")
			if i%10 == 0 {
				e.do("POST", "/validate/deactivate", "", map[string]any{"key": key, "machineId": m}).
					want(t, 404, "License is not activated on this machine")
			}
		}
		r := e.do("GET", "/license/"+key, token, nil).want(t, 200, "")
		if acts := r.list("activations"); len(acts) != 1 || acts[0].(map[string]any)["machineId"] != "" {
			t.Fatalf("seats after the attack: %s, want the one id-less seat", r.raw)
		}
		// The id-less installation itself is still served.
		if r := e.do("POST", "/validate", "", map[string]any{"key": key}).want(t, 200, ""); r.str("status") != "active" {
			t.Fatalf("the seat's own validation: %s", r.raw)
		}
		e.do("POST", "/validate/activate", "", map[string]any{"key": key}).want(t, 200, "License already activated on this machine")
	})
}

// TestInstanceMismatchWithoutMachineIDs: SDKs that send only an instance id
// get the instance answers, not the machine ones.
func TestInstanceMismatchWithoutMachineIDs(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		_, key := e.newKey("ada@example.com")
		e.do("POST", "/validate/activate", "", map[string]any{"key": key, "instanceId": "i1"}).want(t, 200, "License activated successfully")

		r := e.do("POST", "/validate", "", map[string]any{"key": key, "instanceId": "i2"}).want(t, 200, "License is not valid for this instance")
		if r.body["valid"] != false || r.str("status") != "instance_mismatch" {
			t.Fatalf("another instance: %s", r.raw)
		}
		e.do("POST", "/validate/activate", "", map[string]any{"key": key, "instanceId": "i2"}).want(t, 403, "License already activated on another instance")
		for _, body := range []map[string]any{{"key": key, "instanceId": "i1"}, {"key": key}} {
			if r := e.do("POST", "/validate", "", body).want(t, 200, ""); r.str("status") != "active" {
				t.Fatalf("%v: %s, want active", body, r.raw)
			}
		}
		// A machine is still another machine, whatever instance it sends.
		r = e.do("POST", "/validate", "", map[string]any{"key": key, "machineId": "m1", "instanceId": "i1"}).want(t, 200, "")
		if r.str("status") != "machine_mismatch" {
			t.Fatalf("a machine on the id-less seat's instance: %s", r.raw)
		}
	})
}

// TestRequireMachineID: a license that requires a machine id, by its own
// setting or by its project's policy, refuses every public call without one
// (400, nothing changed) and serves those with one.
func TestRequireMachineID(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		_, token := e.developer("ada@example.com")
		client := e.client(token, "Acme", "acme@example.com")
		project, lenient := e.projectWithLicense(token, client, "Website")
		create := func(body map[string]any) map[string]any {
			t.Helper()
			return e.do("POST", "/license/create", token, changed(map[string]any{"duration": 1, "clientId": client, "projectId": project}, body)).
				want(t, 201, "License created").obj("license")
		}
		fromLicense := create(map[string]any{"requireMachineId": true})
		e.do("PATCH", "/projects/"+project+"/policy", token, map[string]any{"requireMachineId": true}).want(t, 200, "Policy updated")
		fromPolicy := create(nil)
		for name, l := range map[string]map[string]any{"license": fromLicense, "project policy": fromPolicy} {
			t.Run(name, func(t *testing.T) {
				if l["requireMachineId"] != true {
					t.Fatalf("license %v: requireMachineId not true", l)
				}
				e.requiresMachineID(t, token, l["key"].(string))
			})
		}

		// The policy is a default for new licenses: the project's first
		// license, issued before it, still takes id-less calls...
		e.do("POST", "/validate/activate", "", map[string]any{"key": lenient}).want(t, 200, "License activated successfully")
		e.do("POST", "/validate", "", map[string]any{"key": lenient}).want(t, 200, "")
		// ...until the license itself requires a machine id, which the very
		// next call sees.
		r := e.do("PATCH", "/license/"+lenient, token, map[string]any{"requireMachineId": true}).want(t, 200, "License updated")
		if r.obj("license")["requireMachineId"] != true {
			t.Fatalf("patched license: %s", r.raw)
		}
		e.do("POST", "/validate", "", map[string]any{"key": lenient}).want(t, 400, "Machine ID is required")
		e.do("PATCH", "/license/"+lenient, token, map[string]any{"requireMachineId": false}).want(t, 200, "License updated")
		if r := e.do("POST", "/validate", "", map[string]any{"key": lenient}).want(t, 200, ""); r.str("status") != "active" {
			t.Fatalf("after lifting the requirement: %s", r.raw)
		}
	})
}

// requiresMachineID checks every public call on key, a PENDING license that
// requires a machine id.
func (e *env) requiresMachineID(t *testing.T, token, key string) {
	t.Helper()
	const msg = "Machine ID is required"
	refused := func(path, envelope string, body map[string]any) {
		t.Helper()
		r := e.do("POST", path, "", body).want(t, 400, msg)
		if len(r.body) != 2 || r.body[envelope] != false {
			t.Fatalf("%s %v: %s, want {%q: false, \"message\": %q}", path, body, r.raw, envelope, msg)
		}
	}
	for _, body := range []map[string]any{{"key": key}, {"key": key, "instanceId": "i1"}, {"key": key, "machineId": ""}} {
		refused("/validate/activate", "success", body)
		refused("/license/activate", "success", body)
	}
	if st := e.do("GET", "/license/"+key, token, nil).obj("license")["status"]; st != "PENDING" {
		t.Fatalf("refused activations changed the license: status %v", st)
	}
	e.do("POST", "/validate/activate", "", map[string]any{"key": key, "machineId": "m1", "instanceId": "i1"}).want(t, 200, "License activated successfully")
	for _, body := range []map[string]any{{"key": key}, {"key": key, "instanceId": "i1"}} {
		refused("/validate", "valid", body)
		refused("/license/", "valid", body)
		refused("/validate/checkout", "success", body)
		refused("/validate/deactivate", "success", body)
	}
	if r := e.do("POST", "/validate", "", map[string]any{"key": key, "machineId": "m1"}).want(t, 200, ""); r.str("status") != "active" {
		t.Fatalf("validation with the machine: %s", r.raw)
	}
	e.do("POST", "/validate/checkout", "", map[string]any{"key": key, "machineId": "m1"}).want(t, 200, "")
	if acts := e.do("GET", "/license/"+key, token, nil).list("activations"); len(acts) != 1 {
		t.Fatalf("seats after refused releases: %d, want 1", len(acts))
	}
	e.do("POST", "/validate/deactivate", "", map[string]any{"key": key, "machineId": "m1"}).want(t, 200, "License deactivated on this machine")
}
