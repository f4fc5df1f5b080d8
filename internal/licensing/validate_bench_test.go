package licensing_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/keyboxhq/keybox/internal/licensing"
	"github.com/keyboxhq/keybox/internal/storetest"
)

// BenchmarkValidate is the hot path from a warm cache to the encoded
// answer, for a plain license, one with entitlements, and one with
// entitlements and a lease:
//
//	go test -run '^$' -bench Validate -benchmem ./internal/licensing/
func BenchmarkValidate(b *testing.B) {
	ctx := context.Background()
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	svc := newService(b, storetest.SQLite(b), &now)
	u, p := developerWithProject(b, svc)
	for _, tc := range []struct {
		name  string
		terms licensing.LicenseTerms
	}{
		{"plain", licensing.LicenseTerms{}},
		{"entitlements", licensing.LicenseTerms{Entitlements: json.RawMessage(`["export","pro","reports"]`)}},
		{"entitlements+lease", licensing.LicenseTerms{Entitlements: json.RawMessage(`["export","pro","reports"]`), LeaseSeconds: licensing.Num(300)}},
	} {
		l, err := svc.CreateLicense(ctx, u, licensing.NewLicense{Duration: licensing.Num(12), ClientID: licensing.Str(p.ClientID),
			ProjectID: licensing.Str(p.ID), LicenseTerms: tc.terms})
		if err != nil {
			b.Fatal(err)
		}
		c := licensing.Check{Key: l.Key, MachineID: "m1"}
		if _, err := svc.Activate(ctx, c); err != nil {
			b.Fatal(err)
		}
		b.Run(tc.name, func(b *testing.B) {
			buf := make([]byte, 0, 256)
			b.ReportAllocs()
			for b.Loop() {
				v, err := svc.Validate(ctx, c)
				if err != nil || !v.Valid {
					b.Fatalf("%+v %v", v, err)
				}
				buf = v.AppendJSON(buf[:0])
			}
		})
	}
}
