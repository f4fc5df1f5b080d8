package server_test

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keyboxhq/keybox"
)

// TestEntitlementsThroughValidate: a valid answer carries the license's
// entitlements; a validation that asks for codes the license lacks is told
// which, and one that asks for something that is not a list of codes is
// refused; activations and license files carry entitlements and metadata.
func TestEntitlementsThroughValidate(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		token, key := e.newKey("ada@example.com")
		e.do("PATCH", "/license/"+key, token, map[string]any{"entitlements": []string{"pro", "export"},
			"metadata": map[string]any{"plan": "gold", "note": "<b>&</b> \u2028"}}).want(t, 200, "")
		a := e.do("POST", "/validate/activate", "", map[string]any{"key": key, "machineId": "m1"}).want(t, 200, "License activated successfully")
		if mustString(t, a.body["entitlements"]) != `["export","pro"]` ||
			!reflect.DeepEqual(a.body["metadata"], map[string]any{"plan": "gold", "note": "<b>&</b> \u2028"}) {
			t.Fatalf("activation answer: %s", a.raw)
		}
		if _, ok := a.body["leaseExpiresAt"]; ok {
			t.Fatalf("a license without a lease has no lease: %s", a.raw)
		}
		validate := func(asked any) response {
			t.Helper()
			body := map[string]any{"key": key, "machineId": "m1"}
			if asked != nil {
				body["entitlements"] = asked
			}
			return e.do("POST", "/validate", "", body)
		}
		r := validate(nil).want(t, 200, "")
		if !strings.HasSuffix(strings.TrimSpace(string(r.raw)), `,"entitlements":["export","pro"]}`) || r.body["valid"] != true {
			t.Fatalf("valid answer: %s", r.raw)
		}
		for _, asked := range [][]string{{}, {"pro"}, {"export", "pro"}, {"pro", "pro"}} {
			if r := validate(asked).want(t, 200, ""); r.body["valid"] != true {
				t.Fatalf("asking %v: %s", asked, r.raw)
			}
		}
		for _, c := range []struct {
			asked   []string
			missing string
		}{
			{[]string{"sso"}, `["sso"]`},
			{[]string{"sso", "pro", "audit", "sso"}, `["audit","sso"]`},
		} {
			r := validate(c.asked).want(t, 200, "License lacks required entitlements")
			if got := strings.TrimSpace(string(r.raw)); got != `{"valid":false,"status":"entitlements_missing","message":"License lacks required entitlements","missing":`+c.missing+`}` {
				t.Fatalf("asking %v: %s", c.asked, got)
			}
		}
		// An answer that is not valid for other reasons says so first.
		if r := e.do("POST", "/validate", "", map[string]any{"key": key, "machineId": "m2", "entitlements": []string{"sso"}}); r.str("status") != "machine_mismatch" {
			t.Fatalf("another machine asking for a missing code: %s", r.raw)
		}
		for _, bad := range []any{"pro", []any{1}, []string{"Pro"}, []string{"a b"}, map[string]any{}, strings.Split(strings.Repeat("a,", 65), ",")} {
			r := validate(bad).want(t, 400, "Validation error")
			if r.body["valid"] != false || r.obj("errors")["entitlements"] == nil {
				t.Fatalf("asking %v: %s", bad, r.raw)
			}
		}
		r = e.do("POST", "/validate", "", `{"key":"`+key+`","machineId":"m1","entitlements":["pro\u0000"]}`).want(t, 400, "Validation error")
		if r.body["valid"] != false || r.obj("errors")["entitlements"] != "must be UTF-8 text without NUL characters" {
			t.Fatalf("a NUL in an asked code: %s", r.raw)
		}

		// The license file carries both, signed.
		f := e.do("POST", "/validate/checkout", "", map[string]any{"key": key, "machineId": "m1"}).want(t, 200, "")
		file, err := verifyFile(f, e.publicKeys(), key, "m1", e.clock.Now())
		var meta map[string]any
		if err != nil || !reflect.DeepEqual(file.Entitlements, []string{"export", "pro"}) || !file.Has("pro") || file.Has("sso") ||
			json.Unmarshal(file.Metadata, &meta) != nil || !reflect.DeepEqual(meta, map[string]any{"plan": "gold", "note": "<b>&</b> \u2028"}) {
			t.Fatalf("license file: %+v %s %v", file, file.Metadata, err)
		}
		if got := e.do("GET", "/metrics", "", nil); !strings.Contains(string(got.raw), `keybox_validations_total{result="entitlements_missing"} 2`) {
			t.Errorf("metrics do not count entitlements_missing: %s", grepLines(string(got.raw), "validations_total"))
		}
	})
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// leased makes a developer's license with seats and a lease of lease seconds.
func (e *env) leased(email string, seats, lease int) (string, string) {
	e.t.Helper()
	token, key := e.newKey(email)
	e.do("PATCH", "/license/"+key, token, map[string]any{"maxMachines": seats, "leaseSeconds": lease}).want(e.t, 200, "License updated")
	return token, key
}

// TestLeaseOverHTTP: on the test clock, a seat lapses after a silent lease
// (heartbeats keep it), the license page shows each seat's lease and the
// seats in use, and a lapsed machine is told machine_mismatch until it
// activates again.
func TestLeaseOverHTTP(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		token, key := e.leased("ada@example.com", 2, 60)
		ms := func(d time.Duration) float64 { return float64(e.clock.Now().Add(d).UnixMilli()) }
		a := e.do("POST", "/validate/activate", "", map[string]any{"key": key, "machineId": "m1"}).want(t, 200, "License activated successfully")
		if a.body["leaseExpiresAt"] != ms(time.Minute) {
			t.Fatalf("activation: %s", a.raw)
		}
		e.do("POST", "/validate/activate", "", map[string]any{"key": key, "machineId": "m2"}).want(t, 200, "License activated successfully")
		for range 4 {
			e.clock.Add(45 * time.Second)
			r := e.do("POST", "/validate/heartbeat", "", map[string]any{"key": key, "machineId": "m1"}).want(t, 200, "")
			if got := strings.TrimSpace(string(r.raw)); got != fmt.Sprintf(`{"success":true,"leaseExpiresAt":%d}`, int64(ms(time.Minute))) {
				t.Fatalf("heartbeat: %s", got)
			}
		}
		v := e.do("POST", "/validate", "", map[string]any{"key": key, "machineId": "m1"}).want(t, 200, "")
		if v.body["valid"] != true || v.body["leaseExpiresAt"] != ms(time.Minute) {
			t.Fatalf("validation of a leased seat: %s", v.raw)
		}
		golden(t, "validate_leased", v.raw)
		// m2 has been silent for 3 minutes: lapsed; m1 is alive.
		if r := e.do("POST", "/validate", "", map[string]any{"key": key, "machineId": "m2"}); r.str("status") != "machine_mismatch" {
			t.Fatalf("the silent machine: %s", r.raw)
		}
		e.do("POST", "/validate/heartbeat", "", map[string]any{"key": key, "machineId": "m2"}).want(t, 404, "License is not activated on this machine")
		d := e.do("GET", "/license/"+key, token, nil).want(t, 200, "")
		acts := d.list("activations")
		if d.body["seatsInUse"] != 1.0 || len(acts) != 2 {
			t.Fatalf("license page: %s", d.raw)
		}
		leases := map[string]any{}
		for _, a := range acts {
			leases[a.(map[string]any)["machineId"].(string)] = a.(map[string]any)["leaseExpiresAt"]
		}
		if leases["m1"] != e.clock.Now().Add(time.Minute).Format("2006-01-02T15:04:05.000Z") || // renewed, not yet written

			leases["m2"] != e.clock.Now().Add(-2*time.Minute).Format("2006-01-02T15:04:05.000Z") {
			t.Fatalf("seat leases: %v (now %v)", leases, e.clock.Now())
		}
		// A license file for a leased seat ends with the lease, which the
		// checkout renews.
		e.clock.Add(30 * time.Second)
		f := e.do("POST", "/validate/checkout", "", map[string]any{"key": key, "machineId": "m1", "ttl": 86400}).want(t, 200, "")
		if f.str("expiresAt") != e.clock.Now().Add(time.Minute).Format("2006-01-02T15:04:05.000Z") {
			t.Fatalf("a leased seat's file expires %s, want a lease from now", f.str("expiresAt"))
		}
		e.clock.Add(59 * time.Second)
		if r := e.do("POST", "/validate", "", map[string]any{"key": key, "machineId": "m1"}); r.body["valid"] != true {
			t.Fatalf("59 s after the checkout renewed the lease: %s", r.raw)
		}
		// maxMachines may go down to the seats in use, lapsed seats aside.
		e.do("PATCH", "/license/"+key, token, map[string]any{"maxMachines": 1}).want(t, 200, "License updated")
		e.do("POST", "/validate/activate", "", map[string]any{"key": key, "machineId": "m3"}).want(t, 403, "License already activated on another machine")
		// m1 goes silent too; m3 takes the seat; m1 is refused until one frees.
		e.clock.Add(time.Minute)
		e.do("POST", "/validate/activate", "", map[string]any{"key": key, "machineId": "m3"}).want(t, 200, "License activated successfully")
		e.do("POST", "/validate/activate", "", map[string]any{"key": key, "machineId": "m1"}).want(t, 403, "License already activated on another machine")
		if acts := e.do("GET", "/license/"+key, token, nil).list("activations"); len(acts) != 1 {
			t.Fatalf("the activation removed the lapsed seats: %d left, want 1", len(acts))
		}
		// A license without a lease: seats never lapse; a heartbeat says so.
		_, plain := e.newKey("bob@example.com")
		e.do("POST", "/validate/activate", "", map[string]any{"key": plain, "machineId": "m1"}).want(t, 200, "")
		e.clock.Add(24 * 365 * time.Hour / 5)
		if r := e.do("POST", "/validate/heartbeat", "", map[string]any{"key": plain, "machineId": "m1"}); strings.TrimSpace(string(r.raw)) != `{"success":true,"leaseExpiresAt":null}` {
			t.Fatalf("heartbeat without a lease: %d %s", r.status, r.raw)
		}
		if r := e.do("POST", "/validate", "", map[string]any{"key": plain, "machineId": "m1"}); r.body["valid"] != true || r.body["leaseExpiresAt"] != nil {
			t.Fatalf("validation without a lease: %s", r.raw)
		}
	})
}

// TestHeartbeatRefusals: the public API's refusals, as the other public
// routes give them.
func TestHeartbeatRefusals(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		token, key := e.leased("ada@example.com", 1, 60)
		hb := func(body any) response { t.Helper(); return e.do("POST", "/validate/heartbeat", "", body) }
		for _, c := range []struct {
			body   any
			status int
			msg    string
		}{
			{map[string]any{"machineId": "m1"}, 400, "License key is required"},
			{map[string]any{"key": 7}, 400, "License key is required"},
			{`{"key":`, 400, "Invalid JSON body"},
			{map[string]any{"key": "KB-NOPE", "machineId": "m1"}, 404, "License not found"},
			{map[string]any{"key": key, "machineId": "m1"}, 404, "License is not activated on this machine"},
		} {
			r := hb(c.body).want(t, c.status, c.msg)
			if r.body["success"] != false {
				t.Fatalf("%v: %s, want success:false", c.body, r.raw)
			}
		}
		e.do("POST", "/validate/activate", "", map[string]any{"key": key, "machineId": "m1", "productName": "Desk"}).want(t, 200, "")
		hb(map[string]any{"key": key, "machineId": "m1", "productName": "Web"}).want(t, 403, "License key is not valid for this product")
		e.do("PATCH", "/license/"+key, token, map[string]any{"requireMachineId": true}).want(t, 200, "")
		hb(map[string]any{"key": key}).want(t, 400, "Machine ID is required")
		e.do("PATCH", "/license/revoke/"+key, token, nil).want(t, 200, "")
		hb(map[string]any{"key": key, "machineId": "m1"}).want(t, 403, "License has been revoked")
	})
}

// TestConcurrentLeasedActivations: 100 machines activate a 5-seat leased
// license at once and exactly 5 get a seat; once their lease has passed
// (the clock moved, nobody heard from), 100 new machines race for the seats
// and exactly 5 get one again. On every engine.
func TestConcurrentLeasedActivations(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		token, key := e.leased("ada@example.com", 5, 60)
		race := func(prefix string) []string {
			t.Helper()
			const n = 100
			results := make([]response, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() {
					results[i] = e.do("POST", "/validate/activate", "", map[string]any{"key": key, "machineId": fmt.Sprintf("%s-%03d", prefix, i)})
				})
			}
			wg.Wait()
			var won []string
			for i, r := range results {
				switch {
				case r.status == 200 && r.body["message"] == "License activated successfully":
					won = append(won, fmt.Sprintf("%s-%03d", prefix, i))
				case r.status == 403 && r.body["message"] == "License already activated on another machine":
				default:
					t.Errorf("unexpected answer %d %s", r.status, r.raw)
				}
			}
			if len(won) != 5 {
				t.Fatalf("%s: %d activations succeeded, want 5", prefix, len(won))
			}
			return won
		}
		first := race("first")
		e.clock.Add(59 * time.Second)
		if r := e.do("POST", "/validate/activate", "", map[string]any{"key": key, "machineId": "early"}); r.status != 403 {
			t.Fatalf("a machine a second before the leases end: %d %s", r.status, r.raw)
		}
		e.clock.Add(time.Second)
		second := race("second")
		d := e.do("GET", "/license/"+key, token, nil)
		var stored []string
		for _, a := range d.list("activations") {
			stored = append(stored, a.(map[string]any)["machineId"].(string))
		}
		if !reflect.DeepEqual(sortStrings(stored), sortStrings(second)) || d.body["seatsInUse"] != 5.0 {
			t.Fatalf("seats stored %v (in use %v), want the second winners %v", stored, d.body["seatsInUse"], second)
		}
		for _, m := range first {
			if r := e.do("POST", "/validate", "", map[string]any{"key": key, "machineId": m}); r.str("status") != "machine_mismatch" {
				t.Fatalf("first winner %s after its lease: %s", m, r.raw)
			}
		}
	})
}

func sortStrings(s []string) []string {
	out := append([]string(nil), s...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

// TestLeaseSeenOnAnotherReplica: two servers share one database. A machine
// renews its lease through one; the other, which answers its next
// activation, sees the renewal once the first has written its batch (as
// its flusher does every few seconds), so the seat is not taken from a
// machine that renewed in time.
func TestLeaseSeenOnAnotherReplica(t *testing.T) {
	forEngine(t, func(t *testing.T, open func(testing.TB) keybox.Store) {
		store := open(t)
		a, b := newEnv(t, store), newEnv(t, store)
		_, key := a.leased("ada@example.com", 1, 60)
		a.do("POST", "/validate/activate", "", map[string]any{"key": key, "machineId": "m1"}).want(t, 200, "")
		a.clock.Add(50 * time.Second)
		a.do("POST", "/validate/heartbeat", "", map[string]any{"key": key, "machineId": "m1"}).want(t, 200, "")
		if err := a.svc.FlushValidations(t.Context()); err != nil {
			t.Fatal(err)
		}
		a.clock.Add(50 * time.Second)
		b.clock.Set(a.clock.Now())
		b.do("POST", "/validate/activate", "", map[string]any{"key": key, "machineId": "m2"}).want(t, 403, "License already activated on another machine")
		a.clock.Add(11 * time.Second)
		b.clock.Set(a.clock.Now())
		b.do("POST", "/validate/activate", "", map[string]any{"key": key, "machineId": "m2"}).want(t, 200, "License activated successfully")
	})
}
