package client_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/keyboxhq/keybox"
	"github.com/keyboxhq/keybox/client"
)

// activeKey makes an ACTIVE license held by machine and returns its key.
func activeKey(t *testing.T, kb *kbServer, machine string) (*client.Client, string) {
	t.Helper()
	dev := kb.developer(t, "ada@example.com")
	lic := pendingLicense(t, dev, 1)
	if _, err := licenseClient(t, kb.URL, lic.Key, machine).Activate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return dev, lic.Key
}

func publicKeys(t *testing.T, url string) client.PublicKeys {
	t.Helper()
	keys, err := client.FetchPublicKeys(context.Background(), url, nil)
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

func verifyingClient(t *testing.T, url, key, machine string, keys client.PublicKeys, now func() time.Time) *client.LicenseClient {
	t.Helper()
	lc, err := client.NewLicenseClient(url, key, client.LicenseOptions{MachineID: machine, PublicKeys: keys, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	return lc
}

// TestSignedAnswers: with the installation's public keys, the license
// client accepts KeyBox's answers and refuses a fake server's and a replay.
func TestSignedAnswers(t *testing.T) {
	kb := sqliteServer(t)
	_, key := activeKey(t, kb, "host-1")
	keys := publicKeys(t, kb.URL)
	ctx := context.Background()
	lc := verifyingClient(t, kb.URL, key, "host-1", keys, kb.Clock.Now)
	if v, err := lc.Validate(ctx); err != nil || !v.Valid {
		t.Fatalf("genuine answer: %+v %v", v, err)
	}
	if a, err := lc.Activate(ctx); err != nil || !a.Already() {
		t.Fatalf("genuine activation: %+v %v", a, err)
	}
	// A refusal is signed too, and verifies.
	other := verifyingClient(t, kb.URL, key, "host-2", keys, kb.Clock.Now)
	if v, err := other.Validate(ctx); err != nil || v.Status != client.ValidationMachineMismatch {
		t.Fatalf("signed refusal: %+v %v", v, err)
	}

	// A fake server that always says "valid".
	fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"valid":true,"status":"active","duration":"12 months","expiresAt":4102444800000}`+"\n")
	}))
	defer fake.Close()
	if _, err := verifyingClient(t, fake.URL, key, "host-1", keys, kb.Clock.Now).Validate(ctx); !errors.Is(err, client.ErrUntrusted) || !errors.Is(err, keybox.ErrResponseUnsigned) {
		t.Fatalf("fake server: got %v, want ErrUntrusted (unsigned)", err)
	}

	// A server that replays a genuine signed answer, recorded once.
	var mu sync.Mutex
	var recorded []byte
	var header string
	replayer := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if recorded == nil {
			req, _ := http.NewRequest("POST", kb.URL+"/validate", r.Body)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			recorded, _ = io.ReadAll(resp.Body)
			resp.Body.Close()
			header = resp.Header.Get(keybox.SignatureHeader)
		}
		w.Header().Set(keybox.SignatureHeader, header)
		_, _ = w.Write(recorded)
	}))
	defer replayer.Close()
	replayed := verifyingClient(t, replayer.URL, key, "host-1", keys, kb.Clock.Now)
	if _, err := replayed.Validate(ctx); err != nil {
		t.Fatalf("first, relayed answer: %v", err)
	}
	if _, err := replayed.Validate(ctx); !errors.Is(err, client.ErrUntrusted) || !errors.Is(err, keybox.ErrResponseSignature) {
		t.Fatalf("replayed answer: got %v, want ErrUntrusted (signature)", err)
	}
}

func TestCheckoutAndVerify(t *testing.T) {
	kb := sqliteServer(t)
	_, key := activeKey(t, kb, "host-1")
	keys := publicKeys(t, kb.URL)
	ctx := context.Background()
	text, f, err := verifyingClient(t, kb.URL, key, "host-1", keys, kb.Clock.Now).Checkout(ctx, 7*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if f.Key != key || !f.ExpiresAt.Equal(kb.Clock.Now().Add(7*24*time.Hour)) {
		t.Fatalf("file payload %+v", f)
	}
	now := kb.Clock.Now()
	cases := []struct {
		name    string
		machine string
		at      time.Time
		keys    client.PublicKeys
		want    error
	}{
		{"this machine, now", "host-1", now, keys, nil},
		{"another machine", "host-2", now, keys, keybox.ErrFileWrongMachine},
		{"after it expires", "host-1", now.Add(8 * 24 * time.Hour), keys, keybox.ErrFileExpired},
		{"unknown key", "host-1", now, client.PublicKeys{}, keybox.ErrFileUnknownKey},
	}
	for _, tc := range cases {
		if _, err := client.VerifyLicenseFile(text, tc.keys, tc.machine, tc.at); !errors.Is(err, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, err, tc.want)
		}
	}
	// Rotation: the old file still verifies with the published keys.
	if _, err := kb.Service.RotateSigningKey(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := client.VerifyLicenseFile(text, publicKeys(t, kb.URL), "host-1", now); err != nil {
		t.Fatalf("after rotation: %v", err)
	}
}

// TestGuardOfflineMode: with public keys and a license file, the guard keeps
// a file while KeyBox answers, runs on it when the network goes away (past
// the grace period), and blocks when the file expires.
func TestGuardOfflineMode(t *testing.T) {
	kb := sqliteServer(t)
	_, key := activeKey(t, kb, "ship-1")
	keys := publicKeys(t, kb.URL)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	px := newProxy(t, kb.URL)
	file := filepath.Join(t.TempDir(), "license.txt")
	lc := verifyingClient(t, px.URL(), key, "ship-1", keys, kb.Clock.Now)
	g := client.NewGuard(lc, client.GuardOptions{Now: kb.Clock.Now, Logger: quiet, LicenseFile: file, FileTTL: 10 * 24 * time.Hour})
	if st := g.Start(ctx); !st.Active || st.Offline {
		t.Fatalf("online start: %+v", st)
	}
	st, err := os.Stat(file)
	if err != nil {
		t.Fatalf("no license file kept: %v", err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("license file mode %v, want 0600", st.Mode().Perm())
	}
	url := app(t, g)
	start := kb.Clock.Now()

	px.cut()
	for _, after := range []time.Duration{time.Hour, 5 * 24 * time.Hour, 10*24*time.Hour - time.Second} {
		kb.Clock.Set(start.Add(after))
		st := g.Check(ctx)
		if !st.Active || !st.Offline || !st.OnLicenseFile || !st.GraceEndsAt.Equal(start.Add(10*24*time.Hour)) {
			t.Fatalf("%v offline: got %+v, want active on the license file", after, st)
		}
		wantServed(t, get(t, url+"/"), "hello")
	}
	// The file runs out between two checks: the next request is refused.
	kb.Clock.Set(start.Add(10 * 24 * time.Hour))
	wantBlocked(t, get(t, url+"/"), "OFFLINE")
	if st := g.Check(ctx); st.Active || st.State != "OFFLINE" {
		t.Fatalf("file expired: %+v", st)
	}

	// A guard that starts without any network runs on a valid file.
	kb.Clock.Set(start)
	cold := client.NewGuard(verifyingClient(t, px.URL(), key, "ship-1", keys, kb.Clock.Now),
		client.GuardOptions{Now: kb.Clock.Now, Logger: quiet, LicenseFile: file})
	if st := cold.Start(ctx); !st.Active || !st.OnLicenseFile {
		t.Fatalf("cold start offline with a file: %+v", st)
	}
	// A file copied to another machine does not run there.
	elsewhere := client.NewGuard(verifyingClient(t, px.URL(), key, "ship-2", keys, kb.Clock.Now),
		client.GuardOptions{Now: kb.Clock.Now, Logger: quiet, LicenseFile: file})
	if st := elsewhere.Start(ctx); st.Active {
		t.Fatalf("a file from another machine: %+v", st)
	}
}

// TestGuardRefusesFakeServer: a guard with public keys is not fooled by a
// server that always says "valid".
func TestGuardRefusesFakeServer(t *testing.T) {
	kb := sqliteServer(t)
	_, key := activeKey(t, kb, "host-1")
	keys := publicKeys(t, kb.URL)
	fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, `{"valid":true,"status":"active","duration":"12 months","expiresAt":4102444800000}`)
	}))
	defer fake.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	g := client.NewGuard(verifyingClient(t, fake.URL, key, "host-1", keys, kb.Clock.Now), client.GuardOptions{Now: kb.Clock.Now, Logger: quiet})
	if st := g.Start(ctx); st.Active || st.State != "OFFLINE" {
		t.Fatalf("against a fake server: %+v, want blocked", st)
	}
	wantBlocked(t, get(t, app(t, g)+"/"), "OFFLINE")
}
