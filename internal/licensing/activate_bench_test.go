package licensing_test

import (
	"context"
	"testing"
	"time"

	"github.com/keyboxhq/keybox/internal/licensing"
	"github.com/keyboxhq/keybox/internal/storetest"
)

// BenchmarkActivateDeactivate takes a seat and frees it: two transactions,
// each of which records its event (and, with a webhook, its delivery):
//
//	go test -run '^$' -bench ActivateDeactivate -benchmem ./internal/licensing/
func BenchmarkActivateDeactivate(b *testing.B) {
	ctx := context.Background()
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	svc := newService(b, storetest.SQLite(b), &now)
	u, p := developerWithProject(b, svc)
	l, err := svc.CreateLicense(ctx, u, licensing.NewLicense{Duration: licensing.Num(12), ClientID: licensing.Str(p.ClientID),
		ProjectID: licensing.Str(p.ID), MaxMachines: licensing.Num(1)})
	if err != nil {
		b.Fatal(err)
	}
	c := licensing.Check{Key: l.Key, MachineID: "m1"}
	b.ReportAllocs()
	for b.Loop() {
		if a, err := svc.Activate(ctx, c); err != nil || a.Already {
			b.Fatalf("%+v %v", a, err)
		}
		if err := svc.Deactivate(ctx, c); err != nil {
			b.Fatal(err)
		}
	}
}
