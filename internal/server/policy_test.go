package server_test

import (
	"encoding/json"
	"strings"
	"testing"
)

const defaultPolicy = `{"duration":0,"maxMachines":1,"leaseSeconds":0,"requireMachineId":false,"entitlements":[]}`

// wantInvalid checks a 400 "Validation error" that names exactly the
// members given, each with its reason.
func wantInvalid(t *testing.T, r response, reasons map[string]string) {
	t.Helper()
	r.want(t, 400, "Validation error")
	errs := r.obj("errors")
	if len(errs) != len(reasons) {
		t.Fatalf("errors %v, want %v", errs, reasons)
	}
	for k, want := range reasons {
		if got, _ := errs[k].(string); !strings.HasPrefix(got, want) {
			t.Fatalf("errors.%s = %q, want %q… (body %s)", k, got, want, r.raw)
		}
	}
	if r.str("details") == "" {
		t.Fatalf("no details: %s", r.raw)
	}
}

// TestProjectPolicy: GET and PATCH /projects/:id/policy. A PATCH changes
// only the members it sends; a wrong member is named and changes nothing.
func TestProjectPolicy(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		_, token := e.developer("ada@example.com")
		client := e.client(token, "Acme", "acme@example.com")
		project, _ := e.projectWithLicense(token, client, "Website")
		path := "/projects/" + project + "/policy"
		policy := func() string {
			t.Helper()
			return strings.TrimSpace(string(e.do("GET", path, token, nil).want(t, 200, "").raw))
		}
		if got := policy(); got != `{"policy":`+defaultPolicy+`}` {
			t.Fatalf("a new project's policy: %s", got)
		}
		steps := []struct {
			patch map[string]any
			want  string
		}{
			{map[string]any{"requireMachineId": true}, `{"duration":0,"maxMachines":1,"leaseSeconds":0,"requireMachineId":true,"entitlements":[]}`},
			{map[string]any{"duration": 6}, `{"duration":6,"maxMachines":1,"leaseSeconds":0,"requireMachineId":true,"entitlements":[]}`},
			{map[string]any{"maxMachines": "5"}, `{"duration":6,"maxMachines":5,"leaseSeconds":0,"requireMachineId":true,"entitlements":[]}`},
			{map[string]any{"leaseSeconds": 60}, `{"duration":6,"maxMachines":5,"leaseSeconds":60,"requireMachineId":true,"entitlements":[]}`},
			{map[string]any{"entitlements": []string{"pro", "export", "pro", "a.b_c-d"}},
				`{"duration":6,"maxMachines":5,"leaseSeconds":60,"requireMachineId":true,"entitlements":["a.b_c-d","export","pro"]}`},
			{map[string]any{}, ""},
			{map[string]any{"duration": nil, "maxMachines": nil, "leaseSeconds": nil, "requireMachineId": nil, "entitlements": nil}, ""},
			{map[string]any{"duration": 0, "leaseSeconds": 0, "entitlements": []string{}},
				`{"duration":0,"maxMachines":5,"leaseSeconds":0,"requireMachineId":true,"entitlements":[]}`},
			{map[string]any{"duration": 12, "maxMachines": 1000, "leaseSeconds": 31536000, "requireMachineId": false, "entitlements": []string{"pro"}},
				`{"duration":12,"maxMachines":1000,"leaseSeconds":31536000,"requireMachineId":false,"entitlements":["pro"]}`},
		}
		last := ""
		for _, st := range steps {
			r := e.do("PATCH", path, token, st.patch).want(t, 200, "Policy updated")
			want := st.want
			if want == "" {
				want = last
			}
			if got := strings.TrimSpace(string(r.raw)); got != `{"message":"Policy updated","policy":`+want+`}` {
				t.Fatalf("PATCH %v: %s, want policy %s", st.patch, got, want)
			}
			if got := policy(); got != `{"policy":`+want+`}` {
				t.Fatalf("GET after PATCH %v: %s", st.patch, got)
			}
			last = want
		}

		// Each wrong member is named; none of the members sent with it is applied.
		many := strings.Split(strings.Repeat("x,", 65), ",")
		for i := range many {
			many[i] = "f" + strings.Repeat("0", i%3) + string(rune('a'+i%26)) + string(rune('a'+i/26))
		}
		bad := []struct {
			patch   map[string]any
			reasons map[string]string
		}{
			{map[string]any{"duration": 13}, map[string]string{"duration": "must be an integer from 1 to 12, or 0"}},
			{map[string]any{"duration": -1}, map[string]string{"duration": "must be an integer"}},
			{map[string]any{"duration": 1.5}, map[string]string{"duration": "must be an integer"}},
			{map[string]any{"duration": "six"}, map[string]string{"duration": "must be an integer"}},
			{map[string]any{"maxMachines": 0}, map[string]string{"maxMachines": "must be an integer from 1 to 1000"}},
			{map[string]any{"maxMachines": 1001}, map[string]string{"maxMachines": "must be an integer from 1 to 1000"}},
			{map[string]any{"leaseSeconds": 59}, map[string]string{"leaseSeconds": "must be 0 (no lease) or an integer from 60 to 31536000"}},
			{map[string]any{"leaseSeconds": 31536001}, map[string]string{"leaseSeconds": "must be 0"}},
			{map[string]any{"leaseSeconds": true}, map[string]string{"leaseSeconds": "must be 0"}},
			{map[string]any{"entitlements": "pro"}, map[string]string{"entitlements": "must be an array of at most 64 codes"}},
			{map[string]any{"entitlements": []any{"pro", 1}}, map[string]string{"entitlements": "must be an array"}},
			{map[string]any{"entitlements": []string{"Pro"}}, map[string]string{"entitlements": "must be an array"}},
			{map[string]any{"entitlements": []string{"-pro"}}, map[string]string{"entitlements": "must be an array"}},
			{map[string]any{"entitlements": []string{""}}, map[string]string{"entitlements": "must be an array"}},
			{map[string]any{"entitlements": []string{"pro,export"}}, map[string]string{"entitlements": "must be an array"}},
			{map[string]any{"entitlements": []string{"a" + strings.Repeat("b", 64)}}, map[string]string{"entitlements": "must be an array"}},
			{map[string]any{"entitlements": many}, map[string]string{"entitlements": "must be an array"}},
			{map[string]any{"entitlements": map[string]any{"pro": true}}, map[string]string{"entitlements": "must be an array"}},
			{map[string]any{"requireMachineId": "yes"}, map[string]string{"requireMachineId": "must be a boolean"}},
			{map[string]any{"duration": 0.5, "maxMachines": 0, "leaseSeconds": 1, "entitlements": []string{"A"}, "requireMachineId": true},
				map[string]string{"duration": "must be", "maxMachines": "must be", "leaseSeconds": "must be", "entitlements": "must be"}},
		}
		for _, b := range bad {
			wantInvalid(t, e.do("PATCH", path, token, b.patch), b.reasons)
		}
		if got := policy(); got != `{"policy":`+last+`}` {
			t.Fatalf("policy after refused patches: %s, want %s", got, last)
		}
		// 64 distinct codes are allowed, and repeats count once.
		r := e.do("PATCH", path, token, map[string]any{"entitlements": append(append([]string{}, many[:64]...), many[:10]...)}).want(t, 200, "Policy updated")
		if got := r.obj("policy")["entitlements"].([]any); len(got) != 64 {
			t.Fatalf("64 codes and 10 repeats: %d kept", len(got))
		}

		for _, id := range []string{"000000000000000000000000", "zzz"} {
			e.do("GET", "/projects/"+id+"/policy", token, nil).want(t, 404, "Project not found")
			e.do("PATCH", "/projects/"+id+"/policy", token, map[string]any{"requireMachineId": false}).want(t, 404, "Project not found")
		}
		e.do("GET", path, "", nil).want(t, 401, "No token provided")
		e.do("PATCH", path, "", map[string]any{"requireMachineId": false}).want(t, 401, "No token provided")
	})
}

// TestPolicyDefaultsAndOverrides: a new license copies every member of its
// project's policy and may override each; changing the policy leaves the
// licenses already issued as they were.
func TestPolicyDefaultsAndOverrides(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		_, token := e.developer("ada@example.com")
		client := e.client(token, "Acme", "acme@example.com")
		project, first := e.projectWithLicense(token, client, "Website")
		e.do("PATCH", "/projects/"+project+"/policy", token, map[string]any{
			"duration": 6, "maxMachines": 3, "leaseSeconds": 120, "requireMachineId": true, "entitlements": []string{"pro", "export"},
		}).want(t, 200, "Policy updated")
		create := func(body map[string]any) response {
			t.Helper()
			return e.do("POST", "/license/create", token, changed(map[string]any{"clientId": client, "projectId": project}, body))
		}
		terms := func(l map[string]any) string {
			t.Helper()
			b, _ := json.Marshal(map[string]any{"duration": l["duration"], "maxMachines": l["maxMachines"], "leaseSeconds": l["leaseSeconds"],
				"requireMachineId": l["requireMachineId"], "entitlements": l["entitlements"], "metadata": l["metadata"]})
			return string(b)
		}
		copied := create(nil).want(t, 201, "License created").obj("license")
		if got := terms(copied); got != `{"duration":6,"entitlements":["export","pro"],"leaseSeconds":120,"maxMachines":3,"metadata":{},"requireMachineId":true}` {
			t.Fatalf("a license copying the policy: %s", got)
		}
		overridden := create(map[string]any{"duration": 1, "maxMachines": 1, "leaseSeconds": 0, "requireMachineId": false,
			"entitlements": []string{}, "metadata": map[string]any{"seats": 1}}).want(t, 201, "License created").obj("license")
		if got := terms(overridden); got != `{"duration":1,"entitlements":[],"leaseSeconds":0,"maxMachines":1,"metadata":{"seats":1},"requireMachineId":false}` {
			t.Fatalf("a license overriding every member: %s", got)
		}
		// One member overridden, the others copied.
		if got := terms(create(map[string]any{"entitlements": []string{"sso"}}).want(t, 201, "").obj("license")); got != `{"duration":6,"entitlements":["sso"],"leaseSeconds":120,"maxMachines":3,"metadata":{},"requireMachineId":true}` {
			t.Fatalf("entitlements overridden: %s", got)
		}
		// The policy's duration: the clock still starts at activation.
		if l := create(nil).obj("license"); l["expiresAt"] != e.clock.Now().AddDate(0, 6, 0).Format("2006-01-02T15:04:05.000Z") {
			t.Fatalf("provisional expiry of a 6-month policy license: %v", l["expiresAt"])
		}
		for _, b := range []struct {
			body    map[string]any
			status  int
			msg     string
			reasons map[string]string
		}{
			{map[string]any{"duration": 0}, 400, "Invalid duration", nil},
			{map[string]any{"maxMachines": 0}, 400, "Invalid maxMachines: use an integer from 1 to 1000", nil},
			{map[string]any{"leaseSeconds": 30}, 400, "Validation error", map[string]string{"leaseSeconds": "must be 0"}},
			{map[string]any{"entitlements": []string{"PRO"}}, 400, "Validation error", map[string]string{"entitlements": "must be an array"}},
			{map[string]any{"metadata": []any{1}}, 400, "Validation error", map[string]string{"metadata": "must be a JSON object of at most 4096 bytes"}},
			{map[string]any{"metadata": "x"}, 400, "Validation error", map[string]string{"metadata": "must be a JSON object"}},
			{map[string]any{"metadata": map[string]any{"x": strings.Repeat("y", 4090)}}, 400, "Validation error", map[string]string{"metadata": "must be a JSON object"}},
			{map[string]any{"leaseSeconds": -5, "metadata": 5}, 400, "Validation error", map[string]string{"leaseSeconds": "must be", "metadata": "must be"}},
			{map[string]any{"requireMachineId": "no"}, 400, "Validation error", map[string]string{"requireMachineId": "must be a boolean"}},
		} {
			r := create(b.body)
			if b.reasons != nil {
				wantInvalid(t, r, b.reasons)
				continue
			}
			r.want(t, b.status, b.msg)
		}
		if n := e.do("GET", "/license?projectId="+project, token, nil).body["total"]; n != 5.0 {
			t.Fatalf("%v licenses in the project, want 5: refused creates must leave nothing", n)
		}
		// Metadata of exactly 4096 bytes, compacted, is kept.
		big := `{"x":"` + strings.Repeat("y", 4096-8) + `"}`
		if l := create(map[string]any{"metadata": json.RawMessage("  " + big[:5] + " " + big[5:])}).want(t, 201, "").obj("license"); len(mustJSON(t, l["metadata"])) != 4096 {
			t.Fatalf("metadata of 4096 bytes: %d", len(mustJSON(t, l["metadata"])))
		}

		// Changing the policy leaves issued licenses as they are.
		e.do("PATCH", "/projects/"+project+"/policy", token, map[string]any{"duration": 0, "maxMachines": 1, "leaseSeconds": 0,
			"requireMachineId": false, "entitlements": []string{}}).want(t, 200, "Policy updated")
		for key, want := range map[string]string{
			first:                      `{"duration":3,"entitlements":[],"leaseSeconds":0,"maxMachines":1,"metadata":{},"requireMachineId":false}`,
			copied["key"].(string):     `{"duration":6,"entitlements":["export","pro"],"leaseSeconds":120,"maxMachines":3,"metadata":{},"requireMachineId":true}`,
			overridden["key"].(string): `{"duration":1,"entitlements":[],"leaseSeconds":0,"maxMachines":1,"metadata":{"seats":1},"requireMachineId":false}`,
		} {
			if got := terms(e.do("GET", "/license/"+key, token, nil).obj("license")); got != want {
				t.Errorf("license %s after the policy changed: %s, want %s", key, got, want)
			}
		}
		// Without a duration of its own or its policy's, a license has none.
		create(nil).want(t, 400, "Invalid duration")
		e.do("POST", "/license/create", token, map[string]any{"projectId": project}).want(t, 400, "Invalid duration")
	})
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestPatchLicenseTerms: PATCH /license/:key overrides each term of one
// license: lease, entitlements, metadata, and the duration before the
// first activation.
func TestPatchLicenseTerms(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		token, key := e.newKey("ada@example.com")
		path := "/license/" + key
		l := e.do("PATCH", path, token, map[string]any{"leaseSeconds": 600, "entitlements": []string{"pro", "export"},
			"metadata": map[string]any{"plan": "gold"}, "duration": 9}).want(t, 200, "License updated").obj("license")
		if l["leaseSeconds"] != 600.0 || mustString(t, l["entitlements"]) != `["export","pro"]` || mustString(t, l["metadata"]) != `{"plan":"gold"}` ||
			l["duration"] != 9.0 || l["expiresAt"] != e.clock.Now().AddDate(0, 9, 0).Format("2006-01-02T15:04:05.000Z") {
			t.Fatalf("patched: %v", l)
		}
		// Absent members stay; {} and [] clear.
		l = e.do("PATCH", path, token, map[string]any{"maxMachines": 2}).want(t, 200, "").obj("license")
		if l["leaseSeconds"] != 600.0 || mustString(t, l["entitlements"]) != `["export","pro"]` || mustString(t, l["metadata"]) != `{"plan":"gold"}` {
			t.Fatalf("after an unrelated patch: %v", l)
		}
		wantInvalid(t, e.do("PATCH", path, token, map[string]any{"entitlements": []string{"ok", "NOT OK"}, "metadata": "{}"}),
			map[string]string{"entitlements": "must be", "metadata": "must be"})
		e.do("POST", "/validate/activate", "", map[string]any{"key": key, "machineId": "m1"}).want(t, 200, "License activated successfully")
		r := e.do("PATCH", path, token, map[string]any{"duration": 12}).want(t, 409, "License has been activated; renew it to change its duration")
		if r.str("field") != "duration" {
			t.Fatalf("409 without its field: %s", r.raw)
		}
		e.do("PATCH", path, token, map[string]any{"duration": 9}).want(t, 200, "License updated") // unchanged: nothing to refuse
		l = e.do("PATCH", path, token, map[string]any{"entitlements": []string{}, "metadata": map[string]any{}, "leaseSeconds": 0}).want(t, 200, "").obj("license")
		if l["leaseSeconds"] != 0.0 || mustString(t, l["entitlements"]) != `[]` || mustString(t, l["metadata"]) != `{}` {
			t.Fatalf("cleared: %v", l)
		}
	})
}

func mustString(t *testing.T, v any) string { return string(mustJSON(t, v)) }

// TestCreateProjectWithPolicy: createProject may carry the new project's
// policy; its first license is issued under it, and a wrong member is named
// and creates nothing.
func TestCreateProjectWithPolicy(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		_, token := e.developer("ada@example.com")
		client := e.client(token, "Acme", "acme@example.com")
		body := func(change map[string]any) map[string]any {
			return changed(map[string]any{"clientId": client, "projectName": "Floating", "services": []string{"Hosting"},
				"policy": map[string]any{"duration": 12, "maxMachines": 10, "leaseSeconds": 300, "requireMachineId": true, "entitlements": []string{"pro"}}}, change)
		}
		r := e.do("POST", "/projects/createProject", token, body(nil)).want(t, 201, "Project and License created successfully")
		project, l := r.obj("project"), r.obj("license")
		if l["duration"] != 12.0 || l["maxMachines"] != 10.0 || l["leaseSeconds"] != 300.0 || l["requireMachineId"] != true || mustString(t, l["entitlements"]) != `["pro"]` {
			t.Fatalf("first license under the policy: %v", l)
		}
		if got := strings.TrimSpace(string(e.do("GET", "/projects/"+project["_id"].(string)+"/policy", token, nil).raw)); got != `{"policy":{"duration":12,"maxMachines":10,"leaseSeconds":300,"requireMachineId":true,"entitlements":["pro"]}}` {
			t.Fatalf("the new project's policy: %s", got)
		}
		// The body's duration wins over the policy's.
		if l := e.do("POST", "/projects/createProject", token, body(map[string]any{"duration": 2})).want(t, 201, "").obj("license"); l["duration"] != 2.0 {
			t.Fatalf("duration 2 with a 12-month policy: %v", l["duration"])
		}
		// The first license of a strict policy refuses id-less calls.
		e.do("POST", "/validate/activate", "", map[string]any{"key": l["key"]}).want(t, 400, "Machine ID is required")
		e.do("POST", "/validate/activate", "", map[string]any{"key": l["key"], "machineId": "m1"}).want(t, 200, "License activated successfully")
		e.do("POST", "/validate", "", map[string]any{"key": l["key"]}).want(t, 400, "Machine ID is required")

		for _, b := range []struct {
			change  map[string]any
			msg     string
			reasons map[string]string
		}{
			{map[string]any{"policy": map[string]any{"leaseSeconds": 300}}, "Invalid duration", nil},
			{map[string]any{"policy": map[string]any{"duration": 0}}, "Invalid duration", nil},
			{map[string]any{"policy": map[string]any{"duration": 13}}, "Invalid duration", nil},
			{map[string]any{"duration": 1, "policy": map[string]any{"duration": 13}}, "Validation error", map[string]string{"policy.duration": "must be"}},
			{map[string]any{"policy": map[string]any{"duration": 1, "maxMachines": 0, "entitlements": []string{"Pro"}}}, "Validation error",
				map[string]string{"policy.maxMachines": "must be", "policy.entitlements": "must be"}},
			{map[string]any{"duration": 1, "policy": "strict"}, "Validation error", map[string]string{"policy": "must be an object"}},
			{map[string]any{"duration": 1, "policy": map[string]any{"requireMachineId": 1}}, "Validation error", map[string]string{"policy.requireMachineId": "must be a boolean"}},
			{map[string]any{"services": []string{}}, "At least one service is required", nil},
		} {
			r := e.do("POST", "/projects/createProject", token, body(b.change))
			if b.reasons != nil {
				wantInvalid(t, r, b.reasons)
				continue
			}
			r.want(t, 400, b.msg)
		}
		if n := e.do("GET", "/projects", token, nil).body["total"]; n != 2.0 {
			t.Fatalf("%v projects, want 2: refused creates must leave nothing", n)
		}
		// Without a policy, createProject is KeyBox's: one seat, no lease, nothing else.
		_, plain := e.projectWithLicense(token, client, "Plain")
		if l := e.do("GET", "/license/"+plain, token, nil).obj("license"); l["maxMachines"] != 1.0 || l["leaseSeconds"] != 0.0 || mustString(t, l["entitlements"]) != `[]` {
			t.Fatalf("a license without a policy: %v", l)
		}
	})
}
