package server_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/keyboxhq/keybox"
)

// seedTree writes clients × projects × licenses for one owner in a single
// transaction, straight into the store (the API would take minutes).
func seedTree(b testing.TB, store keybox.Store, ids *keybox.IDs, owner keybox.User, clients, projects, licenses int, at time.Time) {
	b.Helper()
	ctx := context.Background()
	now := keybox.NewTime(at)
	err := store.Update(ctx, func(tx keybox.Tx) error {
		for c := range clients {
			cl := keybox.Client{ID: ids.New(at), Name: fmt.Sprintf("Customer %d", c), Email: fmt.Sprintf("c%d@%s.example.com", c, owner.ID), OwnerID: owner.ID, CreatedAt: now, UpdatedAt: now}
			if err := tx.CreateClient(ctx, cl); err != nil {
				return err
			}
			for p := range projects {
				pr := keybox.Project{ID: ids.New(at), Name: fmt.Sprintf("Product %d", p), ClientID: cl.ID, OwnerID: owner.ID, CreatedAt: now, UpdatedAt: now}
				if err := tx.CreateProject(ctx, pr); err != nil {
					return err
				}
				for range licenses {
					id := ids.New(at)
					l := keybox.License{ID: id, Key: "K-" + id, Duration: 12, IssuedAt: now, ExpiresAt: keybox.NewTime(at.AddDate(1, 0, 0)),
						Status: keybox.StatusActive, Services: []keybox.Service{keybox.ServiceHosting}, OwnerID: owner.ID, ClientID: cl.ID,
						ProjectID: pr.ID, MaxMachines: 1, ActivatedAt: now, CreatedAt: now, UpdatedAt: now}
					if err := tx.CreateLicense(ctx, l); err != nil {
						return err
					}
				}
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
}

// BenchmarkDashboard: GET /dashboard over loopback HTTP for a developer with
// 1,000 clients × 2 projects × 3 licenses, while the database holds 100,000
// licenses of 100 other developers.
//
//	go test -run '^$' -bench Dashboard -benchtime 20x ./internal/server/
func BenchmarkDashboard(b *testing.B) {
	for _, engine := range []string{"sqlite", "postgres"} {
		b.Run(engine, func(b *testing.B) {
			store := openEngine(b, engine)
			e := newEnv(b, store)
			_, token := e.developer("ada@example.com")
			ada, err := store.UserByEmail(context.Background(), "ada@example.com")
			if err != nil {
				b.Fatal(err)
			}
			ids, _ := keybox.NewIDs(nil)
			start := time.Now()
			for i := range 100 {
				other := e.signup("Other", fmt.Sprintf("other%d@example.com", i))
				seedTree(b, store, ids, keybox.User{ID: other}, 100, 2, 5, e.clock.Now())
			}
			seedTree(b, store, ids, ada, 1000, 2, 3, e.clock.Now())
			b.Logf("%s: seeded 106,000 licenses in %v", engine, time.Since(start).Round(time.Millisecond))

			req := func() {
				r, _ := http.NewRequest("GET", e.url+"/dashboard", nil)
				r.Header.Set("Authorization", "Bearer "+token)
				resp, err := http.DefaultClient.Do(r)
				if err != nil {
					b.Fatal(err)
				}
				n, _ := io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 || n < 1_000_000 {
					b.Fatalf("GET /dashboard: %d, %d bytes", resp.StatusCode, n)
				}
				b.SetBytes(n)
			}
			req() // warm the statement cache
			b.ResetTimer()
			cpu := processCPU(b)
			for b.Loop() {
				req()
			}
			// The host is shared: the CPU time the process spent (server and
			// client both) is steadier than the time on the wall.
			b.ReportMetric(float64((processCPU(b)-cpu).Microseconds())/1000/float64(b.N), "cpu-ms/op")
		})
	}
}
