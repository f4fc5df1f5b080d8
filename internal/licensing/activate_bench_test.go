package licensing_test

import (
	"context"
	"runtime"
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

// BenchmarkActivateParallel creates a license and activates it from 16
// goroutines at once on SQLite, where concurrent writes share commits
// (two transactions per iteration):
//
//	go test -run '^$' -bench ActivateParallel -benchmem ./internal/licensing/
func BenchmarkActivateParallel(b *testing.B) {
	ctx := context.Background()
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	svc := newService(b, storetest.SQLite(b), &now)
	u, p := developerWithProject(b, svc)
	in := licensing.NewLicense{Duration: licensing.Num(12), ClientID: licensing.Str(p.ClientID),
		ProjectID: licensing.Str(p.ID), MaxMachines: licensing.Num(1)}
	b.SetParallelism(16 / max(1, runtime.GOMAXPROCS(0)))
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			l, err := svc.CreateLicense(ctx, u, in)
			if err != nil {
				b.Error(err)
				return
			}
			if _, err := svc.Activate(ctx, licensing.Check{Key: l.Key, MachineID: "m1"}); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "activations/s")
}
