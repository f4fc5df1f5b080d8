package server_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/keyboxhq/keybox/internal/postgres"
	"github.com/keyboxhq/keybox/internal/sqlstore"
	"github.com/keyboxhq/keybox/internal/storetest"
)

// TestTwoServersOnePostgres: a revoke through one server is answered by
// another server sharing the database within a second, with no message
// passing between them.
func TestTwoServersOnePostgres(t *testing.T) {
	url := storetest.PostgresURL(t)
	open := func() *env {
		s, err := postgres.Open(context.Background(), url, sqlstore.Options{Migrate: true, MaxConns: storetest.PostgresPool})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return newEnv(t, s)
	}
	a, b := open(), open()
	token, key := a.newKey("ada@example.com")
	a.do("POST", "/validate/activate", "", map[string]any{"key": key, "machineId": "m"}).want(t, 200, "")
	validateOnB := func() string {
		return b.do("POST", "/validate", "", map[string]any{"key": key, "machineId": "m"}).want(t, 200, "").str("status")
	}
	for _, step := range []struct{ change, want string }{{"revoke", "revoked"}, {"restore", "active"}} {
		if got := validateOnB(); got == step.want {
			t.Fatalf("before the %s, B already answers %s", step.change, got)
		}
		// B has the license in memory now; change it through A.
		a.do("PATCH", "/license/revoke/"+key, token, nil).want(t, 200, "")
		changed := time.Now()
		for validateOnB() != step.want {
			if time.Since(changed) > time.Second {
				t.Fatalf("B still does not answer %s a second after the %s through A", step.want, step.change)
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Logf("%s seen by the other server after %v", step.change, time.Since(changed).Round(time.Millisecond))
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
