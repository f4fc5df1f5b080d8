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

// failingWrites is a real store whose next RecordValidations runs during
// (validations arriving while the write is under way) and then fails, as
// a database that went away would.
type failingWrites struct {
	keybox.Store
	fail   bool
	during func()
}

var errDiskFull = errors.New("disk full")

func (s *failingWrites) RecordValidations(ctx context.Context, counts []keybox.ValidationCount, seen []keybox.ActivationSeen) error {
	if !s.fail {
		return s.Store.RecordValidations(ctx, counts, seen)
	}
	s.fail = false
	s.during()
	return errDiskFull
}

// TestFlushFailureLosesNothing: validations whose write failed are written
// by the next flush together with those counted meanwhile, each on its day,
// and the seat keeps the time it was last seen.
func TestFlushFailureLosesNothing(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			ctx := context.Background()
			store := &failingWrites{Store: e.Open(t)}
			now := time.Date(2026, 5, 1, 23, 59, 58, 0, time.UTC)
			svc := newService(t, store, &now)
			u := activeLicenses(t, svc, 1)
			list, _, _, err := svc.Licenses(ctx, u, licensing.LicenseList{})
			if err != nil {
				t.Fatal(err)
			}
			key := list[0].Key
			validate := func(n int) {
				t.Helper()
				for range n {
					if v, err := svc.Validate(ctx, licensing.Check{Key: key, MachineID: "m"}); err != nil || !v.Valid {
						t.Fatalf("validate: %+v %v", v, err)
					}
				}
			}
			day1 := keybox.DayOf(now)
			validate(3)

			store.fail = true
			store.during = func() {
				now = now.Add(time.Second) // the same day as those being written
				validate(1)
				now = now.Add(2 * time.Second) // past midnight
				validate(2)
			}
			if err := svc.FlushValidations(ctx); !errors.Is(err, errDiskFull) {
				t.Fatalf("failing flush: got %v, want the store's error", err)
			}
			day2 := keybox.DayOf(now)
			if err := svc.FlushValidations(ctx); err != nil {
				t.Fatal(err)
			}
			got, err := store.Validations(ctx, u.ID, day1, day2)
			if err != nil {
				t.Fatal(err)
			}
			want := []keybox.DailyCount{{Day: day1, Count: 4}, {Day: day2, Count: 2}}
			if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
				t.Fatalf("stored %v, want %v", got, want)
			}
			seats, err := store.Activations(ctx, list[0].ID)
			if err != nil {
				t.Fatal(err)
			}
			if len(seats) != 1 || !seats[0].LastValidatedAt.Equal(now) {
				t.Fatalf("seats %+v: want one last validated at %v", seats, now)
			}

			// Nothing is left to write twice.
			if err := svc.FlushValidations(ctx); err != nil {
				t.Fatal(err)
			}
			if again, _ := store.Validations(ctx, u.ID, day1, day2); len(again) != 2 || again[0] != want[0] || again[1] != want[1] {
				t.Fatalf("after another flush: stored %v, want %v", again, want)
			}
		})
	}
}
