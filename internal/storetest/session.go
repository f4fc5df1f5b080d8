package storetest

import (
	"context"
	"testing"

	"github.com/keyboxhq/keybox"
)

// testEndSessions: the session version only moves forward, one step per
// EndSessions, and an update written from an older read of the user does
// not bring it back (which would revive ended tokens).
func testEndSessions(t *testing.T, s keybox.Store) {
	f := newFixture(t, s)
	ctx := context.Background()
	u := f.user("dev@example.com")
	stale := u
	for range 2 {
		f.must(f.update(func(tx keybox.Tx) error { return tx.EndSessions(ctx, u.ID) }))
	}
	stale.Name = "Renamed"
	f.must(f.update(func(tx keybox.Tx) error { return tx.UpdateUser(ctx, stale) }))
	got, err := s.UserByID(ctx, u.ID)
	f.must(err)
	if got.SessionVersion != 2 || got.Name != "Renamed" {
		t.Fatalf("got session version %d and name %q, want 2 and Renamed", got.SessionVersion, got.Name)
	}
	other, err := s.UserByEmail(ctx, "dev@example.com")
	f.must(err)
	if other.SessionVersion != 2 {
		t.Fatalf("UserByEmail: session version %d, want 2", other.SessionVersion)
	}
}

// testDeleteUser: an account that owns clients stays unless cascade, which
// takes everything the account owned; another account's objects stay.
func testDeleteUser(t *testing.T, s keybox.Store) {
	f := newFixture(t, s)
	ctx := context.Background()
	alice, bob, carol := f.user("alice@example.com"), f.user("bob@example.com"), f.user("carol@example.com")
	l := f.license(f.project(f.client(alice, "a@example.com", base), "A"), "ALICE-KEY", keybox.StatusActive, base)
	f.must(f.update(func(tx keybox.Tx) error {
		return tx.CreateActivation(ctx, keybox.Activation{ID: f.id(), LicenseID: l.ID, MachineID: "m1", ActivatedAt: base, CreatedAt: base, UpdatedAt: base})
	}))
	f.license(f.project(f.client(bob, "b@example.com", base), "B"), "BOB-KEY", keybox.StatusActive, base)
	day := keybox.DayOf(base.Time)
	f.must(s.RecordValidations(ctx, []keybox.ValidationCount{
		{LicenseID: l.ID, OwnerID: alice.ID, Day: day, Count: 3},
		{LicenseID: "gone", OwnerID: carol.ID, Day: day, Count: 1},
	}, nil))

	err := f.update(func(tx keybox.Tx) error { return tx.DeleteUser(ctx, alice.ID, false) })
	wantCode(t, err, keybox.ErrInUse)
	if _, err := s.License(ctx, "ALICE-KEY"); err != nil {
		t.Fatalf("license gone after a refused delete: %v", err)
	}

	// No clients: gone without cascade, with its counts.
	f.must(f.update(func(tx keybox.Tx) error { return tx.DeleteUser(ctx, carol.ID, false) }))
	_, err = s.UserByID(ctx, carol.ID)
	wantCode(t, err, keybox.ErrNotFound)
	counts, err := s.Validations(ctx, carol.ID, day, day)
	f.must(err)
	if len(counts) != 0 {
		t.Fatalf("validation counts left: %v", counts)
	}

	f.must(f.update(func(tx keybox.Tx) error { return tx.DeleteUser(ctx, alice.ID, true) }))
	_, err = s.UserByID(ctx, alice.ID)
	wantCode(t, err, keybox.ErrNotFound)
	_, err = s.License(ctx, "ALICE-KEY")
	wantCode(t, err, keybox.ErrNotFound)
	acts, err := s.Activations(ctx, l.ID)
	f.must(err)
	clients, _, err := s.Clients(ctx, keybox.ClientFilter{OwnerID: alice.ID})
	f.must(err)
	projects, _, err := s.Projects(ctx, keybox.ProjectFilter{OwnerID: alice.ID})
	f.must(err)
	counts, err = s.Validations(ctx, alice.ID, day, day)
	f.must(err)
	if len(acts)+len(clients)+len(projects)+len(counts) != 0 {
		t.Fatalf("left after cascade: %d activations, %d clients, %d projects, %d counts", len(acts), len(clients), len(projects), len(counts))
	}
	if _, err := s.License(ctx, "BOB-KEY"); err != nil {
		t.Fatalf("another account's license went too: %v", err)
	}
	if n, err := s.CountUsers(ctx); err != nil || n != 1 {
		t.Fatalf("got %d users (%v), want 1", n, err)
	}
}
