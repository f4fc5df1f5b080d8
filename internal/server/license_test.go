package server_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/keyboxhq/keybox"
)

// seat binds a machine to a license directly in the store, as an activation
// does, so management tests need not go through the public API.
func (e *env) seat(key, machine string) string {
	e.t.Helper()
	ctx := context.Background()
	now := keybox.NewTime(e.clock.Now())
	ids, _ := keybox.NewIDs(nil)
	id := ids.New(now.Time)
	err := e.store.Update(ctx, func(tx keybox.Tx) error {
		l, err := tx.LicenseForUpdate(ctx, key)
		if err != nil {
			return err
		}
		if l.Status == keybox.StatusPending {
			l.Status, l.ActivatedAt, l.IssuedAt = keybox.StatusActive, now, now
			l.ExpiresAt = keybox.NewTime(now.AddDate(0, l.Duration, 0))
			l.MachineID = keybox.NullString(machine)
		}
		if err := tx.UpdateLicense(ctx, l); err != nil {
			return err
		}
		return tx.CreateActivation(ctx, keybox.Activation{ID: id, LicenseID: l.ID, MachineID: machine, ActivatedAt: now, CreatedAt: now, UpdatedAt: now})
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return id
}

func TestCreateLicense(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		_, token := e.developer("ada@example.com")
		acme := e.client(token, "Acme", "acme@example.com")
		other := e.client(token, "Other", "other@example.com")
		project, _ := e.projectWithLicense(token, acme, "Website")
		_, bob := e.developer("bob@example.com")
		bobsClient := e.client(bob, "B", "b@example.com")
		bobsProject, _ := e.projectWithLicense(bob, bobsClient, "B")
		valid := map[string]any{"duration": 12, "clientId": acme, "projectId": project}
		body := func(change map[string]any) map[string]any { return changed(valid, change) }
		// POST /license/create: each rule in the order it is checked.
		cases := []struct {
			name   string
			body   any
			status int
			msg    string
		}{
			{"bad duration first", body(map[string]any{"duration": 0, "clientId": nil}), 400, "Invalid duration"},
			{"missing clientId", body(map[string]any{"clientId": nil}), 400, "Client & Project required"},
			{"missing projectId", body(map[string]any{"projectId": ""}), 400, "Client & Project required"},
			{"bad services", body(map[string]any{"services": []string{}}), 400, "At least one service is required"},
			{"bad seats", body(map[string]any{"maxMachines": 0}), 400, "Invalid maxMachines: use an integer from 1 to 1000"},
			{"too many seats", body(map[string]any{"maxMachines": 1001}), 400, "Invalid maxMachines: use an integer from 1 to 1000"},
			{"key too short", body(map[string]any{"key": "abc"}), 400, "Invalid license key: use 4 to 128 printable characters without spaces"},
			{"key with space", body(map[string]any{"key": "AB CD"}), 400, "Invalid license key: use 4 to 128 printable characters without spaces"},
			{"client unknown", body(map[string]any{"clientId": "000000000000000000000000"}), 404, "Client not found"},
			{"another developer's client", body(map[string]any{"clientId": bobsClient}), 404, "Client not found"},
			{"project unknown", body(map[string]any{"projectId": "000000000000000000000000"}), 404, "Project not found"},
			{"project of another client", body(map[string]any{"clientId": other}), 404, "Project not found"},
			{"another developer's project", body(map[string]any{"projectId": bobsProject}), 404, "Project not found"},
			{"created", body(map[string]any{"maxMachines": 5, "services": []string{"Domain"}}), 201, "License created"},
			{"imported key", body(map[string]any{"key": "LEGACY-0001/x"}), 201, "License created"},
			{"imported key taken", body(map[string]any{"key": "LEGACY-0001/x"}), 409, "License key already exists"},
		}
		for _, tc := range cases {
			r := e.do("POST", "/license/create", token, tc.body)
			if r.status != tc.status || r.body["message"] != tc.msg {
				t.Errorf("%s: got %d %s, want %d %q", tc.name, r.status, r.raw, tc.status, tc.msg)
			}
			if tc.status == 409 && r.body["field"] != "key" {
				t.Errorf("%s: field %v, want key", tc.name, r.body["field"])
			}
			if tc.name == "created" {
				golden(t, "license_created", r.raw)
				key := r.obj("license")["key"].(string)
				if len(key) != 26 || !strings.HasPrefix(key, "KB-") || strings.ToUpper(key) != key {
					t.Errorf("generated key %q: want KB- and four groups of five upper-case symbols", key)
				}
			}
		}
		// An imported key with a slash is reachable, escaped, by path.
		e.do("GET", "/license/LEGACY-0001%2Fx", token, nil).want(t, 200, "")
	})
}

func TestGeneratedKeysAreDistinct(t *testing.T) {
	e := newEnv(t, storeSQLite(t))
	_, token := e.developer("ada@example.com")
	acme := e.client(token, "Acme", "acme@example.com")
	project, first := e.projectWithLicense(token, acme, "Website")
	seen := map[string]bool{first: true}
	for range 200 {
		r := e.do("POST", "/license/create", token, map[string]any{"duration": 1, "clientId": acme, "projectId": project}).want(t, 201, "License created")
		k := r.obj("license")["key"].(string)
		if seen[k] {
			t.Fatalf("key %s issued twice", k)
		}
		seen[k] = true
	}
}

func TestToggleRevoke(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		_, token := e.developer("ada@example.com")
		acme := e.client(token, "Acme", "acme@example.com")
		_, pending := e.projectWithLicense(token, acme, "Never activated")
		_, active := e.projectWithLicense(token, acme, "Activated")
		e.seat(active, "m1")
		toggle := func(key string, status int, msg string) response {
			t.Helper()
			return e.do("PATCH", "/license/revoke/"+key, token, nil).want(t, status, msg)
		}
		// PENDING → REVOKED → PENDING (never activated).
		r := toggle(pending, 200, "License status changed to REVOKED")
		if r.str("key") != pending || r.str("status") != "REVOKED" {
			t.Fatalf("toggle answer: %s", r.raw)
		}
		toggle(pending, 200, "License status changed to PENDING")
		// ACTIVE → REVOKED → ACTIVE (was activated).
		toggle(active, 200, "License status changed to REVOKED")
		toggle(active, 200, "License status changed to ACTIVE")
		// Past its expiry an ACTIVE license is EXPIRED at once, sweep or not.
		e.clock.Add(3*31*24*time.Hour + time.Hour)
		token = e.login("ada@example.com") // the old token expired with the months
		toggle(active, 409, "Expired license cannot be toggled; renew it instead")
		if st := e.do("GET", "/license/"+active, token, nil).obj("license")["status"]; st != "EXPIRED" {
			t.Fatalf("status shown after expiry: %v, want EXPIRED", st)
		}
		toggle("NO-SUCH-KEY", 404, "License not found")
		_, bob := e.developer("bob@example.com")
		e.do("PATCH", "/license/revoke/"+pending, bob, nil).want(t, 404, "License not found")
	})
}

func TestRenew(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		_, token := e.developer("ada@example.com")
		acme := e.client(token, "Acme", "acme@example.com")
		_, pending := e.projectWithLicense(token, acme, "Pending")
		_, active := e.projectWithLicense(token, acme, "Active")
		e.seat(active, "m1")
		start := e.clock.Now()

		e.do("POST", "/license/renew/"+active, token, map[string]any{"duration": 0}).want(t, 400, "Invalid duration")
		e.do("POST", "/license/renew/NOPE", token, map[string]any{"duration": 1}).want(t, 404, "License not found")

		// PENDING: the clock has not started; the months add to its duration.
		l := e.do("POST", "/license/renew/"+pending, token, map[string]any{"duration": 2}).want(t, 200, "License renewed").obj("license")
		if l["duration"] != 5.0 || l["status"] != "PENDING" || l["expiresAt"] != keybox.NewTime(start.AddDate(0, 5, 0)).String() {
			t.Fatalf("renewed pending: %v", l)
		}
		// ACTIVE: from the current expiry.
		l = e.do("POST", "/license/renew/"+active, token, map[string]any{"duration": 1}).want(t, 200, "License renewed").obj("license")
		if l["expiresAt"] != keybox.NewTime(start.AddDate(0, 4, 0)).String() || l["status"] != "ACTIVE" {
			t.Fatalf("renewed active: %v", l)
		}
		// EXPIRED: from now, and ACTIVE again.
		e.clock.Add(200 * 24 * time.Hour)
		token = e.login("ada@example.com")
		if n, err := e.svc.SweepExpired(t.Context()); err != nil || n != 1 {
			t.Fatalf("sweep: %d, %v; want 1 expired", n, err)
		}
		now := e.clock.Now()
		l = e.do("POST", "/license/renew/"+active, token, map[string]any{"duration": 3}).want(t, 200, "License renewed").obj("license")
		if l["expiresAt"] != keybox.NewTime(now.AddDate(0, 3, 0)).String() || l["status"] != "ACTIVE" {
			t.Fatalf("renewed expired: %v", l)
		}
	})
}

func TestPatchLicenseAndFreeSeat(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		_, token := e.developer("ada@example.com")
		acme := e.client(token, "Acme", "acme@example.com")
		_, key := e.projectWithLicense(token, acme, "Website")
		e.do("PATCH", "/license/"+key, token, map[string]any{"maxMachines": 3}).want(t, 200, "License updated")
		a1 := e.seat(key, "laptop")
		e.clock.Add(time.Second)
		e.seat(key, "desktop")
		e.do("PATCH", "/license/"+key, token, map[string]any{"maxMachines": 1}).want(t, 409, "maxMachines is below the seats in use; free a seat first")
		e.do("PATCH", "/license/"+key, token, map[string]any{"maxMachines": "many"}).want(t, 400, "Invalid maxMachines: use an integer from 1 to 1000")
		e.do("PATCH", "/license/"+key, token, map[string]any{"services": []string{"Nope"}}).want(t, 400, "At least one service is required")
		l := e.do("PATCH", "/license/"+key, token, map[string]any{"maxMachines": 2, "services": []string{"Domain", "Hosting"}, "productName": "Acme Desktop"}).
			want(t, 200, "License updated").obj("license")
		if l["maxMachines"] != 2.0 || len(l["services"].([]any)) != 2 || l["productName"] != "Acme Desktop" {
			t.Fatalf("patched: %v", l)
		}

		r := e.do("GET", "/license/"+key, token, nil).want(t, 200, "")
		if acts := r.list("activations"); len(acts) != 2 || r.obj("license")["machineId"] != "laptop" {
			t.Fatalf("license with activations: %s", r.raw)
		}
		e.do("DELETE", "/license/"+key+"/activations/000000000000000000000000", token, nil).want(t, 404, "Activation not found")
		e.do("DELETE", "/license/"+key+"/activations/"+a1, token, nil).want(t, 200, "Activation removed")
		r = e.do("GET", "/license/"+key, token, nil).want(t, 200, "")
		if acts := r.list("activations"); len(acts) != 1 || r.obj("license")["machineId"] != "desktop" || r.obj("license")["status"] != "ACTIVE" {
			t.Fatalf("after freeing a seat: %s", r.raw)
		}
		e.do("PATCH", "/license/"+key, token, map[string]any{"maxMachines": 1}).want(t, 200, "License updated")
	})
}

func TestListLicenses(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		_, token := e.developer("ada@example.com")
		acme := e.client(token, "Acme", "acme@example.com")
		other := e.client(token, "Other", "other@example.com")
		p1, k1 := e.projectWithLicense(token, acme, "One")
		_, k2 := e.projectWithLicense(token, other, "Two")
		e.seat(k1, "m")
		e.do("PATCH", "/license/revoke/"+k2, token, nil).want(t, 200, "")
		count := func(q string) float64 {
			t.Helper()
			return e.do("GET", "/license?"+q, token, nil).want(t, 200, "").body["total"].(float64)
		}
		for q, want := range map[string]float64{
			"": 2, "status=ACTIVE": 1, "status=revoked": 1, "status=PENDING": 0, "clientId=" + other: 1,
			"projectId=" + p1: 1, "q=" + strings.ToLower(k1[3:8]): 1,
		} {
			if got := count(q); got != want {
				t.Errorf("GET /license?%s: total %v, want %v", q, got, want)
			}
		}
		e.do("GET", "/license?status=LOST", token, nil).want(t, 400, "Invalid status: use PENDING, ACTIVE, EXPIRED or REVOKED")
		e.clock.Add(4 * 31 * 24 * time.Hour)
		token = e.login("ada@example.com")
		if got := count("status=EXPIRED"); got != 1 {
			t.Errorf("lapsed ACTIVE license: status=EXPIRED total %v, want 1", got)
		}
	})
}

func TestUserLicenseViews(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		adminID, admin := e.developer("admin@example.com")
		bobID, bob := e.developer("bob@example.com")
		acme := e.client(bob, "Acme", "acme@example.com")
		e.projectWithLicense(bob, acme, "One")
		e.projectWithLicense(bob, acme, "Two")
		r := e.do("GET", "/license/me", bob, nil).want(t, 200, "User details successfully retrieved")
		if r.body["licenseCount"] != 2.0 || r.obj("user")["_id"] != bobID {
			t.Fatalf("/license/me: %s", r.raw)
		}
		r = e.do("GET", "/license/user/"+bobID, admin, nil).want(t, 200, "User details successfully retrieved")
		if r.body["licenseCount"] != 2.0 {
			t.Fatalf("admin view: %s", r.raw)
		}
		e.do("GET", "/license/user/"+bobID, bob, nil).want(t, 200, "User details successfully retrieved")
		e.do("GET", "/license/user/"+adminID, bob, nil).want(t, 404, "User not found")
		e.do("GET", "/license/user/000000000000000000000000", admin, nil).want(t, 404, "User not found")
	})
}
