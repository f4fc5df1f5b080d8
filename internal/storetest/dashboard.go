package storetest

import (
	"context"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/keyboxhq/keybox"
)

// testDashboardLicenses: the dashboard's read returns what the license list
// returns unfiltered (every column, newest first), only the owner's, and
// only one client's when asked.
func testDashboardLicenses(t *testing.T, s keybox.Store) {
	f := newFixture(t, s)
	ctx := context.Background()
	alice, bob := f.user("alice@example.com"), f.user("bob@example.com")
	acme, globex := f.client(alice, "acme@example.com", base), f.client(alice, "globex@example.com", base)
	pa, pg := f.project(acme, "App"), f.project(globex, "Tool")
	f.license(f.project(f.client(bob, "b@example.com", base), "B"), "BOB-1", keybox.StatusActive, base)

	var want []keybox.License
	for i, p := range []keybox.Project{pa, pg, pa, pg, pa} {
		l := keybox.License{
			ID: f.id(), Key: "DASH-" + string(rune('A'+i)), Duration: 1 + i, IssuedAt: base, ExpiresAt: keybox.NewTime(base.AddDate(0, i, 1)),
			Status: keybox.StatusPending, Services: []keybox.Service{keybox.ServiceHosting}, OwnerID: alice.ID, ClientID: p.ClientID, ProjectID: p.ID,
			MaxMachines: 1 + i, CreatedAt: keybox.NewTime(base.Add(time.Duration(i%3) * time.Minute)), UpdatedAt: base,
		}
		switch i {
		case 1:
			l.Status, l.ActivatedAt = keybox.StatusActive, keybox.NewTime(base.Add(time.Hour))
			l.MachineID, l.InstanceID, l.ProductName = "m1", "i1", "Tool"
			l.Services = []keybox.Service{keybox.ServiceHosting, keybox.ServiceDomain}
		case 2:
			l.Status, l.RequireMachineID, l.LeaseSeconds = keybox.StatusRevoked, true, 600
			l.Entitlements, l.Metadata = []string{"export", "pro"}, json.RawMessage(`{"tier":"gold"}`)
		case 3:
			l.Services = []keybox.Service{keybox.ServiceDomain}
		}
		f.must(f.update(func(tx keybox.Tx) error { return tx.CreateLicense(ctx, l) }))
		want = append(want, l)
	}

	for _, tc := range []struct {
		name, client string
	}{
		{"all", ""},
		{"one client", acme.ID},
		{"another owner's client", "no-such-client"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.DashboardLicenses(ctx, alice.ID, tc.client)
			f.must(err)
			listed, _, err := s.Licenses(ctx, keybox.LicenseFilter{OwnerID: alice.ID, ClientID: tc.client, Now: base.Time})
			f.must(err)
			if len(got) != len(listed) {
				t.Fatalf("got %d licenses, want %d", len(got), len(listed))
			}
			for i := range got {
				if !reflect.DeepEqual(got[i], listed[i]) {
					t.Fatalf("license %d: got %+v, want %+v", i, got[i], listed[i])
				}
			}
			n := 0
			for _, l := range want {
				if tc.client == "" || l.ClientID == tc.client {
					n++
				}
			}
			if len(got) != n {
				t.Fatalf("got %d licenses, want %d", len(got), n)
			}
		})
	}
	mine, err := s.DashboardLicenses(ctx, bob.ID, acme.ID)
	f.must(err)
	if len(mine) != 0 {
		t.Fatalf("bob sees %d of alice's licenses, want 0", len(mine))
	}
}
