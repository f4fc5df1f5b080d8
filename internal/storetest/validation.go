package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/keyboxhq/keybox"
)

// testValidationsInBulk records more counts and sightings than one
// statement writes (and sizes that are not powers of two), with the same
// license, day or seat more than once in a batch.
func testValidationsInBulk(t *testing.T, s keybox.Store) {
	f := newFixture(t, s)
	ctx := context.Background()
	alice := f.user("alice@example.com")
	l := f.license(f.project(f.client(alice, "a@example.com", base), "A"), "BULK", keybox.StatusActive, base)
	day := keybox.DayOf(base.Time)

	const licenses = 300
	var counts []keybox.ValidationCount
	for i := range licenses {
		counts = append(counts, keybox.ValidationCount{LicenseID: fmt.Sprintf("lic-%03d", i), OwnerID: alice.ID, Day: day, Count: 1})
	}
	// The same license and day again in the same batch, and another day.
	counts = append(counts, keybox.ValidationCount{LicenseID: "lic-007", OwnerID: alice.ID, Day: day, Count: 2},
		keybox.ValidationCount{LicenseID: "lic-007", OwnerID: alice.ID, Day: day - 1, Count: 5})
	f.must(s.RecordValidations(ctx, counts, nil))
	f.must(s.RecordValidations(ctx, counts[:37], nil))
	got, err := s.Validations(ctx, alice.ID, day-1, day)
	f.must(err)
	want := []keybox.DailyCount{{Day: day - 1, Count: 5}, {Day: day, Count: licenses + 2 + 37}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("got %v, want %v", got, want)
	}

	const seats = 300
	var made []keybox.Activation
	f.must(f.update(func(tx keybox.Tx) error {
		for i := range seats {
			a := keybox.Activation{ID: f.id(), LicenseID: l.ID, MachineID: fmt.Sprintf("m%03d", i), ActivatedAt: base, CreatedAt: base, UpdatedAt: base}
			if err := tx.CreateActivation(ctx, a); err != nil {
				return err
			}
			made = append(made, a)
		}
		return nil
	}))
	later, earlier := base.Add(time.Hour), base.Add(time.Minute)
	var seen []keybox.ActivationSeen
	for i, a := range made[:seats-1] { // the last seat is never seen
		seen = append(seen, keybox.ActivationSeen{ActivationID: a.ID, At: later.Add(time.Duration(i) * time.Millisecond)})
	}
	// The first seat twice in the batch (the later time wins), and a seat
	// that is gone.
	seen = append(seen, keybox.ActivationSeen{ActivationID: made[0].ID, At: later.Add(time.Hour)},
		keybox.ActivationSeen{ActivationID: "gone", At: later})
	f.must(s.RecordValidations(ctx, nil, seen))
	// Older sightings arriving late move nothing back.
	var old []keybox.ActivationSeen
	for _, a := range made {
		old = append(old, keybox.ActivationSeen{ActivationID: a.ID, At: earlier})
	}
	f.must(s.RecordValidations(ctx, nil, old))

	list, err := s.Activations(ctx, l.ID)
	f.must(err)
	if len(list) != seats {
		t.Fatalf("got %d seats, want %d", len(list), seats)
	}
	for i, a := range list {
		want := later.Add(time.Duration(i) * time.Millisecond)
		switch i {
		case 0:
			want = later.Add(time.Hour)
		case seats - 1:
			want = earlier
		}
		if !a.LastValidatedAt.Equal(want) {
			t.Fatalf("seat %d: lastValidatedAt %v, want %v", i, a.LastValidatedAt, want)
		}
	}
}
