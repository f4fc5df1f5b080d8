package client_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"
	"time"

	"github.com/keyboxhq/keybox"
	"github.com/keyboxhq/keybox/client"
)

// termsLicense is a PENDING license with seats, a lease and entitlements.
func termsLicense(t *testing.T, dev *client.Client, seats, lease int, codes ...string) keybox.License {
	t.Helper()
	ctx := context.Background()
	l := pendingLicense(t, dev, seats)
	l, err := dev.UpdateLicense(ctx, l.Key, client.LicenseUpdate{LeaseSeconds: &lease, Entitlements: codes,
		Metadata: json.RawMessage(`{"plan":"gold","seats":` + string(rune('0'+seats)) + `}`)})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// TestLicenseClientEntitlementsAndLease: the license client returns the
// license's entitlements and metadata, asks for codes, and renews a lease
// with heartbeats, working out the lease's length from the server's time.
func TestLicenseClientEntitlementsAndLease(t *testing.T) {
	kb := sqliteServer(t)
	ctx := context.Background()
	dev := kb.developer(t, "ada@example.com")
	lic := termsLicense(t, dev, 1, 60, "pro", "export")
	kb.Clock.Add(1500 * time.Millisecond) // the Date header has whole seconds; the lease does not start on one
	lc := licenseClient(t, kb.URL, lic.Key, "host-1")
	a, err := lc.Activate(ctx)
	if err != nil || !a.Has("pro") || a.Has("sso") || string(a.Metadata) != `{"plan":"gold","seats":1}` ||
		a.Lease != time.Minute || !a.LeaseExpiresAt.Equal(kb.Clock.Now().Add(time.Minute)) {
		t.Fatalf("activation: %+v %v", a, err)
	}
	v, err := lc.Validate(ctx)
	if err != nil || !v.Valid || !reflect.DeepEqual(v.Entitlements, []string{"export", "pro"}) || !v.Has("export") || v.Lease != time.Minute {
		t.Fatalf("validation: %+v %v", v, err)
	}
	if v, err := lc.Validate(ctx, "pro"); err != nil || !v.Valid {
		t.Fatalf("asking for pro: %+v %v", v, err)
	}
	v, err = lc.Validate(ctx, "sso", "pro", "audit")
	if err != nil || v.Valid || v.Status != client.ValidationEntitlementsMissing || v.Message != client.MessageEntitlementsMissing ||
		!reflect.DeepEqual(v.Missing, []string{"audit", "sso"}) || v.Has("pro") {
		t.Fatalf("asking for sso, pro, audit: %+v %v", v, err)
	}
	for range 3 {
		kb.Clock.Add(50 * time.Second)
		h, err := lc.Heartbeat(ctx)
		if err != nil || h.Lease != time.Minute || !h.LeaseExpiresAt.Equal(kb.Clock.Now().Add(time.Minute)) {
			t.Fatalf("heartbeat: %+v %v", h, err)
		}
	}
	kb.Clock.Add(time.Minute)
	_, err = lc.Heartbeat(ctx)
	var apiErr *client.APIError
	if !errors.As(err, &apiErr) || apiErr.Status != 404 || apiErr.Message != "License is not activated on this machine" {
		t.Fatalf("heartbeat after a silent lease: %v", err)
	}
	if v, _ := lc.Validate(ctx); v.Status != client.ValidationMachineMismatch {
		t.Fatalf("validation after a silent lease: %+v", v)
	}
	// A license without a lease: a heartbeat renews nothing.
	plain := pendingLicense(t, kb.developer(t, "bob@example.com"), 1)
	pc := licenseClient(t, kb.URL, plain.Key, "host-1")
	if _, err := pc.Activate(ctx); err != nil {
		t.Fatal(err)
	}
	if h, err := pc.Heartbeat(ctx); err != nil || h.Lease != 0 || !h.LeaseExpiresAt.IsZero() {
		t.Fatalf("heartbeat without a lease: %+v %v", h, err)
	}
}

// TestRelayDropsAskedEntitlements is the attack on a request's codes, which
// the signature does not cover: a relay strips "entitlements" from the
// validation, so KeyBox answers a signed valid:true. The client still finds
// the license lacks the code, in the signed list of the answer.
func TestRelayDropsAskedEntitlements(t *testing.T) {
	kb := sqliteServer(t)
	ctx := context.Background()
	dev := kb.developer(t, "ada@example.com")
	lic := termsLicense(t, dev, 1, 0, "basic")
	stripped := 0
	relay := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		_ = json.NewDecoder(r.Body).Decode(&body)
		if _, ok := body["entitlements"]; ok {
			delete(body, "entitlements")
			stripped++
		}
		b, _ := json.Marshal(body)
		resp, err := http.Post(kb.URL+r.URL.Path, "application/json", bytes.NewReader(b))
		if err != nil {
			t.Errorf("relay: %v", err)
			return
		}
		defer resp.Body.Close()
		answer, _ := io.ReadAll(resp.Body)
		for _, h := range []string{"Content-Type", "Date", keybox.SignatureHeader} {
			w.Header().Set(h, resp.Header.Get(h))
		}
		w.WriteHeader(resp.StatusCode)
		_, _ = w.Write(answer)
	}))
	defer relay.Close()
	lc := verifyingClient(t, relay.URL, lic.Key, "host-1", publicKeys(t, kb.URL), kb.Clock.Now)
	if _, err := lc.Activate(ctx); err != nil {
		t.Fatal(err)
	}
	v, err := lc.Validate(ctx, "pro")
	if err != nil || v.Valid || v.Status != client.ValidationEntitlementsMissing || !reflect.DeepEqual(v.Missing, []string{"pro"}) || stripped != 1 {
		t.Fatalf("through the relay: %+v %v (stripped %d)", v, err, stripped)
	}
	g := client.NewGuard(lc, client.GuardOptions{Now: kb.Clock.Now, Logger: quiet, RequireEntitlements: []string{"pro"}})
	gctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if st := g.Start(gctx); st.Active || st.State != client.StateEntitlementsMissing {
		t.Fatalf("the guard behind the relay: %+v, want blocked", st)
	}
}

// TestGuardRequireEntitlements: a guard that requires "pro" blocks with 402
// and the missing codes until the developer grants it; Guard.Require keeps
// one route for licenses with "export" while the rest is served.
func TestGuardRequireEntitlements(t *testing.T) {
	kb := sqliteServer(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dev := kb.developer(t, "ada@example.com")
	lic := termsLicense(t, dev, 1, 0, "basic")
	var cb callbacks
	g := client.NewGuard(licenseClient(t, kb.URL, lic.Key, "app-host"), cb.options(client.GuardOptions{
		Now: kb.Clock.Now, RequireEntitlements: []string{"pro", "basic"}}))
	st := g.Start(ctx)
	if st.Active || st.State != "ENTITLEMENTS_MISSING" || !reflect.DeepEqual(st.Missing, []string{"pro"}) {
		t.Fatalf("without pro: %+v", st)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "hello") })
	mux.Handle("/export", g.Require("export")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "csv") })))
	ts := httptest.NewServer(g.Handler(mux))
	defer ts.Close()
	a := get(t, ts.URL+"/")
	wantBlocked(t, a, "ENTITLEMENTS_MISSING")
	if !reflect.DeepEqual(a.json["missing"], []any{"pro"}) {
		t.Fatalf("402 without the missing codes: %s", a.body)
	}
	cb.want(t, 1, 0)

	if _, err := dev.UpdateLicense(ctx, lic.Key, client.LicenseUpdate{Entitlements: []string{"basic", "pro"}}); err != nil {
		t.Fatal(err)
	}
	if st := g.Check(ctx); !st.Active || !st.Has("pro") || st.Has("export") {
		t.Fatalf("with pro: %+v", st)
	}
	cb.want(t, 1, 1)
	wantServed(t, get(t, ts.URL+"/"), "hello")
	a = get(t, ts.URL+"/export")
	wantBlocked(t, a, "ENTITLEMENTS_MISSING")
	if !reflect.DeepEqual(a.json["missing"], []any{"export"}) {
		t.Fatalf("export without the export code: %s", a.body)
	}
	if _, err := dev.UpdateLicense(ctx, lic.Key, client.LicenseUpdate{Entitlements: []string{"basic", "export", "pro"}}); err != nil {
		t.Fatal(err)
	}
	g.Check(ctx)
	wantServed(t, get(t, ts.URL+"/export"), "csv")
	// Revoked: the required route is blocked as the rest.
	if _, err := dev.ToggleRevoke(ctx, lic.Key); err != nil {
		t.Fatal(err)
	}
	g.Check(ctx)
	wantBlocked(t, get(t, ts.URL+"/export"), "REVOKED")
}

// TestGuardHeartbeats: on a license with a 60-second lease, the guard's loop
// waits a third of the lease between heartbeats, which keep the seat; a
// machine away for longer than the lease finds its seat gone and taken,
// waits for one to come free, and takes it again. Time is the servers'
// clock, moved by the test; the loop's waits are the test's channel.
func TestGuardHeartbeats(t *testing.T) {
	kb := sqliteServer(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dev := kb.developer(t, "ada@example.com")
	lic := termsLicense(t, dev, 1, 60)
	var cb callbacks
	g := client.NewGuard(licenseClient(t, kb.URL, lic.Key, "laptop"), cb.options(client.GuardOptions{Now: kb.Clock.Now}))
	waits := make(chan time.Duration)
	beat := make(chan time.Time)
	client.WatchHeartbeats(g, func(d time.Duration) <-chan time.Time { waits <- d; return beat })
	if st := g.Start(ctx); !st.Active || st.Lease != time.Minute {
		t.Fatalf("start: %+v", st)
	}
	url := app(t, g)
	for i := range 5 {
		if d := <-waits; d != 20*time.Second {
			t.Fatalf("heartbeat %d: the guard waits %v, want a third of the 60 s lease", i, d)
		}
		kb.Clock.Add(50 * time.Second) // longer than asked: the seat still holds
		beat <- kb.Clock.Now()
	}
	<-waits // the fifth heartbeat is done
	if st := g.State(); !st.Active || !st.LeaseExpiresAt.Equal(kb.Clock.Now().Add(time.Minute)) {
		t.Fatalf("after 5 heartbeats 50 s apart: %+v", st)
	}
	wantServed(t, get(t, url+"/"), "hello")

	// The laptop sleeps for two minutes; a desktop takes the lapsed seat.
	kb.Clock.Add(2 * time.Minute)
	desk := licenseClient(t, kb.URL, lic.Key, "desktop")
	if _, err := desk.Activate(ctx); err != nil {
		t.Fatalf("the desktop takes the lapsed seat: %v", err)
	}
	beat <- kb.Clock.Now() // the laptop wakes: its heartbeat finds no seat, it checks, and cannot take one
	if d := <-waits; d != 20*time.Second {
		t.Fatalf("a floating guard without a seat waits %v, want 20 s", d)
	}
	st := g.State()
	if st.Active || st.State != "MACHINE_MISMATCH" || st.Message != "License already activated on another machine" {
		t.Fatalf("the laptop after its seat was taken: %+v", st)
	}
	wantBlocked(t, get(t, url+"/"), "MACHINE_MISMATCH")
	cb.want(t, 1, 0)
	if err := desk.Deactivate(ctx); err != nil {
		t.Fatal(err)
	}
	beat <- kb.Clock.Now() // the next try finds the seat free and takes it
	<-waits
	if st := g.State(); !st.Active {
		t.Fatalf("after the desktop let go: %+v", st)
	}
	wantServed(t, get(t, url+"/"), "hello")
	cb.want(t, 1, 1)
}
