package server_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keyboxhq/keybox"
	"github.com/keyboxhq/keybox/internal/postgres"
	"github.com/keyboxhq/keybox/internal/sqlstore"
	"github.com/keyboxhq/keybox/internal/storetest"
)

// holdConnection takes a connection of store in a transaction that lasts
// until release is called (at the latest when the test ends), as a burst of
// slow requests would.
func holdConnection(t *testing.T, store keybox.Store) (release func()) {
	t.Helper()
	inside, done, finished := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	go func() {
		finished <- store.Update(context.Background(), func(tx keybox.Tx) error {
			if _, err := tx.CountUsers(context.Background()); err != nil {
				return err
			}
			close(inside)
			<-done
			return nil
		})
	}()
	select {
	case <-inside:
	case err := <-finished:
		t.Fatalf("holding a connection: %v", err)
	}
	var once sync.Once
	release = func() {
		once.Do(func() {
			close(done)
			if err := <-finished; err != nil {
				t.Errorf("holding a connection: %v", err)
			}
		})
	}
	t.Cleanup(release)
	return release
}

// wantUnavailable checks a 503 answer as every route gives it: a JSON message, a
// Retry-After, and the public API's "success": false where it has one.
func wantUnavailable(t *testing.T, r response, public bool) {
	t.Helper()
	r.want(t, 503, "Service temporarily unavailable")
	if got := r.header.Get("Retry-After"); got != "2" {
		t.Fatalf("Retry-After %q, want \"2\"", got)
	}
	if public && r.body["success"] != false {
		t.Fatalf("public answer %s lacks \"success\": false", r.raw)
	}
	if _, leaked := r.body["requestId"]; leaked {
		t.Fatalf("a 503 is not a 500: %s", r.raw)
	}
	for _, cause := range []string{"SQLSTATE", "53300", "role", "connection", "pool"} {
		if strings.Contains(string(r.raw), cause) {
			t.Fatalf("a 503 tells the client its cause (%q): %s", cause, r.raw)
		}
	}
}

// TestNoConnectionInTimeIs503: when every connection of the pool stays busy
// past the wait limit (the single SQLite writer, a PostgreSQL pool of one),
// writes through both APIs answer 503 with Retry-After, change nothing,
// and succeed once a connection is free.
func TestNoConnectionInTimeIs503(t *testing.T) {
	for _, eng := range storetest.Engines() {
		t.Run(eng.Name, func(t *testing.T) {
			// Long enough that, once the connection is free again, a request
			// never waits it out on a loaded machine (the server's own
			// background work shares the one connection); the refusals
			// while it is held each cost this much.
			store := eng.OpenWith(t, sqlstore.Options{MaxConns: 1, ConnWait: 2 * time.Second})
			e := newEnv(t, store)
			token, key := e.newKey("ada@example.com")
			client := map[string]any{"name": "Globex", "email": "globex@example.com"}
			seat := map[string]any{"key": key, "machineId": "m-1"}

			release := holdConnection(t, store)
			wantUnavailable(t, e.do("POST", "/clients", token, client), false)
			wantUnavailable(t, e.do("POST", "/validate/activate", "", seat), true)
			release()

			e.do("POST", "/clients", token, client).want(t, 201, "Client created successfully")
			e.do("POST", "/validate/activate", "", seat).want(t, 200, "License activated successfully")
			if n := len(e.do("GET", "/clients", token, nil).want(t, 200, "").list("clients")); n != 2 {
				t.Fatalf("%d clients after one refused and one accepted creation, want 2", n)
			}
		})
	}
}

// TestTooManyClientsIs503: PostgreSQL refusing a connection because the
// role is at its connection limit (SQLSTATE 53300, what a shared server
// full of other tenants answers) is a 503 with Retry-After, not a 500.
func TestTooManyClientsIs503(t *testing.T) {
	dsn := storetest.PostgresURL(t)
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	schema := u.Query().Get("search_path")
	admin, err := sql.Open("pgx", os.Getenv(storetest.PostgresEnv))
	if err != nil {
		t.Fatal(err)
	}
	admin.SetMaxOpenConns(1)
	defer admin.Close()
	var b [6]byte
	_, _ = rand.Read(b[:])
	role := "keybox_limited_" + hex.EncodeToString(b[:])
	for _, stmt := range []string{
		"CREATE ROLE " + role + " LOGIN CONNECTION LIMIT 1",
		"GRANT USAGE, CREATE ON SCHEMA " + schema + " TO " + role,
	} {
		if _, err := admin.Exec(stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	// Runs before the schema is dropped: the role's tables go with it.
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		cleanup, err := sql.Open("pgx", os.Getenv(storetest.PostgresEnv))
		if err != nil {
			t.Error(err)
			return
		}
		defer cleanup.Close()
		for _, stmt := range []string{"DROP OWNED BY " + role + " CASCADE", "DROP ROLE " + role} {
			if _, err := cleanup.ExecContext(ctx, stmt); err != nil {
				t.Errorf("%s: %v", stmt, err)
			}
		}
	})

	u.User = url.User(role)
	store, err := postgres.Open(context.Background(), u.String(), sqlstore.Options{Migrate: true, MaxConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	e := newEnv(t, store)
	token, key := e.newKey("ada@example.com")

	release := holdConnection(t, store) // the role's one connection
	wantUnavailable(t, e.do("POST", "/validate", "", map[string]any{"key": key, "machineId": "m-1"}), false)
	wantUnavailable(t, e.do("GET", "/license/"+key, token, nil), false)
	release()
	e.do("GET", "/license/"+key, token, nil).want(t, 200, "")
}
