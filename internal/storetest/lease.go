package storetest

import (
	"context"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/keyboxhq/keybox"
)

// testPolicyAndLicenseTermsRoundTrip: every member of a project's policy,
// and a license's lease, entitlements and metadata, read back as written.
func testPolicyAndLicenseTermsRoundTrip(t *testing.T, s keybox.Store) {
	f := newFixture(t, s)
	ctx := context.Background()
	alice := f.user("alice@example.com")
	c := f.client(alice, "acme@example.com", base)
	p := keybox.Project{ID: f.id(), Name: "Floating", ClientID: c.ID, OwnerID: alice.ID, CreatedAt: base, UpdatedAt: base,
		Policy: keybox.Policy{Duration: 12, MaxMachines: 5, LeaseSeconds: 300, RequireMachineID: true, Entitlements: []string{"export", "pro"}}}
	f.must(f.update(func(tx keybox.Tx) error { return tx.CreateProject(ctx, p) }))
	got, err := s.Project(ctx, alice.ID, p.ID)
	f.must(err)
	if !reflect.DeepEqual(got, p) {
		t.Fatalf("project: got %+v, want %+v", got, p)
	}
	p.Policy = keybox.Policy{MaxMachines: 1}
	p.UpdatedAt = keybox.NewTime(base.Add(time.Second))
	f.must(f.update(func(tx keybox.Tx) error { return tx.UpdateProject(ctx, p) }))
	list, _, err := s.Projects(ctx, keybox.ProjectFilter{OwnerID: alice.ID})
	f.must(err)
	if len(list) != 1 || !reflect.DeepEqual(list[0], p) {
		t.Fatalf("projects after clearing the policy: %+v, want %+v", list, p)
	}

	l := f.license(p, "KB-TERMS", keybox.StatusPending, keybox.NewTime(base.AddDate(0, 3, 0)))
	l.LeaseSeconds, l.Entitlements = 31536000, []string{"a", "b.c", "d_e-f"}
	l.Metadata = json.RawMessage(`{"plan":"gold","limits":{"users":5},"note":"caf\u00e9 ✓ \"q\""}`)
	f.must(f.update(func(tx keybox.Tx) error { return tx.UpdateLicense(ctx, l) }))
	gotL, err := s.License(ctx, l.Key)
	f.must(err)
	if !reflect.DeepEqual(gotL, l) {
		t.Fatalf("license: got %+v, want %+v", gotL, l)
	}
	l.LeaseSeconds, l.Entitlements, l.Metadata = 0, nil, nil
	f.must(f.update(func(tx keybox.Tx) error { return tx.UpdateLicense(ctx, l) }))
	ls, _, err := s.Licenses(ctx, keybox.LicenseFilter{OwnerID: alice.ID})
	f.must(err)
	if len(ls) != 1 || !reflect.DeepEqual(ls[0], l) {
		t.Fatalf("licenses after clearing the terms: %+v, want %+v", ls, l)
	}
}

// testLapsedLeases: the licenses the lease sweep must look at are those with
// a lease and a seat whose machine was last heard from a lease or more ago,
// by its activation or its last validation, whichever is later.
func testLapsedLeases(t *testing.T, s keybox.Store) {
	f := newFixture(t, s)
	ctx := context.Background()
	alice := f.user("alice@example.com")
	p := f.project(f.client(alice, "a@example.com", base), "A")
	const lease = 31536000 // the longest lease: its milliseconds overflow 32 bits
	leased := func(key string, seconds int, seats ...time.Duration) keybox.License {
		t.Helper()
		l := f.license(p, key, keybox.StatusActive, keybox.NewTime(base.AddDate(2, 0, 0)))
		l.LeaseSeconds = seconds
		f.must(f.update(func(tx keybox.Tx) error { return tx.UpdateLicense(ctx, l) }))
		for _, ago := range seats {
			at := keybox.NewTime(base.Add(-ago))
			a := keybox.Activation{ID: f.id(), LicenseID: l.ID, MachineID: key + ago.String(), ActivatedAt: at, CreatedAt: at, UpdatedAt: at}
			f.must(f.update(func(tx keybox.Tx) error { return tx.CreateActivation(ctx, a) }))
		}
		return l
	}
	year := time.Duration(lease) * time.Second
	leased("B-LAPSED", lease, year+time.Hour, time.Hour)
	leased("A-EXACTLY", lease, year) // silent exactly a lease: lapsed
	leased("C-LIVE", lease, year-time.Millisecond)
	leased("D-NO-LEASE", 0, 10*year)
	revived := leased("E-REVIVED", 60, time.Hour)
	seats, err := s.Activations(ctx, revived.ID)
	f.must(err)
	f.must(s.RecordValidations(ctx, nil, []keybox.ActivationSeen{{ActivationID: seats[0].ID, At: base.Add(-59 * time.Second)}}))

	got, err := s.LapsedLeases(ctx, base.Time, 100)
	f.must(err)
	if want := []string{"A-EXACTLY", "B-LAPSED"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	if got, err = s.LapsedLeases(ctx, base.Time, 1); err != nil || !reflect.DeepEqual(got, []string{"A-EXACTLY"}) {
		t.Fatalf("limit 1: got %v, %v", got, err)
	}
	want := []string{"A-EXACTLY", "B-LAPSED", "C-LIVE", "E-REVIVED"}
	if got, err = s.LapsedLeases(ctx, base.Add(time.Second), 100); err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("a second later: got %v, %v; want %v", got, err, want)
	}
}
