package storetest

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/keyboxhq/keybox"
)

// Run checks that the stores made by open honour the keybox.Store contract.
// Each subtest gets a fresh store.
func Run(t *testing.T, open func(testing.TB) keybox.Store) {
	tests := []struct {
		name string
		fn   func(*testing.T, keybox.Store)
	}{
		{"UserRoundTrip", testUserRoundTrip},
		{"UserEmailUnique", testUserEmailUnique},
		{"ConcurrentCreateSameEmail", testConcurrentCreateSameEmail},
		{"UpdateRollsBack", testUpdateRollsBack},
		{"ClientsScopedByOwner", testClientsScopedByOwner},
		{"ClientEmailUniquePerOwner", testClientEmailUniquePerOwner},
		{"ClientListFilterAndPages", testClientListFilterAndPages},
		{"ProjectsAndCascade", testProjectsAndCascade},
		{"LicenseRoundTrip", testLicenseRoundTrip},
		{"LicenseKeyUnique", testLicenseKeyUnique},
		{"LicenseFilters", testLicenseFilters},
		{"LicenseSort", testLicenseSort},
		{"ActivationsOf", testActivationsOf},
		{"Activations", testActivations},
		{"ExpireLicenses", testExpireLicenses},
		{"Validations", testValidations},
		{"ValidationsInBulk", testValidationsInBulk},
		{"MissingRowsAreNotFound", testMissingRowsAreNotFound},
		{"SigningKeys", testSigningKeys},
		{"RequireMachineIDRoundTrip", testRequireMachineIDRoundTrip},
		{"EndSessions", testEndSessions},
		{"DeleteUser", testDeleteUser},
		{"Identities", testIdentities},
		{"RateWindows", testRateWindows},
		{"RateConcurrentTakes", testRateConcurrentTakes},
		{"SignInCodes", testSignInCodes},
		{"PolicyAndLicenseTermsRoundTrip", testPolicyAndLicenseTermsRoundTrip},
		{"LapsedLeases", testLapsedLeases},
		{"EventChain", testEventChain},
		{"EventChainConcurrent", testEventChainConcurrent},
		{"EventChainWithFailures", testEventChainWithFailures},
		{"EventFilters", testEventFilters},
		{"PruneEvents", testPruneEvents},
		{"Webhooks", testWebhooks},
		{"Outbox", testOutbox},
		{"DeliveriesClaimAndFinish", testDeliveriesClaimAndFinish},
		{"DeliveriesConcurrentClaims", testDeliveriesConcurrentClaims},
		{"DeliveryRequeue", testDeliveryRequeue},
		{"DeliveriesClaimLimit", testDeliveriesClaimLimit},
		{"APITokens", testAPITokens},
		{"LicenseWithSeats", testLicenseWithSeats},
		{"WatchLicenses", testWatchLicenses},
		{"DashboardLicenses", testDashboardLicenses},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, open(t))
		})
	}
}

// base is a fixed instant at millisecond precision.
var base = keybox.NewTime(time.Date(2026, 3, 14, 15, 9, 26, 535_000_000, time.UTC))

type fixture struct {
	t   *testing.T
	s   keybox.Store
	ids *keybox.IDs
}

func newFixture(t *testing.T, s keybox.Store) *fixture {
	ids, err := keybox.NewIDs(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{t: t, s: s, ids: ids}
}

func (f *fixture) id() string { return f.ids.New(base.Time) }

func (f *fixture) update(fn func(keybox.Tx) error) error {
	return f.s.Update(context.Background(), fn)
}

func (f *fixture) must(err error) {
	f.t.Helper()
	if err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) user(email string) keybox.User {
	f.t.Helper()
	u := keybox.User{ID: f.id(), Name: "Dev " + email, Email: email, PasswordHash: "$2a$hash", Role: keybox.RoleDeveloper, CreatedAt: base, UpdatedAt: base}
	f.must(f.update(func(tx keybox.Tx) error { return tx.CreateUser(context.Background(), u) }))
	return u
}

func (f *fixture) client(owner keybox.User, email string, at keybox.Time) keybox.Client {
	f.t.Helper()
	c := keybox.Client{ID: f.id(), Name: "Client " + email, Email: email, OwnerID: owner.ID, CreatedAt: at, UpdatedAt: at}
	f.must(f.update(func(tx keybox.Tx) error { return tx.CreateClient(context.Background(), c) }))
	return c
}

func (f *fixture) project(c keybox.Client, name string) keybox.Project {
	f.t.Helper()
	p := keybox.Project{ID: f.id(), Name: name, ClientID: c.ID, OwnerID: c.OwnerID, CreatedAt: base, UpdatedAt: base}
	f.must(f.update(func(tx keybox.Tx) error { return tx.CreateProject(context.Background(), p) }))
	return p
}

func (f *fixture) license(p keybox.Project, key string, status keybox.Status, expires keybox.Time) keybox.License {
	f.t.Helper()
	l := keybox.License{
		ID: f.id(), Key: key, Duration: 3, IssuedAt: base, ExpiresAt: expires, Status: status,
		Services: []keybox.Service{keybox.ServiceHosting}, OwnerID: p.OwnerID, ClientID: p.ClientID, ProjectID: p.ID,
		MaxMachines: 1, CreatedAt: base, UpdatedAt: base,
	}
	f.must(f.update(func(tx keybox.Tx) error { return tx.CreateLicense(context.Background(), l) }))
	return l
}

func wantCode(t *testing.T, err error, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("got error %v, want %v", err, want)
	}
}

func testUserRoundTrip(t *testing.T, s keybox.Store) {
	f := newFixture(t, s)
	ctx := context.Background()
	u := f.user("dev@example.com")
	got, err := s.UserByID(ctx, u.ID)
	f.must(err)
	if !reflect.DeepEqual(got, u) {
		t.Fatalf("UserByID: got %+v, want %+v", got, u)
	}
	got, err = s.UserByEmail(ctx, "dev@example.com")
	f.must(err)
	if got.ID != u.ID {
		t.Fatalf("UserByEmail: got id %s, want %s", got.ID, u.ID)
	}
	u.Name, u.Role, u.UpdatedAt = "Renamed", keybox.RoleAdmin, keybox.NewTime(base.Add(time.Second))
	f.must(f.update(func(tx keybox.Tx) error { return tx.UpdateUser(ctx, u) }))
	got, err = s.UserByID(ctx, u.ID)
	f.must(err)
	if !reflect.DeepEqual(got, u) {
		t.Fatalf("after update: got %+v, want %+v", got, u)
	}
	n, err := s.CountUsers(ctx)
	f.must(err)
	users, err := s.Users(ctx)
	f.must(err)
	if n != 1 || len(users) != 1 {
		t.Fatalf("got %d users (%d listed), want 1", n, len(users))
	}
}

func testUserEmailUnique(t *testing.T, s keybox.Store) {
	f := newFixture(t, s)
	f.user("dup@example.com")
	err := f.update(func(tx keybox.Tx) error {
		return tx.CreateUser(context.Background(), keybox.User{ID: f.id(), Name: "B", Email: "dup@example.com", PasswordHash: "x", Role: keybox.RoleDeveloper, CreatedAt: base, UpdatedAt: base})
	})
	wantCode(t, err, keybox.ErrDuplicate)
}

func testConcurrentCreateSameEmail(t *testing.T, s keybox.Store) {
	f := newFixture(t, s)
	const n = 50
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = f.update(func(tx keybox.Tx) error {
				return tx.CreateUser(context.Background(), keybox.User{ID: f.id(), Name: "x", Email: "race@example.com", PasswordHash: "x", Role: keybox.RoleDeveloper, CreatedAt: base, UpdatedAt: base})
			})
		}()
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case errors.Is(err, keybox.ErrDuplicate):
		default:
			t.Errorf("unexpected error: %v", err)
		}
	}
	if ok != 1 {
		t.Fatalf("got %d successful creates, want exactly 1", ok)
	}
}

func testUpdateRollsBack(t *testing.T, s keybox.Store) {
	f := newFixture(t, s)
	ctx := context.Background()
	boom := errors.New("boom")
	err := f.update(func(tx keybox.Tx) error {
		if err := tx.Lock(ctx, "users"); err != nil {
			return err
		}
		if err := tx.CreateUser(ctx, keybox.User{ID: f.id(), Name: "x", Email: "gone@example.com", PasswordHash: "x", Role: keybox.RoleDeveloper, CreatedAt: base, UpdatedAt: base}); err != nil {
			return err
		}
		// Reads inside the transaction see its own writes.
		if _, err := tx.UserByEmail(ctx, "gone@example.com"); err != nil {
			return fmt.Errorf("read own write: %w", err)
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("got %v, want the callback's error", err)
	}
	_, err = s.UserByEmail(ctx, "gone@example.com")
	wantCode(t, err, keybox.ErrNotFound)
}

func testClientsScopedByOwner(t *testing.T, s keybox.Store) {
	f := newFixture(t, s)
	ctx := context.Background()
	alice, bob := f.user("alice@example.com"), f.user("bob@example.com")
	c := f.client(alice, "acme@example.com", base)
	got, err := s.Client(ctx, alice.ID, c.ID)
	f.must(err)
	if !reflect.DeepEqual(got, c) {
		t.Fatalf("got %+v, want %+v", got, c)
	}
	_, err = s.Client(ctx, bob.ID, c.ID)
	wantCode(t, err, keybox.ErrNotFound)
	stolen := c
	stolen.OwnerID, stolen.Name = bob.ID, "stolen"
	err = f.update(func(tx keybox.Tx) error { return tx.UpdateClient(ctx, stolen) })
	wantCode(t, err, keybox.ErrNotFound)
	err = f.update(func(tx keybox.Tx) error { return tx.DeleteClient(ctx, bob.ID, c.ID, true) })
	wantCode(t, err, keybox.ErrNotFound)
	list, total, err := s.Clients(ctx, keybox.ClientFilter{OwnerID: bob.ID, Page: keybox.Page{Limit: 20}})
	f.must(err)
	if total != 0 || len(list) != 0 {
		t.Fatalf("bob sees %d clients (total %d), want none", len(list), total)
	}
	got, err = s.Client(ctx, alice.ID, c.ID)
	f.must(err)
	if got.Name != c.Name {
		t.Fatalf("client changed by another owner: %+v", got)
	}
}

func testClientEmailUniquePerOwner(t *testing.T, s keybox.Store) {
	f := newFixture(t, s)
	alice, bob := f.user("alice@example.com"), f.user("bob@example.com")
	f.client(alice, "same@example.com", base)
	f.client(bob, "same@example.com", base) // another owner may have the same customer
	err := f.update(func(tx keybox.Tx) error {
		return tx.CreateClient(context.Background(), keybox.Client{ID: f.id(), Name: "x", Email: "same@example.com", OwnerID: alice.ID, CreatedAt: base, UpdatedAt: base})
	})
	wantCode(t, err, keybox.ErrDuplicate)
}

func testClientListFilterAndPages(t *testing.T, s keybox.Store) {
	f := newFixture(t, s)
	ctx := context.Background()
	alice := f.user("alice@example.com")
	var made []keybox.Client
	for i := range 25 {
		made = append(made, f.client(alice, fmt.Sprintf("c%02d@example.com", i), keybox.NewTime(base.Add(time.Duration(i)*time.Minute))))
	}
	page1, total, err := s.Clients(ctx, keybox.ClientFilter{OwnerID: alice.ID, Page: keybox.Page{Limit: 10}})
	f.must(err)
	if total != 25 || len(page1) != 10 || page1[0].ID != made[24].ID {
		t.Fatalf("page 1: got %d items of %d, first %s; want 10 of 25, newest first", len(page1), total, page1[0].Email)
	}
	page3, total, err := s.Clients(ctx, keybox.ClientFilter{OwnerID: alice.ID, Page: keybox.Page{Offset: 20, Limit: 10}})
	f.must(err)
	if total != 25 || len(page3) != 5 || page3[4].ID != made[0].ID {
		t.Fatalf("page 3: got %d items of %d; want 5 of 25 ending with the oldest", len(page3), total)
	}
	hits, total, err := s.Clients(ctx, keybox.ClientFilter{OwnerID: alice.ID, Query: "C1", Page: keybox.Page{Limit: 20}})
	f.must(err)
	if total != 10 || len(hits) != 10 {
		t.Fatalf("query c1: got %d of %d, want 10 (c10-c19)", len(hits), total)
	}
	none, _, err := s.Clients(ctx, keybox.ClientFilter{OwnerID: alice.ID, Query: "%", Page: keybox.Page{Limit: 20}})
	f.must(err)
	if len(none) != 0 {
		t.Fatalf("query %%: got %d, want 0 (LIKE wildcards are escaped)", len(none))
	}
	one, _, err := s.Clients(ctx, keybox.ClientFilter{OwnerID: alice.ID, ID: made[3].ID})
	f.must(err)
	if len(one) != 1 || one[0].ID != made[3].ID {
		t.Fatalf("by id: got %v", one)
	}
}

func testProjectsAndCascade(t *testing.T, s keybox.Store) {
	f := newFixture(t, s)
	ctx := context.Background()
	alice := f.user("alice@example.com")
	c := f.client(alice, "acme@example.com", base)
	p := f.project(c, "Website")
	l := f.license(p, "KEY-CASCADE", keybox.StatusActive, keybox.NewTime(base.AddDate(0, 3, 0)))
	f.must(f.update(func(tx keybox.Tx) error {
		return tx.CreateActivation(ctx, keybox.Activation{ID: f.id(), LicenseID: l.ID, MachineID: "m1", ActivatedAt: base, CreatedAt: base, UpdatedAt: base})
	}))
	got, err := s.Project(ctx, alice.ID, p.ID)
	f.must(err)
	if !reflect.DeepEqual(got, p) {
		t.Fatalf("got %+v, want %+v", got, p)
	}
	list, total, err := s.Projects(ctx, keybox.ProjectFilter{OwnerID: alice.ID, ClientID: c.ID, Query: "web"})
	f.must(err)
	if total != 1 || len(list) != 1 {
		t.Fatalf("projects: got %d of %d, want 1", len(list), total)
	}

	err = f.update(func(tx keybox.Tx) error { return tx.DeleteProject(ctx, alice.ID, p.ID, false) })
	wantCode(t, err, keybox.ErrInUse)
	err = f.update(func(tx keybox.Tx) error { return tx.DeleteClient(ctx, alice.ID, c.ID, false) })
	wantCode(t, err, keybox.ErrInUse)
	if _, err := s.License(ctx, "KEY-CASCADE"); err != nil {
		t.Fatalf("license gone after a refused delete: %v", err)
	}

	f.must(f.update(func(tx keybox.Tx) error { return tx.DeleteClient(ctx, alice.ID, c.ID, true) }))
	_, err = s.License(ctx, "KEY-CASCADE")
	wantCode(t, err, keybox.ErrNotFound)
	_, err = s.Project(ctx, alice.ID, p.ID)
	wantCode(t, err, keybox.ErrNotFound)
	acts, err := s.Activations(ctx, l.ID)
	f.must(err)
	if len(acts) != 0 {
		t.Fatalf("activations left after cascade: %d", len(acts))
	}
}

func testLicenseRoundTrip(t *testing.T, s keybox.Store) {
	f := newFixture(t, s)
	ctx := context.Background()
	alice := f.user("alice@example.com")
	p := f.project(f.client(alice, "acme@example.com", base), "App")
	l := f.license(p, "KB-ROUND-TRIP", keybox.StatusPending, keybox.NewTime(base.AddDate(0, 3, 0)))
	got, err := s.License(ctx, l.Key)
	f.must(err)
	if !reflect.DeepEqual(got, l) {
		t.Fatalf("got %+v, want %+v", got, l)
	}
	l.Status, l.ActivatedAt = keybox.StatusActive, keybox.NewTime(base.Add(time.Hour))
	l.Services = []keybox.Service{keybox.ServiceHosting, keybox.ServiceDomain}
	l.MachineID, l.InstanceID, l.ProductName, l.MaxMachines = "m1", "i1", "App", 5
	l.UpdatedAt = keybox.NewTime(base.Add(time.Hour))
	f.must(f.update(func(tx keybox.Tx) error {
		locked, err := tx.LicenseForUpdate(ctx, l.Key)
		if err != nil {
			return err
		}
		if locked.ID != l.ID {
			return fmt.Errorf("locked %s, want %s", locked.ID, l.ID)
		}
		return tx.UpdateLicense(ctx, l)
	}))
	got, err = s.License(ctx, l.Key)
	f.must(err)
	if !reflect.DeepEqual(got, l) {
		t.Fatalf("after update got %+v, want %+v", got, l)
	}
}

func testLicenseKeyUnique(t *testing.T, s keybox.Store) {
	f := newFixture(t, s)
	alice, bob := f.user("alice@example.com"), f.user("bob@example.com")
	f.license(f.project(f.client(alice, "a@example.com", base), "A"), "SAME-KEY", keybox.StatusPending, base)
	pb := f.project(f.client(bob, "b@example.com", base), "B")
	err := f.update(func(tx keybox.Tx) error {
		return tx.CreateLicense(context.Background(), keybox.License{ID: f.id(), Key: "SAME-KEY", Duration: 1, IssuedAt: base, ExpiresAt: base,
			Status: keybox.StatusPending, Services: []keybox.Service{keybox.ServiceHosting}, OwnerID: bob.ID, ClientID: pb.ClientID, ProjectID: pb.ID,
			MaxMachines: 1, CreatedAt: base, UpdatedAt: base})
	})
	wantCode(t, err, keybox.ErrDuplicate)
}

func testLicenseFilters(t *testing.T, s keybox.Store) {
	f := newFixture(t, s)
	ctx := context.Background()
	alice := f.user("alice@example.com")
	c := f.client(alice, "a@example.com", base)
	p1, p2 := f.project(c, "One"), f.project(c, "Two")
	past, future := keybox.NewTime(base.Add(-time.Hour)), keybox.NewTime(base.Add(time.Hour))
	f.license(p1, "ACTIVE-OK", keybox.StatusActive, future)
	f.license(p1, "ACTIVE-LAPSED", keybox.StatusActive, past)
	f.license(p2, "EXPIRED-1", keybox.StatusExpired, past)
	f.license(p2, "PENDING-1", keybox.StatusPending, future)
	f.license(p2, "REVOKED-1", keybox.StatusRevoked, future)
	count := func(fl keybox.LicenseFilter) int {
		t.Helper()
		fl.OwnerID, fl.Now = alice.ID, base.Time
		list, total, err := s.Licenses(ctx, fl)
		f.must(err)
		if len(list) != total {
			t.Fatalf("filter %+v: %d items but total %d", fl, len(list), total)
		}
		return total
	}
	cases := []struct {
		name string
		f    keybox.LicenseFilter
		want int
	}{
		{"all", keybox.LicenseFilter{}, 5},
		{"active at now", keybox.LicenseFilter{Status: keybox.StatusActive}, 1},
		{"expired includes lapsed", keybox.LicenseFilter{Status: keybox.StatusExpired}, 2},
		{"pending", keybox.LicenseFilter{Status: keybox.StatusPending}, 1},
		{"project", keybox.LicenseFilter{ProjectID: p1.ID}, 2},
		{"client", keybox.LicenseFilter{ClientID: c.ID}, 5},
		{"key substring", keybox.LicenseFilter{Query: "lapsed"}, 1},
	}
	for _, tc := range cases {
		if got := count(tc.f); got != tc.want {
			t.Errorf("%s: got %d, want %d", tc.name, got, tc.want)
		}
	}
	counts, err := s.LicenseCounts(ctx, alice.ID, base.Time)
	f.must(err)
	want := map[keybox.Status]int{keybox.StatusActive: 1, keybox.StatusExpired: 2, keybox.StatusPending: 1, keybox.StatusRevoked: 1}
	if !reflect.DeepEqual(counts, want) {
		t.Fatalf("counts: got %v, want %v", counts, want)
	}
}

func testActivations(t *testing.T, s keybox.Store) {
	f := newFixture(t, s)
	ctx := context.Background()
	alice := f.user("alice@example.com")
	l := f.license(f.project(f.client(alice, "a@example.com", base), "A"), "SEATS", keybox.StatusActive, base)
	var made []keybox.Activation
	for i := range 3 {
		at := keybox.NewTime(base.Add(time.Duration(i) * time.Second))
		a := keybox.Activation{ID: f.id(), LicenseID: l.ID, MachineID: fmt.Sprintf("m%d", i), InstanceID: "i", ProductName: "P", ActivatedAt: at, CreatedAt: at, UpdatedAt: at}
		f.must(f.update(func(tx keybox.Tx) error { return tx.CreateActivation(ctx, a) }))
		made = append(made, a)
	}
	got, err := s.Activations(ctx, l.ID)
	f.must(err)
	if !reflect.DeepEqual(got, made) {
		t.Fatalf("got %+v, want %+v (oldest first)", got, made)
	}
	seen := keybox.NewTime(base.Add(time.Hour))
	f.must(s.RecordValidations(ctx, nil, []keybox.ActivationSeen{{ActivationID: made[1].ID, At: seen.Time}}))
	// An older sighting arriving late does not move the time back.
	f.must(s.RecordValidations(ctx, nil, []keybox.ActivationSeen{{ActivationID: made[1].ID, At: base.Time}}))
	got, err = s.Activations(ctx, l.ID)
	f.must(err)
	if !got[1].LastValidatedAt.Equal(seen.Time) {
		t.Fatalf("lastValidatedAt: got %v, want %v", got[1].LastValidatedAt, seen)
	}
	f.must(f.update(func(tx keybox.Tx) error { return tx.DeleteActivation(ctx, l.ID, made[0].ID) }))
	err = f.update(func(tx keybox.Tx) error { return tx.DeleteActivation(ctx, "000000000000000000000000", made[1].ID) })
	wantCode(t, err, keybox.ErrNotFound)
	got, err = s.Activations(ctx, l.ID)
	f.must(err)
	if len(got) != 2 {
		t.Fatalf("got %d activations after one delete, want 2", len(got))
	}
}

func testExpireLicenses(t *testing.T, s keybox.Store) {
	f := newFixture(t, s)
	ctx := context.Background()
	alice := f.user("alice@example.com")
	p := f.project(f.client(alice, "a@example.com", base), "A")
	f.license(p, "LAPSED", keybox.StatusActive, keybox.NewTime(base.Add(-time.Millisecond)))
	f.license(p, "AT-EXPIRY", keybox.StatusActive, base)
	f.license(p, "PENDING-PAST", keybox.StatusPending, keybox.NewTime(base.Add(-time.Hour)))
	expire := func() []keybox.License {
		var got []keybox.License
		f.must(f.update(func(tx keybox.Tx) error {
			var err error
			got, err = tx.ExpireLicenses(ctx, base.Time, 10)
			return err
		}))
		return got
	}
	if got := expire(); len(got) != 1 || got[0].Key != "LAPSED" || got[0].Status != keybox.StatusExpired {
		t.Fatalf("expired %+v, want LAPSED, now EXPIRED", got)
	}
	if got := expire(); len(got) != 0 {
		t.Fatalf("second sweep expired %d, want 0", len(got))
	}
	for key, want := range map[string]keybox.Status{"LAPSED": keybox.StatusExpired, "AT-EXPIRY": keybox.StatusActive, "PENDING-PAST": keybox.StatusPending} {
		l, err := s.License(ctx, key)
		f.must(err)
		if l.Status != want {
			t.Errorf("%s: got %s, want %s", key, l.Status, want)
		}
	}
}

func testValidations(t *testing.T, s keybox.Store) {
	f := newFixture(t, s)
	ctx := context.Background()
	alice, bob := f.user("alice@example.com"), f.user("bob@example.com")
	l := f.license(f.project(f.client(alice, "a@example.com", base), "A"), "COUNTED", keybox.StatusActive, base)
	day := keybox.DayOf(base.Time)
	f.must(s.RecordValidations(ctx, []keybox.ValidationCount{
		{LicenseID: l.ID, OwnerID: alice.ID, Day: day, Count: 3},
		{LicenseID: l.ID, OwnerID: alice.ID, Day: day - 1, Count: 1},
		{LicenseID: "other", OwnerID: bob.ID, Day: day, Count: 9},
	}, nil))
	f.must(s.RecordValidations(ctx, []keybox.ValidationCount{{LicenseID: l.ID, OwnerID: alice.ID, Day: day, Count: 2}}, nil))
	got, err := s.Validations(ctx, alice.ID, day-29, day)
	f.must(err)
	want := []keybox.DailyCount{{Day: day - 1, Count: 1}, {Day: day, Count: 5}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

func testMissingRowsAreNotFound(t *testing.T, s keybox.Store) {
	ctx := context.Background()
	missing := "000000000000000000000000"
	checks := map[string]error{}
	_, checks["UserByID"] = s.UserByID(ctx, missing)
	_, checks["UserByEmail"] = s.UserByEmail(ctx, "nobody@example.com")
	_, checks["Client"] = s.Client(ctx, missing, missing)
	_, checks["Project"] = s.Project(ctx, missing, "not-an-id")
	_, checks["License"] = s.License(ctx, "NO-SUCH-KEY")
	checks["UpdateUser"] = s.Update(ctx, func(tx keybox.Tx) error { return tx.UpdateUser(ctx, keybox.User{ID: missing}) })
	checks["DeleteClient"] = s.Update(ctx, func(tx keybox.Tx) error { return tx.DeleteClient(ctx, missing, missing, false) })
	checks["DeleteProject"] = s.Update(ctx, func(tx keybox.Tx) error { return tx.DeleteProject(ctx, missing, missing, true) })
	checks["LicenseForUpdate"] = s.Update(ctx, func(tx keybox.Tx) error { _, err := tx.LicenseForUpdate(ctx, "NOPE"); return err })
	checks["EndSessions"] = s.Update(ctx, func(tx keybox.Tx) error { return tx.EndSessions(ctx, missing) })
	checks["DeleteUser"] = s.Update(ctx, func(tx keybox.Tx) error { return tx.DeleteUser(ctx, missing, true) })
	for name, err := range checks {
		if !errors.Is(err, keybox.ErrNotFound) {
			t.Errorf("%s: got %v, want ErrNotFound", name, err)
		}
	}
}

func testSigningKeys(t *testing.T, s keybox.Store) {
	f := newFixture(t, s)
	ctx := context.Background()
	var made []keybox.SigningKey
	for i, seed := range []byte{1, 2} {
		priv := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{seed}, ed25519.SeedSize))
		at := keybox.NewTime(base.Add(time.Duration(i) * time.Hour))
		// The store keeps the sealed bytes as given, and never the private key.
		sealed := append([]byte{1}, bytes.Repeat([]byte{seed, 0, 0xff}, 20)...)
		k := keybox.SigningKey{ID: fmt.Sprintf("kb-%d", i), PublicKey: priv.Public().(ed25519.PublicKey), PrivateKey: priv, Sealed: sealed, CreatedAt: at}
		f.must(f.update(func(tx keybox.Tx) error { return tx.CreateSigningKey(ctx, k) }))
		k.PrivateKey = nil
		made = append(made, k)
	}
	retired := keybox.NewTime(base.Add(2 * time.Hour))
	revoked := keybox.NewTime(base.Add(3 * time.Hour))
	f.must(f.update(func(tx keybox.Tx) error { return tx.RetireSigningKey(ctx, "kb-0", retired) }))
	f.must(f.update(func(tx keybox.Tx) error { return tx.RevokeSigningKey(ctx, "kb-0", revoked) }))
	made[0].RetiredAt, made[0].RevokedAt = retired, revoked
	resealed := []byte{1, 2, 3, 4, 5}
	f.must(f.update(func(tx keybox.Tx) error { return tx.SealSigningKey(ctx, "kb-1", resealed) }))
	made[1].Sealed = resealed
	got, err := s.SigningKeys(ctx)
	f.must(err)
	if !reflect.DeepEqual(got, made) {
		t.Fatalf("got %+v, want %+v", got, made)
	}
	err = f.update(func(tx keybox.Tx) error { return tx.CreateSigningKey(ctx, made[1]) })
	wantCode(t, err, keybox.ErrDuplicate)
	for name, op := range map[string]func(tx keybox.Tx) error{
		"retire": func(tx keybox.Tx) error { return tx.RetireSigningKey(ctx, "kb-9", retired) },
		"revoke": func(tx keybox.Tx) error { return tx.RevokeSigningKey(ctx, "kb-9", revoked) },
		"seal":   func(tx keybox.Tx) error { return tx.SealSigningKey(ctx, "kb-9", resealed) },
	} {
		t.Run(name+" a missing key", func(t *testing.T) { wantCode(t, f.update(op), keybox.ErrNotFound) })
	}
	// A key without its sealed form is refused: a private key is never
	// stored as it is.
	priv := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{3}, ed25519.SeedSize))
	plain := keybox.SigningKey{ID: "kb-plain", PublicKey: priv.Public().(ed25519.PublicKey), PrivateKey: priv, CreatedAt: retired}
	if err := f.update(func(tx keybox.Tx) error { return tx.CreateSigningKey(ctx, plain) }); err == nil {
		t.Fatal("stored a signing key without sealing it")
	}
	if err := f.update(func(tx keybox.Tx) error { return tx.SealSigningKey(ctx, "kb-1", nil) }); err == nil {
		t.Fatal("sealed a key with nothing")
	}
}

// testRequireMachineIDRoundTrip: a project's policy and a license's
// requireMachineId are stored on create and on update, both ways.
func testRequireMachineIDRoundTrip(t *testing.T, s keybox.Store) {
	f := newFixture(t, s)
	ctx := context.Background()
	alice := f.user("alice@example.com")
	c := f.client(alice, "acme@example.com", base)
	p := keybox.Project{ID: f.id(), Name: "Strict", ClientID: c.ID, OwnerID: alice.ID, CreatedAt: base, UpdatedAt: base,
		Policy: keybox.Policy{RequireMachineID: true}}
	f.must(f.update(func(tx keybox.Tx) error { return tx.CreateProject(ctx, p) }))
	got, err := s.Project(ctx, alice.ID, p.ID)
	f.must(err)
	if !reflect.DeepEqual(got, p) {
		t.Fatalf("project: got %+v, want %+v", got, p)
	}
	p.Policy.RequireMachineID, p.UpdatedAt = false, keybox.NewTime(base.Add(time.Second))
	f.must(f.update(func(tx keybox.Tx) error { return tx.UpdateProject(ctx, p) }))
	if got, err = s.Project(ctx, alice.ID, p.ID); err != nil || got.Policy.RequireMachineID {
		t.Fatalf("project after clearing the policy: %+v, %v", got, err)
	}

	l := keybox.License{
		ID: f.id(), Key: "KB-STRICT", Duration: 3, IssuedAt: base, ExpiresAt: keybox.NewTime(base.AddDate(0, 3, 0)),
		Status: keybox.StatusPending, Services: []keybox.Service{keybox.ServiceHosting}, OwnerID: alice.ID,
		ClientID: c.ID, ProjectID: p.ID, MaxMachines: 1, CreatedAt: base, UpdatedAt: base, RequireMachineID: true,
	}
	f.must(f.update(func(tx keybox.Tx) error { return tx.CreateLicense(ctx, l) }))
	gotL, err := s.License(ctx, l.Key)
	f.must(err)
	if !reflect.DeepEqual(gotL, l) {
		t.Fatalf("license: got %+v, want %+v", gotL, l)
	}
	l.RequireMachineID = false
	f.must(f.update(func(tx keybox.Tx) error { return tx.UpdateLicense(ctx, l) }))
	if gotL, err = s.License(ctx, l.Key); err != nil || gotL.RequireMachineID {
		t.Fatalf("license after clearing requireMachineId: %+v, %v", gotL, err)
	}
	list, _, err := s.Licenses(ctx, keybox.LicenseFilter{OwnerID: alice.ID})
	f.must(err)
	if len(list) != 1 || list[0].RequireMachineID {
		t.Fatalf("listed licenses: %+v", list)
	}
}

func testIdentities(t *testing.T, s keybox.Store) {
	f := newFixture(t, s)
	ctx := context.Background()
	alice, bob := f.user("alice@example.com"), f.user("bob@example.com")
	google := keybox.Identity{Provider: "google", Subject: "104729", UserID: alice.ID, Email: "alice@gmail.example", CreatedAt: base}
	later := keybox.NewTime(base.Add(time.Minute))
	oidc := keybox.Identity{Provider: "oidc", Subject: "104729", UserID: alice.ID, CreatedAt: later}
	f.must(f.update(func(tx keybox.Tx) error {
		if err := tx.CreateIdentity(ctx, google); err != nil {
			return err
		}
		// The same subject at another provider is another person.
		return tx.CreateIdentity(ctx, oidc)
	}))
	got, err := s.UserByIdentity(ctx, "google", "104729")
	f.must(err)
	if !reflect.DeepEqual(got, alice) {
		t.Fatalf("UserByIdentity: got %+v, want %+v", got, alice)
	}
	list, err := s.Identities(ctx, alice.ID)
	f.must(err)
	if !reflect.DeepEqual(list, []keybox.Identity{google, oidc}) {
		t.Fatalf("Identities: got %+v, want google then oidc", list)
	}
	if list, err := s.Identities(ctx, bob.ID); err != nil || len(list) != 0 {
		t.Fatalf("bob's identities: got %v, %v; want none", list, err)
	}

	// A subject links one account only: it cannot be moved to bob by linking again.
	err = f.update(func(tx keybox.Tx) error {
		return tx.CreateIdentity(ctx, keybox.Identity{Provider: "google", Subject: "104729", UserID: bob.ID, CreatedAt: base})
	})
	wantCode(t, err, keybox.ErrDuplicate)
	got, err = s.UserByIdentity(ctx, "google", "104729")
	f.must(err)
	if got.ID != alice.ID {
		t.Fatalf("after a refused link: subject belongs to %s, want alice", got.ID)
	}
	err = f.update(func(tx keybox.Tx) error {
		return tx.CreateIdentity(ctx, keybox.Identity{Provider: "google", Subject: "other", UserID: "000000000000000000000000", CreatedAt: base})
	})
	wantCode(t, err, keybox.ErrInUse)
	for _, c := range [][2]string{{"google", "nobody"}, {"github", "104729"}, {"Google", "104729"}} {
		_, err := s.UserByIdentity(ctx, c[0], c[1])
		wantCode(t, err, keybox.ErrNotFound)
	}
	// Inside a transaction, a link made there is seen there.
	f.must(f.update(func(tx keybox.Tx) error {
		if err := tx.CreateIdentity(ctx, keybox.Identity{Provider: "google", Subject: "bob", UserID: bob.ID, CreatedAt: base}); err != nil {
			return err
		}
		u, err := tx.UserByIdentity(ctx, "google", "bob")
		if err != nil || u.ID != bob.ID {
			return fmt.Errorf("in the transaction: got %v, %v; want bob", u.ID, err)
		}
		return nil
	}))
}
