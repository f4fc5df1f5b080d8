package client_test

import (
	"context"
	"testing"
	"time"

	"github.com/keyboxhq/keybox"
	"github.com/keyboxhq/keybox/client"
)

// TestLicenseClient: the public license API through the SDK, times included (ISO strings
// from activation, epoch milliseconds from validation, the same instant).
func TestLicenseClient(t *testing.T) {
	eachEngine(t, func(t *testing.T, kb *kbServer) {
		ctx := context.Background()
		dev := kb.developer(t, "ada@example.com")
		lic := pendingLicense(t, dev, 1)
		newLC := func(machine, instance string) *client.LicenseClient {
			lc, err := client.NewLicenseClient(kb.URL, lic.Key, client.LicenseOptions{MachineID: machine, InstanceID: instance, ProductName: "desk"})
			if err != nil {
				t.Fatal(err)
			}
			return lc
		}
		lc := newLC("machine-a", "one")

		v := must[client.Validation](t)(lc.Validate(ctx))
		if v.Valid || v.Status != client.ValidationPending || v.Message != "License has not been activated yet" {
			t.Fatalf("before activation: got %+v", v)
		}
		kb.Clock.Add(time.Hour)
		a := must[client.Activation](t)(lc.Activate(ctx))
		wantExpiry := kb.Clock.Now().AddDate(0, 3, 0)
		if a.Already() || a.MachineID != "machine-a" || a.InstanceID != "one" || !a.ExpiresAt.Equal(wantExpiry) || !a.ActivatedAt.Equal(kb.Clock.Now()) {
			t.Fatalf("got %+v, want a first activation expiring %v", a, wantExpiry)
		}
		again := must[client.Activation](t)(lc.Activate(ctx))
		if !again.Already() || !again.ExpiresAt.Equal(wantExpiry) {
			t.Fatalf("second activation: got %+v, want Already", again)
		}
		v = must[client.Validation](t)(lc.Validate(ctx))
		if !v.Valid || v.Status != client.ValidationActive || v.Duration != "3 months" || !v.ExpiresAt.Equal(wantExpiry) {
			t.Fatalf("got %+v, want active until %v", v, wantExpiry)
		}

		cases := []struct {
			name   string
			lc     *client.LicenseClient
			status client.ValidationStatus
		}{
			{"another machine", newLC("machine-b", "one"), client.ValidationMachineMismatch},
			{"another instance", newLC("machine-a", "two"), client.ValidationInstanceMismatch},
		}
		for _, c := range cases {
			if v := must[client.Validation](t)(c.lc.Validate(ctx)); v.Valid || v.Status != c.status {
				t.Errorf("%s: got %+v, want %s", c.name, v, c.status)
			}
		}
		_, err := newLC("machine-b", "").Activate(ctx)
		wantAPIError(t, err, 403, "License already activated on another machine")
		err = newLC("machine-b", "").Deactivate(ctx)
		wantAPIError(t, err, 404, "License is not activated on this machine")

		relogin := func() { // the clock moved past the token's lifetime
			if _, err := dev.Login(ctx, "ada@example.com", "correct horse"); err != nil {
				t.Fatal(err)
			}
		}
		relogin()
		if _, err := dev.ToggleRevoke(ctx, lic.Key); err != nil {
			t.Fatal(err)
		}
		v = must[client.Validation](t)(lc.Validate(ctx))
		if v.Valid || v.Status != client.ValidationRevoked || v.Message != "License revoked by developer" {
			t.Fatalf("after revoke: got %+v", v)
		}
		_, err = lc.Activate(ctx)
		wantAPIError(t, err, 403, "License has been revoked")
		if _, err := dev.ToggleRevoke(ctx, lic.Key); err != nil {
			t.Fatal(err)
		}

		kb.Clock.Add(100 * 24 * time.Hour)
		v = must[client.Validation](t)(lc.Validate(ctx))
		if v.Valid || v.Status != client.ValidationExpired || !v.ExpiresAt.Equal(wantExpiry) {
			t.Fatalf("after expiry: got %+v, want expired at %v", v, wantExpiry)
		}

		if err := lc.Deactivate(ctx); err != nil {
			t.Fatal(err)
		}
		relogin()
		d := must[client.LicenseDetail](t)(dev.License(ctx, lic.Key))
		if len(d.Activations) != 0 {
			t.Fatalf("got %d seats after deactivating, want 0", len(d.Activations))
		}

		unknown, err := client.NewLicenseClient(kb.URL, "KB-NOT-A-KEY", client.LicenseOptions{MachineID: "m"})
		if err != nil {
			t.Fatal(err)
		}
		if v := must[client.Validation](t)(unknown.Validate(ctx)); v.Valid || v.Status != client.ValidationInvalid || v.Message != "Key does not exist" || !v.ExpiresAt.IsZero() {
			t.Fatalf("unknown key: got %+v", v)
		}
		_, err = unknown.Activate(ctx)
		wantAPIError(t, err, 404, "License not found")
	})
}

func TestNewLicenseClientNeedsAKey(t *testing.T) {
	if _, err := client.NewLicenseClient("http://localhost:5000", "  ", client.LicenseOptions{MachineID: "m"}); err == nil {
		t.Fatal("got no error for an empty key")
	}
}

func TestValidationDecodesEpochMillis(t *testing.T) {
	var v client.Validation
	if err := v.UnmarshalJSON([]byte(`{"valid":true,"status":"active","duration":"12 months","expiresAt":1767225600000}`)); err != nil {
		t.Fatal(err)
	}
	want := keybox.NewTime(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	if !v.ExpiresAt.Equal(want.Time) || v.Duration != "12 months" || v.Status != client.ValidationActive {
		t.Fatalf("got %+v, want expiry %v", v, want)
	}
}
