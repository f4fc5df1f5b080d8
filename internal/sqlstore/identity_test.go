package sqlstore_test

import (
	"context"
	"database/sql"
	"strings"
	"testing"
	"time"

	"github.com/keyboxhq/keybox"
	"github.com/keyboxhq/keybox/internal/postgres"
	"github.com/keyboxhq/keybox/internal/sqlite"
	"github.com/keyboxhq/keybox/internal/sqlstore"
	"github.com/keyboxhq/keybox/internal/storetest"
)

// TestIdentitiesGoWithTheirAccount: deleting an account (which no command
// does yet, so the test does it in SQL) deletes its sign-in links, so that a
// provider's subject can never lead to an account that is gone.
func TestIdentitiesGoWithTheirAccount(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			ctx := context.Background()
			url := e.URL(t)
			var store *sqlstore.Store
			var raw *sql.DB
			var err error
			if path, ok := strings.CutPrefix(url, "sqlite://"); ok {
				store, err = sqlite.Open(ctx, path, sqlstore.Options{Migrate: true})
				if err == nil {
					raw, err = sql.Open("sqlite", "file:"+path+"?_pragma=foreign_keys(1)&_pragma=busy_timeout(5000)")
				}
			} else {
				store, err = postgres.Open(ctx, url, sqlstore.Options{Migrate: true})
				if err == nil {
					raw, err = sql.Open("pgx", url)
				}
			}
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = store.Close(); _ = raw.Close() })
			raw.SetMaxOpenConns(1)

			now := keybox.NewTime(time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC))
			u := keybox.User{ID: "65b000000000000000000001", Name: "G", Email: "g@example.com", Role: keybox.RoleDeveloper, CreatedAt: now, UpdatedAt: now}
			err = store.Update(ctx, func(tx keybox.Tx) error {
				if err := tx.CreateUser(ctx, u); err != nil {
					return err
				}
				return tx.CreateIdentity(ctx, keybox.Identity{Provider: "google", Subject: "1", UserID: u.ID, CreatedAt: now})
			})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := raw.ExecContext(ctx, `DELETE FROM users WHERE id = $1`, u.ID); err != nil {
				t.Fatalf("delete the account: %v", err)
			}
			if _, err := store.UserByIdentity(ctx, "google", "1"); !keybox.IsCode(err, keybox.NotFound) {
				t.Fatalf("after deleting the account: got %v, want not found", err)
			}
			var n int
			if err := raw.QueryRowContext(ctx, `SELECT count(*) FROM user_identities`).Scan(&n); err != nil || n != 0 {
				t.Fatalf("links left: %d, %v; want 0", n, err)
			}
		})
	}
}
