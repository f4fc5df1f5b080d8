package storetest

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/keyboxhq/keybox"
)

// testLicenseSort: a list of licenses in each order, either way, ties
// newest first; by expiry the licenses never activated come last either
// way; by status, the status at Now (an ACTIVE license past its expiry is
// EXPIRED), alphabetically; and pages of a sorted list do not overlap.
func testLicenseSort(t *testing.T, s keybox.Store) {
	f := newFixture(t, s)
	ctx := context.Background()
	alice := f.user("alice@example.com")
	p := f.project(f.client(alice, "a@example.com", base), "P")
	at := func(minutes int) keybox.Time { return keybox.NewTime(base.Add(time.Duration(minutes) * time.Minute)) }
	// Created one minute apart, in the order a, b, c, d, e.
	add := func(key string, minute int, status keybox.Status, expires keybox.Time, activated bool) {
		l := keybox.License{
			ID: f.id(), Key: key, Duration: 3, IssuedAt: base, ExpiresAt: expires, Status: status,
			Services: []keybox.Service{keybox.ServiceHosting}, OwnerID: alice.ID, ClientID: p.ClientID, ProjectID: p.ID,
			MaxMachines: 1, CreatedAt: at(minute), UpdatedAt: at(minute),
		}
		if activated {
			l.ActivatedAt = at(minute)
		}
		f.must(f.update(func(tx keybox.Tx) error { return tx.CreateLicense(ctx, l) }))
	}
	add("a", 1, keybox.StatusActive, at(600), true)   // ACTIVE
	add("b", 2, keybox.StatusPending, at(100), false) // PENDING, its expiry only provisional
	add("c", 3, keybox.StatusRevoked, at(300), true)  // REVOKED
	add("d", 4, keybox.StatusActive, at(-10), true)   // EXPIRED at Now, not yet swept
	add("e", 5, keybox.StatusActive, at(300), true)   // ACTIVE, same expiry as c: newer first

	list := func(fl keybox.LicenseFilter) string {
		t.Helper()
		fl.OwnerID, fl.Now = alice.ID, base.Time
		got, _, err := s.Licenses(ctx, fl)
		f.must(err)
		var keys strings.Builder
		for _, l := range got {
			keys.WriteString(l.Key)
		}
		return keys.String()
	}
	cases := []struct {
		name string
		f    keybox.LicenseFilter
		want string
	}{
		{"default: newest first", keybox.LicenseFilter{}, "edcba"},
		{"created ascending", keybox.LicenseFilter{Sort: keybox.SortCreated}, "abcde"},
		{"created descending", keybox.LicenseFilter{Sort: keybox.SortCreated, Descending: true}, "edcba"},
		{"expiry ascending, never activated last", keybox.LicenseFilter{Sort: keybox.SortExpires}, "decab"},
		{"expiry descending, never activated last", keybox.LicenseFilter{Sort: keybox.SortExpires, Descending: true}, "aecdb"},
		{"status now ascending", keybox.LicenseFilter{Sort: keybox.SortStatus}, "eadbc"},
		{"status now descending", keybox.LicenseFilter{Sort: keybox.SortStatus, Descending: true}, "cbdea"},
		{"sorted and filtered", keybox.LicenseFilter{Sort: keybox.SortStatus, Status: keybox.StatusActive}, "ea"},
	}
	for _, tc := range cases {
		if got := list(tc.f); got != tc.want {
			t.Errorf("%s: got %s, want %s", tc.name, got, tc.want)
		}
	}
	// Pages of two, by status: every license once.
	var paged string
	for off := 0; off < 6; off += 2 {
		paged += list(keybox.LicenseFilter{Sort: keybox.SortStatus, Page: keybox.Page{Offset: off, Limit: 2}})
	}
	if paged != "eadbc" {
		t.Errorf("pages of a sorted list: got %s, want eadbc", paged)
	}
}

// testActivationsOf: the seats of an owner's licenses in one read, by
// license, by client or all of them, and never another owner's.
func testActivationsOf(t *testing.T, s keybox.Store) {
	f := newFixture(t, s)
	ctx := context.Background()
	alice, bob := f.user("alice@example.com"), f.user("bob@example.com")
	acme, globex := f.client(alice, "acme@example.com", base), f.client(alice, "globex@example.com", base)
	l1 := f.license(f.project(acme, "One"), "L1", keybox.StatusActive, base)
	l2 := f.license(f.project(acme, "Two"), "L2", keybox.StatusActive, base)
	l3 := f.license(f.project(globex, "Three"), "L3", keybox.StatusActive, base)
	lb := f.license(f.project(f.client(bob, "b@example.com", base), "B"), "LB", keybox.StatusActive, base)
	seat := func(l keybox.License, machine string, second int) {
		at := keybox.NewTime(base.Add(time.Duration(second) * time.Second))
		a := keybox.Activation{ID: f.id(), LicenseID: l.ID, MachineID: machine, ActivatedAt: at, CreatedAt: at, UpdatedAt: at}
		f.must(f.update(func(tx keybox.Tx) error { return tx.CreateActivation(ctx, a) }))
	}
	seat(l1, "m1", 1)
	seat(l2, "m2", 2)
	seat(l1, "m3", 3)
	seat(l3, "m4", 4)
	seat(lb, "bob", 5)

	machines := func(fl keybox.ActivationFilter) string {
		t.Helper()
		acts, err := s.ActivationsOf(ctx, fl)
		f.must(err)
		var out []string
		for _, a := range acts {
			out = append(out, a.MachineID)
		}
		return strings.Join(out, ",")
	}
	cases := []struct {
		name string
		f    keybox.ActivationFilter
		want string
	}{
		{"every seat of the owner, oldest first", keybox.ActivationFilter{OwnerID: alice.ID}, "m1,m2,m3,m4"},
		{"one client's", keybox.ActivationFilter{OwnerID: alice.ID, ClientID: acme.ID}, "m1,m2,m3"},
		{"some licenses", keybox.ActivationFilter{OwnerID: alice.ID, LicenseIDs: []string{l1.ID, l3.ID}}, "m1,m3,m4"},
		{"no license", keybox.ActivationFilter{OwnerID: alice.ID, LicenseIDs: []string{}}, ""},
		{"another owner's license asked for", keybox.ActivationFilter{OwnerID: alice.ID, LicenseIDs: []string{lb.ID, l2.ID}}, "m2"},
		{"another owner's client asked for", keybox.ActivationFilter{OwnerID: bob.ID, ClientID: acme.ID}, ""},
		{"the other owner's", keybox.ActivationFilter{OwnerID: bob.ID}, "bob"},
	}
	for _, tc := range cases {
		if got := machines(tc.f); got != tc.want {
			t.Errorf("%s: got [%s], want [%s]", tc.name, got, tc.want)
		}
	}
}
