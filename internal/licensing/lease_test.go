package licensing_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/keyboxhq/keybox"
	"github.com/keyboxhq/keybox/internal/licensing"
	"github.com/keyboxhq/keybox/internal/storetest"
)

// leasedLicense issues a license of the project with seats and a lease of
// lease seconds.
func leasedLicense(t *testing.T, svc *licensing.Service, u keybox.User, p keybox.Project, seats, lease int) keybox.License {
	t.Helper()
	l, err := svc.CreateLicense(context.Background(), u, licensing.NewLicense{Duration: licensing.Num(12),
		ClientID: licensing.Str(p.ClientID), ProjectID: licensing.Str(p.ID), MaxMachines: licensing.Num(seats),
		LicenseTerms: licensing.LicenseTerms{LeaseSeconds: licensing.Num(lease)}})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func messageOf(err error) string {
	var e *keybox.Error
	if errors.As(err, &e) {
		return e.Message
	}
	if err != nil {
		return err.Error()
	}
	return ""
}

// TestLeaseLapses: on a license with a 60-second lease, a seat whose machine
// stays silent for 60 seconds stops counting at that instant, without any
// sweep, and another machine takes it; a validation renews the lease, also
// before it is written; and a machine whose seat lapsed is told it holds
// none (machine_mismatch) until it activates again. The clock is moved, not
// waited for.
func TestLeaseLapses(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			ctx := context.Background()
			now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
			svc := newService(t, e.Open(t), &now)
			u, p := developerWithProject(t, svc)
			l := leasedLicense(t, svc, u, p, 1, 60)
			check := func(m string) licensing.Check { return licensing.Check{Key: l.Key, MachineID: m} }
			start := now

			a, err := svc.Activate(ctx, check("m1"))
			if err != nil || !a.LeaseExpiresAt.Equal(start.Add(time.Minute)) {
				t.Fatalf("activation: %+v %v, want a lease to %v", a, err, start.Add(time.Minute))
			}
			now = start.Add(59 * time.Second)
			v, err := svc.Validate(ctx, check("m1"))
			if err != nil || !v.Valid || !v.LeaseExpiresAt.Equal(now.Add(time.Minute)) {
				t.Fatalf("validation at 59 s: %+v %v", v, err)
			}
			// Renewed at 59 s in memory only: at 118 s m1 still holds the seat.
			now = start.Add(118 * time.Second)
			if _, err := svc.Activate(ctx, check("m2")); messageOf(err) != "License already activated on another machine" {
				t.Fatalf("m2 while m1's renewed lease runs: %v", err)
			}
			if view, err := svc.License(ctx, u, l.Key); err != nil || view.SeatsInUse != 1 ||
				!view.Activations[0].LeaseExpiresAt.Equal(start.Add(119*time.Second)) {
				t.Fatalf("license view at 118 s: %+v %v", view, err)
			}
			if err := svc.FlushValidations(ctx); err != nil {
				t.Fatal(err)
			}
			// Silent for exactly a lease since 59 s: lapsed, at once.
			now = start.Add(119 * time.Second)
			if v, err := svc.Validate(ctx, check("m1")); err != nil || v.Status != licensing.VerdictMachineMismatch {
				t.Fatalf("m1 after its lease lapsed: %+v %v, want machine_mismatch", v, err)
			}
			if _, err := svc.Heartbeat(ctx, check("m1")); messageOf(err) != "License is not activated on this machine" {
				t.Fatalf("heartbeat of a lapsed seat: %v", err)
			}
			if err := svc.Deactivate(ctx, check("m1")); messageOf(err) != "License is not activated on this machine" {
				t.Fatalf("release of a lapsed seat: %v", err)
			}
			if _, _, err := svc.Checkout(ctx, licensing.CheckoutInput{Check: check("m1")}); messageOf(err) != "License is not activated on this machine" {
				t.Fatalf("checkout of a lapsed seat: %v", err)
			}
			view, err := svc.License(ctx, u, l.Key)
			if err != nil || view.SeatsInUse != 0 || len(view.Activations) != 1 {
				t.Fatalf("license view after the lapse: %+v %v, want the lapsed seat listed and none in use", view, err)
			}
			a, err = svc.Activate(ctx, check("m2"))
			if err != nil || a.Already {
				t.Fatalf("m2 after m1's lease lapsed: %+v %v", a, err)
			}
			view, err = svc.License(ctx, u, l.Key)
			if err != nil || len(view.Activations) != 1 || view.Activations[0].MachineID != "m2" || view.License.MachineID != "m2" {
				t.Fatalf("seats after m2 took the lapsed one: %+v %v", view, err)
			}
			// m1 comes back: the seat is m2's now.
			if _, err := svc.Activate(ctx, check("m1")); messageOf(err) != "License already activated on another machine" {
				t.Fatalf("m1 back: %v", err)
			}
		})
	}
}

// TestLeaseOwnSeatTakenAnew: a machine whose own seat lapsed and was not
// taken gets a fresh one by activating again (what the guard does when it
// is told machine_mismatch), and a heartbeat keeps a seat alive without
// counting a validation.
func TestLeaseOwnSeatTakenAnew(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	store := storetest.SQLite(t)
	svc := newService(t, store, &now)
	u, p := developerWithProject(t, svc)
	l := leasedLicense(t, svc, u, p, 1, 60)
	c := licensing.Check{Key: l.Key, MachineID: "m1"}
	first, err := svc.Activate(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	for range 5 { // 5 heartbeats 50 s apart: 250 s alive on a 60 s lease
		now = now.Add(50 * time.Second)
		h, err := svc.Heartbeat(ctx, c)
		if err != nil || !h.LeaseExpiresAt.Equal(now.Add(time.Minute)) {
			t.Fatalf("heartbeat: %+v %v", h, err)
		}
	}
	if v, err := svc.Validate(ctx, c); err != nil || !v.Valid {
		t.Fatalf("after heartbeats: %+v %v", v, err)
	}
	if err := svc.FlushValidations(ctx); err != nil {
		t.Fatal(err)
	}
	day := keybox.DayOf(now)
	if got, err := store.Validations(ctx, u.ID, day, day); err != nil || len(got) != 1 || got[0].Count != 1 {
		t.Fatalf("validations counted: %v %v, want the one validation (heartbeats are not validations)", got, err)
	}
	now = now.Add(time.Minute)
	if v, _ := svc.Validate(ctx, c); v.Status != licensing.VerdictMachineMismatch {
		t.Fatalf("after a silent minute: %s", v.Status)
	}
	again, err := svc.Activate(ctx, c)
	if err != nil || again.Already || again.Seat.ID == first.Seat.ID {
		t.Fatalf("activating again: %+v %v, want a new seat", again, err)
	}
	if v, err := svc.Validate(ctx, c); err != nil || !v.Valid {
		t.Fatalf("after activating again: %+v %v", v, err)
	}
}

// TestHeartbeatRefusals: a heartbeat is refused as the public API refuses,
// and a seat of a license without a lease has no lease to end.
func TestHeartbeatRefusals(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	svc := newService(t, storetest.SQLite(t), &now)
	u, p := developerWithProject(t, svc)
	leased := leasedLicense(t, svc, u, p, 2, 300)
	plain := leasedLicense(t, svc, u, p, 1, 0)
	for _, key := range []string{leased.Key, plain.Key} {
		if _, err := svc.Activate(ctx, licensing.Check{Key: key, MachineID: "m1", ProductName: "Desk"}); err != nil {
			t.Fatal(err)
		}
	}
	if h, err := svc.Heartbeat(ctx, licensing.Check{Key: plain.Key, MachineID: "m1"}); err != nil || !h.LeaseExpiresAt.IsZero() {
		t.Fatalf("heartbeat without a lease: %+v %v", h, err)
	}
	pending := leasedLicense(t, svc, u, p, 1, 300)
	cases := []struct {
		name string
		c    licensing.Check
		want string
	}{
		{"no key", licensing.Check{MachineID: "m1"}, "License key is required"},
		{"unknown key", licensing.Check{Key: "KB-NOPE", MachineID: "m1"}, "License not found"},
		{"no seat", licensing.Check{Key: leased.Key, MachineID: "m2"}, "License is not activated on this machine"},
		{"no machine id", licensing.Check{Key: leased.Key}, "License is not activated on this machine"},
		{"another product", licensing.Check{Key: leased.Key, MachineID: "m1", ProductName: "Web"}, "License key is not valid for this product"},
		{"pending", licensing.Check{Key: pending.Key, MachineID: "m1"}, "License is not activated on this machine"},
	}
	for _, tc := range cases {
		if _, err := svc.Heartbeat(ctx, tc.c); messageOf(err) != tc.want {
			t.Errorf("%s: got %v, want %q", tc.name, err, tc.want)
		}
	}
	if _, err := svc.ToggleRevoke(ctx, u, leased.Key); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Heartbeat(ctx, licensing.Check{Key: leased.Key, MachineID: "m1"}); messageOf(err) != "License has been revoked" {
		t.Errorf("revoked: %v", err)
	}
	now = now.AddDate(1, 1, 0)
	if _, err := svc.Heartbeat(ctx, licensing.Check{Key: plain.Key, MachineID: "m1"}); messageOf(err) != "License has expired" {
		t.Errorf("expired: %v", err)
	}
}

// TestLeaseSweep: the sweep removes lapsed seats, and only those, on every
// engine; two servers sweeping one database at once remove each seat once.
func TestLeaseSweep(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			ctx := context.Background()
			store := e.Open(t)
			now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
			a, b := newService(t, store, &now), newService(t, store, &now)
			u, p := developerWithProject(t, a)
			var keys []string
			for range 6 {
				l := leasedLicense(t, a, u, p, 3, 60)
				keys = append(keys, l.Key)
				for _, m := range []string{"old", "kept"} {
					if _, err := a.Activate(ctx, licensing.Check{Key: l.Key, MachineID: m}); err != nil {
						t.Fatal(err)
					}
				}
			}
			plain := leasedLicense(t, a, u, p, 1, 0)
			if _, err := a.Activate(ctx, licensing.Check{Key: plain.Key, MachineID: "forever"}); err != nil {
				t.Fatal(err)
			}
			now = now.Add(40 * time.Second)
			for _, k := range keys { // "kept" is heard from on server b
				if _, err := b.Heartbeat(ctx, licensing.Check{Key: k, MachineID: "kept"}); err != nil {
					t.Fatal(err)
				}
			}
			// b writes what it heard within a flush interval, long before
			// a lease: a, which never heard "kept", sees it in the database.
			if err := b.FlushValidations(ctx); err != nil {
				t.Fatal(err)
			}
			now = now.Add(30 * time.Second)
			done := make(chan int, 2)
			for _, svc := range []*licensing.Service{b, a} {
				go func() {
					n, err := svc.SweepLeases(ctx)
					if err != nil {
						t.Error(err)
					}
					done <- n
				}()
			}
			if n := <-done + <-done; n != len(keys) {
				t.Fatalf("sweeps removed %d seats, want %d (each \"old\" seat once)", n, len(keys))
			}
			for _, k := range append(keys, plain.Key) {
				view, err := a.License(ctx, u, k)
				if err != nil {
					t.Fatal(err)
				}
				want := "kept"
				if k == plain.Key {
					want = "forever"
				}
				if len(view.Activations) != 1 || view.Activations[0].MachineID != want || string(view.License.MachineID) != want {
					t.Fatalf("%s after the sweep: %+v, want only %s", k, view, want)
				}
			}
			if n, err := a.SweepLeases(ctx); err != nil || n != 0 {
				t.Fatalf("a second sweep: %d %v", n, err)
			}
		})
	}
}
