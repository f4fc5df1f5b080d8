package licensing_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/keyboxhq/keybox"
	"github.com/keyboxhq/keybox/internal/auth"
	"github.com/keyboxhq/keybox/internal/licensing"
	"github.com/keyboxhq/keybox/internal/storetest"
	"golang.org/x/crypto/bcrypt"
)

// newService returns a service over store whose clock reads *now.
func newService(t testing.TB, store keybox.Store, now *time.Time) *licensing.Service {
	t.Helper()
	clock := func() time.Time { return *now }
	tokens, err := auth.NewTokens([]byte("0123456789abcdef0123456789abcdef"), time.Hour, clock)
	if err != nil {
		t.Fatal(err)
	}
	pw, err := auth.NewPasswords(bcrypt.MinCost, 2)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := licensing.New(licensing.Config{Store: store, Passwords: pw, Tokens: tokens, Now: clock,
		SecretKey: []byte("sweep-test-secret-key-0123456789")})
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

// activeLicenses makes n licenses of one developer, each activated.
func activeLicenses(t *testing.T, svc *licensing.Service, n int) keybox.User {
	t.Helper()
	ctx := context.Background()
	u, err := svc.CreateUser(ctx, licensing.SignupInput{
		Name: licensing.Str("Ada"), Email: licensing.Str("ada@example.com"),
		Password: licensing.Str("password1"), ConfirmPassword: licensing.Str("password1"),
	}, "")
	if err != nil {
		t.Fatal(err)
	}
	c, err := svc.CreateClient(ctx, u, licensing.ClientInput{Name: licensing.Str("Acme"), Email: licensing.Str("acme@example.com")})
	if err != nil {
		t.Fatal(err)
	}
	for range n {
		_, l, err := svc.CreateProjectWithLicense(ctx, u, licensing.NewProjectWithLicense{
			ClientID: licensing.Str(c.ID), ProjectName: licensing.Str("P"), Duration: licensing.Num(1), Services: []byte(`["Hosting"]`),
		})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Activate(ctx, licensing.Check{Key: l.Key, MachineID: "m"}); err != nil {
			t.Fatal(err)
		}
	}
	return u
}

// TestSweepOnSharedDatabase: servers sharing one database may sweep at the
// same time; every lapsed license is stored EXPIRED once.
func TestSweepOnSharedDatabase(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			store := e.Open(t)
			now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
			a, b := newService(t, store, &now), newService(t, store, &now)
			u := activeLicenses(t, a, 20)
			now = now.AddDate(0, 2, 0)
			var wg sync.WaitGroup
			counts := make([]int, 4)
			for i := range counts {
				svc := a
				if i%2 == 1 {
					svc = b
				}
				wg.Go(func() {
					n, err := svc.SweepExpired(context.Background())
					if err != nil {
						t.Error(err)
					}
					counts[i] = n
				})
			}
			wg.Wait()
			if total := counts[0] + counts[1] + counts[2] + counts[3]; total != 20 {
				t.Fatalf("sweeps expired %v, %d in all; want 20 in all", counts, total)
			}
			got, err := store.LicenseCounts(context.Background(), u.ID, time.Time{})
			if err != nil {
				t.Fatal(err)
			}
			if got[keybox.StatusExpired] != 20 {
				t.Fatalf("stored statuses %v, want 20 EXPIRED", got)
			}
			// One license.expired event for each, by the system, whichever
			// server's sweep stored it.
			events, _, err := store.Events(context.Background(), keybox.EventFilter{OwnerID: u.ID, Types: []string{keybox.EventLicenseExpired}})
			if err != nil {
				t.Fatal(err)
			}
			seen := map[string]bool{}
			for _, e := range events {
				if e.Actor.Type != keybox.ActorSystem || seen[e.Subject.ID] {
					t.Fatalf("event %+v (seen before: %v)", e, seen[e.Subject.ID])
				}
				seen[e.Subject.ID] = true
			}
			if len(seen) != 20 {
				t.Fatalf("%d license.expired events, want 20", len(seen))
			}
		})
	}
}

// TestSweeperStops: the background sweeper returns when its context ends.
func TestSweeperStops(t *testing.T) {
	now := time.Now()
	svc := newService(t, storetest.SQLite(t), &now)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { svc.RunSweeper(ctx, time.Millisecond); close(done) }()
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("sweeper did not stop")
	}
}

// TestFlushAtShutdown: validations counted in memory are written when the
// flusher stops, so a clean shutdown loses none.
func TestFlushAtShutdown(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			store := e.Open(t)
			now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
			svc := newService(t, store, &now)
			u := activeLicenses(t, svc, 1)
			list, _, _, err := svc.Licenses(context.Background(), u, licensing.LicenseList{})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() { svc.RunFlusher(ctx, time.Hour); close(done) }()
			for range 12 {
				if v, err := svc.Validate(context.Background(), licensing.Check{Key: list[0].Key, MachineID: "m"}); err != nil || !v.Valid {
					t.Fatalf("validate: %+v %v", v, err)
				}
			}
			cancel()
			<-done
			day := keybox.DayOf(now)
			got, err := store.Validations(context.Background(), u.ID, day, day)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 || got[0].Count != 12 {
				t.Fatalf("stored %v, want 12 validations today", got)
			}
		})
	}
}
