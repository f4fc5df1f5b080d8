package client_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
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
		key     string
		machine string
		at      time.Time
		keys    client.PublicKeys
		want    error
	}{
		{"this key and machine, now", key, "host-1", now, keys, nil},
		{"another machine", key, "host-2", now, keys, keybox.ErrFileWrongMachine},
		{"another license key", "KB-ANOTHER-KEY", "host-1", now, keys, keybox.ErrFileWrongKey},
		{"after it expires", key, "host-1", now.Add(8 * 24 * time.Hour), keys, keybox.ErrFileExpired},
		{"unknown key", key, "host-1", now, client.PublicKeys{}, keybox.ErrFileUnknownKey},
	}
	for _, tc := range cases {
		if _, err := client.VerifyLicenseFile(text, tc.keys, tc.key, tc.machine, tc.at); !errors.Is(err, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, err, tc.want)
		}
	}
	// A client for another key or machine refuses the file.
	for _, lc := range []*client.LicenseClient{
		verifyingClient(t, kb.URL, "KB-ANOTHER-KEY", "host-1", keys, kb.Clock.Now),
		verifyingClient(t, kb.URL, key, "host-2", keys, kb.Clock.Now),
	} {
		if _, err := lc.VerifyLicenseFile(text); !errors.Is(err, keybox.ErrFileWrongKey) && !errors.Is(err, keybox.ErrFileWrongMachine) {
			t.Errorf("a client for %s on %s: got %v, want the file refused", lc.Key(), lc.MachineID(), err)
		}
	}

	// Rotation: the old file still verifies with the published keys, which
	// now carry the old key's retirement.
	kb.Clock.Add(time.Minute)
	if _, err := kb.Service.RotateSigningKey(ctx); err != nil {
		t.Fatal(err)
	}
	rotated := publicKeys(t, kb.URL)
	if old := rotated[f.KeyID]; old.RetiredAt.IsZero() || !old.RevokedAt.IsZero() || len(rotated) != 2 {
		t.Fatalf("after rotation: %+v, want the old key retired", rotated)
	}
	if _, err := client.VerifyLicenseFile(text, rotated, key, "host-1", now); err != nil {
		t.Fatalf("after rotation: %v", err)
	}
	// Revocation: nothing the old key signed is trusted any more.
	if _, err := kb.Service.RevokeSigningKey(ctx, f.KeyID); err != nil {
		t.Fatal(err)
	}
	revoked := publicKeys(t, kb.URL)
	if revoked[f.KeyID].RevokedAt.IsZero() {
		t.Fatalf("after revocation: %+v", revoked)
	}
	if _, err := client.VerifyLicenseFile(text, revoked, key, "host-1", now); !errors.Is(err, keybox.ErrFileRevokedKey) {
		t.Fatalf("a file signed by a revoked key: got %v, want ErrFileRevokedKey", err)
	}
}

// TestParsePublicKeysHonoursKeyStates: a saved list of public keys says
// what each key may have signed.
func TestParsePublicKeysHonoursKeyStates(t *testing.T) {
	data := []byte(`{"keys": [
		{"keyId": "kb-31d1ac008eaae00e", "algorithm": "Ed25519", "publicKey": "5v/CsMyH4rp4+ewJry0JnVUZ1mt6Ryf3zVreW7xFM3M=",
		 "createdAt": "2026-01-15T10:00:00.000Z", "retiredAt": "2026-02-01T00:00:00.000Z", "revokedAt": "2026-02-02T00:00:00.000Z"}]}`)
	keys, err := client.ParsePublicKeys(data)
	if err != nil {
		t.Fatal(err)
	}
	k := keys["kb-31d1ac008eaae00e"]
	if !k.CreatedAt.Equal(time.Date(2026, 1, 15, 10, 0, 0, 0, time.UTC)) || !k.RetiredAt.Equal(time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)) ||
		!k.RevokedAt.Equal(time.Date(2026, 2, 2, 0, 0, 0, 0, time.UTC)) || len(k.Key) != 32 {
		t.Fatalf("got %+v", k)
	}
}

// relay is a fake server in front of the real one that answers a request
// for one license key with what KeyBox answers for another: a customer whose
// key was revoked, served by someone who owns a valid key. It keeps the
// client's nonce and drops its machine and instance id (or keeps the machine
// for checkout, which needs one). It records what KeyBox answered.
type relay struct {
	*httptest.Server
	mu      sync.Mutex
	answers map[string]string // path → the body KeyBox answered
}

func newRelay(t *testing.T, target, validKey string) *relay {
	rl := &relay{answers: map[string]string{}}
	rl.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			t.Errorf("relay: %v", err)
			return
		}
		body["key"] = validKey
		if r.URL.Path != "/validate/checkout" {
			delete(body, "machineId")
			delete(body, "instanceId")
		}
		b, _ := json.Marshal(body)
		resp, err := http.Post(target+r.URL.Path, "application/json", bytes.NewReader(b))
		if err != nil {
			t.Errorf("relay: %v", err)
			return
		}
		defer resp.Body.Close()
		answer, _ := io.ReadAll(resp.Body)
		rl.mu.Lock()
		rl.answers[r.URL.Path] = string(answer)
		rl.mu.Unlock()
		for _, h := range []string{"Content-Type", keybox.SignatureHeader} {
			if v := resp.Header.Get(h); v != "" {
				w.Header().Set(h, v)
			}
		}
		w.WriteHeader(resp.StatusCode)
		_, _ = w.Write(answer)
	}))
	t.Cleanup(rl.Close)
	return rl
}

func (rl *relay) answered(path string) string {
	rl.mu.Lock()
	defer rl.mu.Unlock()
	return rl.answers[path]
}

// TestRelayOfAnotherKeysAnswers: the SDK refuses a genuine, signed answer
// or license file that KeyBox gave for another license key or machine, for
// validate, activate and checkout alike.
func TestRelayOfAnotherKeysAnswers(t *testing.T) {
	kb := sqliteServer(t)
	ctx := context.Background()
	dev, revokedKey := activeKey(t, kb, "host-1")
	if _, err := dev.ToggleRevoke(ctx, revokedKey); err != nil {
		t.Fatal(err)
	}
	// The relay's owner holds a valid key with a seat taken without a
	// machine id, and another taken for the victim's machine id.
	other := kb.developer(t, "mallory@example.com")
	valid := pendingLicense(t, other, 2)
	for _, machine := range []string{"", "host-1"} {
		body, _ := json.Marshal(map[string]string{"key": valid.Key, "machineId": machine})
		resp, err := http.Post(kb.URL+"/validate/activate", "application/json", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("activate the relay's key on %q: %d", machine, resp.StatusCode)
		}
	}
	keys := publicKeys(t, kb.URL)
	rl := newRelay(t, kb.URL, valid.Key)
	lc := verifyingClient(t, rl.URL, revokedKey, "host-1", keys, kb.Clock.Now)

	v, err := lc.Validate(ctx)
	if !errors.Is(err, client.ErrUntrusted) || !errors.Is(err, keybox.ErrResponseSignature) {
		t.Errorf("relayed validation: got %+v, %v; want ErrUntrusted (signature)", v, err)
	}
	if got := rl.answered("/validate"); !strings.Contains(got, `"valid":true`) {
		t.Errorf("the relay did not get a valid answer to pass on: %s", got)
	}
	a, err := lc.Activate(ctx)
	if !errors.Is(err, client.ErrUntrusted) || !errors.Is(err, keybox.ErrResponseSignature) {
		t.Errorf("relayed activation: got %+v, %v; want ErrUntrusted (signature)", a, err)
	}
	if got := rl.answered("/validate/activate"); !strings.Contains(got, `"success":true`) {
		t.Errorf("the relay did not get a successful activation to pass on: %s", got)
	}
	_, f, err := lc.Checkout(ctx, 0)
	if !errors.Is(err, client.ErrUntrusted) || !errors.Is(err, keybox.ErrFileWrongKey) {
		t.Errorf("relayed checkout: got %+v, %v; want ErrUntrusted (another key)", f, err)
	}
	if got := rl.answered("/validate/checkout"); !strings.Contains(got, "BEGIN KEYBOX LICENSE") {
		t.Errorf("the relay did not get a license file to pass on: %s", got)
	}

	// The guard, behind the same relay, blocks the application.
	g := client.NewGuard(lc, client.GuardOptions{Now: kb.Clock.Now, Logger: quiet, LicenseFile: filepath.Join(t.TempDir(), "license.txt")})
	gctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if st := g.Start(gctx); st.Active {
		t.Fatalf("the guard behind a relay: %+v, want blocked", st)
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
