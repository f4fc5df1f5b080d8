package server_test

import (
	"context"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keyboxhq/keybox"
	"github.com/keyboxhq/keybox/internal/postgres"
	"github.com/keyboxhq/keybox/internal/servertest"
	"github.com/keyboxhq/keybox/internal/sqlite"
	"github.com/keyboxhq/keybox/internal/sqlstore"
	"github.com/keyboxhq/keybox/internal/storetest"
)

// TestTwoServersOnePostgres: a revoke through one server is answered by
// another server sharing the database within a second, with no message
// passing between them. B's cache runs on a clock the test moves.
func TestTwoServersOnePostgres(t *testing.T) {
	url := storetest.PostgresURL(t)
	open := func(opts ...envOption) *env {
		s, err := postgres.Open(context.Background(), url, sqlstore.Options{Migrate: true, MaxConns: storetest.PostgresPool})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return newEnv(t, s, opts...)
	}
	cacheClock := servertest.NewClock()
	a := open()
	b := open(func(o *servertest.Options) { o.CacheClock = cacheClock.Now })
	token, key := a.newKey("ada@example.com")
	a.do("POST", "/validate/activate", "", map[string]any{"key": key, "machineId": "m"}).want(t, 200, "")
	validateOnB := func() string {
		return b.do("POST", "/validate", "", map[string]any{"key": key, "machineId": "m"}).want(t, 200, "").str("status")
	}
	for _, step := range []struct{ change, was, want string }{{"revoke", "active", "revoked"}, {"restore", "revoked", "active"}} {
		if got := validateOnB(); got != step.was {
			t.Fatalf("before the %s, B answers %s, want %s", step.change, got, step.was)
		}
		// B has the license in memory now; change it through A.
		a.do("PATCH", "/license/revoke/"+key, token, nil).want(t, 200, "")
		if got := validateOnB(); got != step.was {
			// Not a rule, a check that this test still exercises the cache.
			t.Fatalf("right after the %s, B answers %s: B no longer answers from memory", step.change, got)
		}
		cacheClock.Add(time.Second - time.Millisecond)
		if got := validateOnB(); got != step.want {
			t.Fatalf("B answers %s, want %s, under a second after the %s through A", got, step.want, step.change)
		}
	}
}

func TestValidationsAreCounted(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		token, key := e.newKey("ada@example.com")
		e.do("POST", "/validate/activate", "", map[string]any{"key": key, "machineId": "m"}).want(t, 200, "")
		for range 7 {
			e.do("POST", "/validate", "", map[string]any{"key": key, "machineId": "m"}).want(t, 200, "")
		}
		today := func() float64 {
			days := e.do("GET", "/dashboard/stats", token, nil).want(t, 200, "").list("validations")
			return days[len(days)-1].(map[string]any)["count"].(float64)
		}
		if got := today(); got != 7 {
			t.Fatalf("before the flush: %v validations today, want 7", got)
		}
		if err := e.svc.FlushValidations(t.Context()); err != nil {
			t.Fatal(err)
		}
		if got := today(); got != 7 {
			t.Fatalf("after the flush: %v validations today, want 7", got)
		}
		seat := e.do("GET", "/license/"+key, token, nil).list("activations")[0].(map[string]any)
		if seat["lastValidatedAt"] != e.clock.Now().Format("2006-01-02T15:04:05.000Z") {
			t.Fatalf("lastValidatedAt %v, want %v", seat["lastValidatedAt"], e.clock.Now())
		}
	})
}

func TestMetrics(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t))
	_, key := e.newKey("ada@example.com")
	e.do("POST", "/validate/activate", "", map[string]any{"key": key, "machineId": "m"}).want(t, 200, "")
	for range 3 {
		e.do("POST", "/validate", "", map[string]any{"key": key, "machineId": "m"}).want(t, 200, "")
	}
	e.do("POST", "/validate", "", map[string]any{"key": "nope"}).want(t, 200, "")
	e.do("GET", "/nowhere", "", nil).want(t, 404, "")
	r := e.do("GET", "/metrics", "", nil)
	if r.status != 200 || !strings.HasPrefix(r.header.Get("Content-Type"), "text/plain; version=0.0.4") {
		t.Fatalf("GET /metrics: %d %s", r.status, r.header.Get("Content-Type"))
	}
	text := string(r.raw)
	for _, want := range []string{
		`keybox_http_requests_total{route="POST /validate",method="POST",status="200"} 4`,
		`keybox_http_requests_total{route="unmatched",method="GET",status="404"} 1`,
		`keybox_http_request_duration_seconds_count{route="POST /validate"} 4`,
		`keybox_http_request_duration_seconds_bucket{route="POST /validate",le="+Inf"} 4`,
		`keybox_validations_total{result="active"} 3`,
		`keybox_validations_total{result="invalid"} 1`,
		`keybox_db_open_connections{engine="sqlite"}`,
		`keybox_db_queries_total{engine="sqlite"}`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

// TestReplicaServesHotUntilChanged: with the change feed running, a server
// keeps answering a license from memory long past the cache's TTL while it
// is unchanged, yet a revoke (and a restore) through another server sharing
// the database is answered at once. B's cache clock stands still after it
// has moved well past the TTL: only the feed can make B read the license
// again. Each engine's servers share one database (two stores on one
// SQLite file stand for two processes).
func TestReplicaServesHotUntilChanged(t *testing.T) {
	for _, eng := range []struct {
		name string
		open func(t *testing.T) func() keybox.Store
	}{
		{"sqlite", func(t *testing.T) func() keybox.Store {
			path := filepath.Join(t.TempDir(), "keybox.db")
			return func() keybox.Store {
				s, err := sqlite.Open(context.Background(), path, sqlstore.Options{Migrate: true})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { _ = s.Close() })
				return s
			}
		}},
		{"postgres", func(t *testing.T) func() keybox.Store {
			url := storetest.PostgresURL(t)
			return func() keybox.Store {
				s, err := postgres.Open(context.Background(), url, sqlstore.Options{Migrate: true, MaxConns: storetest.PostgresPool})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { _ = s.Close() })
				return s
			}
		}},
	} {
		t.Run(eng.name, func(t *testing.T) {
			open := eng.open(t)
			cacheClock := servertest.NewClock()
			a := newEnv(t, open())
			b := newEnv(t, open(), func(o *servertest.Options) { o.CacheClock = cacheClock.Now; o.Replica = 1 })
			ctx, cancel := context.WithCancel(context.Background())
			var feeds sync.WaitGroup
			t.Cleanup(func() { cancel(); feeds.Wait() })
			feeds.Go(func() { a.svc.WatchChanges(ctx) })
			feeds.Go(func() { b.svc.WatchChanges(ctx) })

			token, key := a.newKey("ada@example.com")
			a.do("POST", "/validate/activate", "", map[string]any{"key": key, "machineId": "m"}).want(t, 200, "")
			validateOnB := func() (status string, reads int64) {
				before := b.store.Stats().Queries
				status = b.do("POST", "/validate", "", map[string]any{"key": key, "machineId": "m"}).want(t, 200, "").str("status")
				return status, b.store.Stats().Queries - before
			}
			// until asks B until it answers want, for as long as a hang
			// takes to be told from a slow machine; it returns the reads
			// B made for its last answer.
			until := func(what, want string, hot bool) {
				t.Helper()
				deadline := time.Now().Add(30 * time.Second)
				for {
					got, reads := validateOnB()
					if got == want && (!hot || reads == 0) {
						return
					}
					if time.Now().After(deadline) {
						t.Fatalf("%s: B still answers %s (%d reads), want %s", what, got, reads, want)
					}
					runtime.Gosched()
				}
			}
			until("before any change", "active", false)
			// Far past the TTL, B answers from memory once its feed has
			// vouched for what it holds.
			cacheClock.Add(time.Hour)
			until("an hour on, unchanged", "active", true)
			for _, step := range []struct{ change, want string }{{"revoke", "revoked"}, {"restore", "active"}} {
				a.do("PATCH", "/license/revoke/"+key, token, nil).want(t, 200, "") // a toggle
				until("after the "+step.change+" through A", step.want, false)
				until("after the "+step.change+", again", step.want, true)
			}
		})
	}
}
