package storetest

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keyboxhq/keybox"
)

// testLicenseWithSeats: one read answers what License and Activations
// answer together; a missing key is NotFound.
func testLicenseWithSeats(t *testing.T, s keybox.Store) {
	f := newFixture(t, s)
	ctx := context.Background()
	alice := f.user("alice@example.com")
	p := f.project(f.client(alice, "a@example.com", base), "A")
	bare := f.license(p, "KB-BARE", keybox.StatusPending, base)
	seated := f.license(p, "KB-SEATED", keybox.StatusActive, base)
	seated.Entitlements, seated.LeaseSeconds = []string{"pro"}, 600
	f.must(f.update(func(tx keybox.Tx) error { return tx.UpdateLicense(ctx, seated) }))
	for i := range 3 {
		at := keybox.NewTime(base.Add(time.Duration(2-i) * time.Second)) // made newest first
		a := keybox.Activation{ID: f.id(), LicenseID: seated.ID, MachineID: fmt.Sprintf("m%d", i), InstanceID: "i",
			ProductName: "P", ActivatedAt: at, CreatedAt: at, UpdatedAt: at}
		f.must(f.update(func(tx keybox.Tx) error { return tx.CreateActivation(ctx, a) }))
	}
	f.must(s.RecordValidations(ctx, nil, []keybox.ActivationSeen{{ActivationID: mustSeats(t, s, seated.ID)[0].ID, At: base.Add(time.Hour)}}))
	for _, want := range []keybox.License{bare, seated} {
		l, seats, err := s.LicenseWithSeats(ctx, want.Key)
		f.must(err)
		if !reflect.DeepEqual(l, want) {
			t.Fatalf("%s: got %+v, want %+v", want.Key, l, want)
		}
		if wantSeats := mustSeats(t, s, want.ID); !reflect.DeepEqual(seats, wantSeats) {
			t.Fatalf("%s: got seats %+v, want %+v (oldest first)", want.Key, seats, wantSeats)
		}
	}
	_, _, err := s.LicenseWithSeats(ctx, "KB-NONE")
	wantCode(t, err, keybox.ErrNotFound)
}

func mustSeats(t *testing.T, s keybox.Store, licenseID string) []keybox.Activation {
	t.Helper()
	seats, err := s.Activations(context.Background(), licenseID)
	if err != nil {
		t.Fatal(err)
	}
	return seats
}

// feedReport is one round of a change feed: what it reported, and how many
// changes the test had committed when the round began.
type feedReport struct {
	keys  []string
	all   bool
	after int64
}

// testWatchLicenses: every committed change to a license or its seats is
// reported by the end of the first round that began after its commit;
// last-validated times are not reported. The feed starts by reporting all.
func testWatchLicenses(t *testing.T, s keybox.Store) {
	f := newFixture(t, s)
	ctx, cancel := context.WithCancel(context.Background())
	var committed atomic.Int64
	reports := make(chan feedReport, 1024)
	stopped := make(chan error, 1)
	go func() {
		stopped <- s.WatchLicenses(ctx, func() keybox.LicenseChanges {
			after := committed.Load()
			return func(keys []string, all bool) {
				select {
				case reports <- feedReport{keys: slices.Clone(keys), all: all, after: after}:
				case <-ctx.Done():
				}
			}
		})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-stopped; err != nil {
			t.Errorf("WatchLicenses: %v", err)
		}
	})
	next := func() feedReport {
		t.Helper()
		select {
		case r := <-reports:
			return r
		case <-time.After(30 * time.Second):
			t.Fatal("no round ended within 30 s") // a hang, not a measure of time
			return feedReport{}
		}
	}
	if r := next(); !r.all {
		t.Fatalf("first round: got %v, want all", r.keys)
	}
	// heard waits for the first round that began after the n-th commit and
	// returns what the rounds reported up to it.
	heard := func(n int64) (keys []string, all bool) {
		t.Helper()
		for {
			r := next()
			keys, all = append(keys, r.keys...), all || r.all
			if r.after >= n {
				return keys, all
			}
		}
	}
	change := func(fn func(tx keybox.Tx) error) int64 {
		t.Helper()
		f.must(f.update(fn))
		return committed.Add(1)
	}
	ctxb := context.Background()
	alice := f.user("alice@example.com")
	p := f.project(f.client(alice, "a@example.com", base), "A")
	l := keybox.License{ID: f.id(), Key: "KB-FEED", Duration: 3, IssuedAt: base, ExpiresAt: base, Status: keybox.StatusPending,
		OwnerID: p.OwnerID, ClientID: p.ClientID, ProjectID: p.ID, MaxMachines: 1, CreatedAt: base, UpdatedAt: base}
	seat := keybox.Activation{ID: f.id(), LicenseID: l.ID, MachineID: "m", ActivatedAt: base, CreatedAt: base, UpdatedAt: base}
	other := l
	other.ID, other.Key = f.id(), "KB-OTHER"
	for _, step := range []struct {
		name string
		fn   func(tx keybox.Tx) error
		key  string
	}{
		{"create", func(tx keybox.Tx) error { return tx.CreateLicense(ctxb, l) }, l.Key},
		{"update", func(tx keybox.Tx) error { l.Status = keybox.StatusRevoked; return tx.UpdateLicense(ctxb, l) }, l.Key},
		{"take a seat", func(tx keybox.Tx) error { return tx.CreateActivation(ctxb, seat) }, l.Key},
		{"create another", func(tx keybox.Tx) error { return tx.CreateLicense(ctxb, other) }, other.Key},
		{"free a seat", func(tx keybox.Tx) error { return tx.DeleteActivation(ctxb, l.ID, seat.ID) }, l.Key},
	} {
		keys, all := heard(change(step.fn))
		if !all && !slices.Contains(keys, step.key) {
			t.Fatalf("%s: the rounds reported %v, want %s", step.name, keys, step.key)
		}
	}
	// A seat's last-validated time is not a change: another license's
	// change, committed after it, is reported without it.
	f.must(f.update(func(tx keybox.Tx) error { return tx.CreateActivation(ctxb, seat) }))
	heard(committed.Add(1))
	f.must(s.RecordValidations(ctxb, nil, []keybox.ActivationSeen{{ActivationID: seat.ID, At: base.Add(time.Hour)}}))
	other.Status = keybox.StatusRevoked
	keys, all := heard(change(func(tx keybox.Tx) error { return tx.UpdateLicense(ctxb, other) }))
	if all || !slices.Contains(keys, other.Key) || slices.Contains(keys, l.Key) {
		t.Fatalf("after a validation and a change of %s: reported %v (all %v), want %s alone", other.Key, keys, all, other.Key)
	}
	// Deleting an account deletes its licenses: each is reported.
	keys, all = heard(change(func(tx keybox.Tx) error { return tx.DeleteUser(ctxb, alice.ID, true) }))
	if !all && (!slices.Contains(keys, l.Key) || !slices.Contains(keys, other.Key)) {
		t.Fatalf("after deleting the account: reported %v, want %s and %s", keys, l.Key, other.Key)
	}
}
