package sqlstore_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/keyboxhq/keybox"
	"github.com/keyboxhq/keybox/internal/storetest"
)

// BenchmarkRecordValidations flushes what 10,000 keys, each validated from
// its seat, leave in the counter: 10,000 counts and 10,000 sightings.
//
//	go test -run '^$' -bench RecordValidations ./internal/sqlstore/
func BenchmarkRecordValidations(b *testing.B) {
	const keys = 10_000
	ctx := context.Background()
	s := storetest.SQLite(b)
	now := keybox.NewTime(time.Now())
	day := keybox.DayOf(now.Time)
	u := keybox.User{ID: "owner", Name: "Ada", Email: "ada@example.com", PasswordHash: "x", Role: keybox.RoleDeveloper, CreatedAt: now, UpdatedAt: now}
	c := keybox.Client{ID: "client", OwnerID: u.ID, Name: "Acme", Email: "acme@example.com", CreatedAt: now, UpdatedAt: now}
	p := keybox.Project{ID: "project", OwnerID: u.ID, ClientID: c.ID, Name: "App", CreatedAt: now, UpdatedAt: now}
	counts := make([]keybox.ValidationCount, keys)
	seen := make([]keybox.ActivationSeen, keys)
	err := s.Update(ctx, func(tx keybox.Tx) error {
		err := tx.CreateUser(ctx, u)
		if err == nil {
			err = tx.CreateClient(ctx, c)
		}
		if err == nil {
			err = tx.CreateProject(ctx, p)
		}
		for i := 0; i < keys && err == nil; i++ {
			l := keybox.License{ID: fmt.Sprintf("lic-%05d", i), Key: fmt.Sprintf("KEY-%05d", i), Duration: 12, Status: keybox.StatusActive,
				OwnerID: u.ID, ClientID: c.ID, ProjectID: p.ID, MaxMachines: 1, IssuedAt: now, ExpiresAt: now, CreatedAt: now, UpdatedAt: now}
			a := keybox.Activation{ID: fmt.Sprintf("act-%05d", i), LicenseID: l.ID, MachineID: "m", ActivatedAt: now, CreatedAt: now, UpdatedAt: now}
			if err = tx.CreateLicense(ctx, l); err == nil {
				err = tx.CreateActivation(ctx, a)
			}
			counts[i] = keybox.ValidationCount{LicenseID: l.ID, OwnerID: u.ID, Day: day, Count: 3}
			seen[i] = keybox.ActivationSeen{ActivationID: a.ID, At: now.Time}
		}
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		for i := range seen {
			seen[i].At = seen[i].At.Add(time.Millisecond) // moves every seat forward
		}
		if err := s.RecordValidations(ctx, counts, seen); err != nil {
			b.Fatal(err)
		}
	}
}
