package main

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/keyboxhq/keybox"
	"github.com/keyboxhq/keybox/client"
	"github.com/keyboxhq/keybox/internal/servertest"
	"github.com/keyboxhq/keybox/internal/storetest"
)

// savePublicKeys saves a server's GET /validate/public-keys answer to a file.
func savePublicKeys(t *testing.T, url, path string) {
	t.Helper()
	resp, err := http.Get(url + "/validate/public-keys")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestCheckoutCommand: keybox checkout writes a license file that verifies,
// for the machine the SDK would name, and writes nothing a key it does not
// trust has signed.
func TestCheckoutCommand(t *testing.T) {
	// The command line verifies files at the time of day: the server's clock
	// starts there too.
	kb := servertest.New(t, storetest.SQLite(t), servertest.Options{StartAt: time.Now()})
	token, key := kb.NewLicense(t, "ada@example.com", 12)
	dir := t.TempDir()
	file := filepath.Join(dir, "license.txt")
	keys := filepath.Join(dir, "keys.json")
	savePublicKeys(t, kb.URL, keys)
	sh := newShell(t, kb.URL, "KEYBOX_TOKEN", token)
	sh.ok("licenses", "update", key, "--max-machines", "2")

	// No seat on this machine yet: refused, nothing written.
	if out := sh.fails(exitFailed, "checkout", key, "--machine-id", "vessel-7", "--out", file); !strings.Contains(out, "(HTTP 4") {
		t.Fatalf("checkout without a seat: %q", out)
	}
	if _, err := os.Stat(file); !os.IsNotExist(err) {
		t.Fatalf("a refused checkout left a file: %v", err)
	}

	// --activate takes the seat, then the file is written, owner-only.
	out := sh.ok("checkout", key, "--machine-id", "vessel-7", "--activate", "--out", file, "--public-keys", keys)
	if !strings.Contains(out, "Wrote the license file for "+key+" on machine vessel-7 to "+file) {
		t.Fatalf("checkout: %q", out)
	}
	st, err := os.Stat(file)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("the license file: %v, %v; want mode 0600", st, err)
	}
	sh.ok("verify", file, "--public-keys", keys, "--key", key, "--machine-id", "vessel-7")

	// To standard output: the file alone, for a redirection.
	text := sh.ok("checkout", key, "--machine-id", "vessel-7")
	if !strings.HasPrefix(text, "-----BEGIN KEYBOX LICENSE-----") {
		t.Fatalf("checkout to stdout: %q", text)
	}
	f, err := client.VerifyLicenseFile(text, publicKeysOf(t, keys), key, "vessel-7", time.Now())
	if err != nil || f.Status != keybox.StatusActive {
		t.Fatalf("the file on stdout: %+v, %v", f, err)
	}

	// The machine id as the SDK finds it: KEYBOX_MACHINE_ID here. --ttl and JSON.
	sh.env["KEYBOX_MACHINE_ID"] = "vessel-8"
	var got checkedOut
	if err := json.Unmarshal([]byte(sh.ok("checkout", key, "--activate", "--ttl", "24h", "-o", "json")), &got); err != nil {
		t.Fatal(err)
	}
	if got.File.MachineID != "vessel-8" || !strings.HasPrefix(got.License, "-----BEGIN KEYBOX LICENSE-----") ||
		!got.File.ExpiresAt.Equal(got.File.IssuedAt.Add(24*time.Hour)) {
		t.Fatalf("checkout for KEYBOX_MACHINE_ID with --ttl 24h: %+v", got.File)
	}
	delete(sh.env, "KEYBOX_MACHINE_ID")

	// A renewal replaces the file, owner-only whatever it was.
	if err := os.Chmod(file, 0o644); err != nil {
		t.Fatal(err)
	}
	sh.ok("checkout", key, "--machine-id", "vessel-7", "--out", file)
	if st, err := os.Stat(file); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("the renewed file: %v, %v; want mode 0600", st, err)
	}

	// A server whose key the caller does not trust (a fake KeyBox, or keys
	// saved from another installation): nothing is written. The trusted
	// list holds another installation's key.
	var list struct {
		Keys []map[string]any `json:"keys"`
	}
	b, err := os.ReadFile(keys)
	if err != nil || json.Unmarshal(b, &list) != nil || len(list.Keys) == 0 {
		t.Fatalf("public keys: %s, %v", b, err)
	}
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	list.Keys[0]["publicKey"] = base64.StdEncoding.EncodeToString(pub)
	list.Keys[0]["keyId"] = keybox.KeyID(pub)
	b, _ = json.Marshal(list)
	otherKeys := filepath.Join(dir, "other-keys.json")
	if err := os.WriteFile(otherKeys, b, 0o644); err != nil {
		t.Fatal(err)
	}
	fresh := filepath.Join(dir, "fresh.txt")
	if out := sh.fails(exitFailed, "checkout", key, "--machine-id", "vessel-7", "--out", fresh, "--public-keys", otherKeys); !strings.Contains(out, "not signed by a trusted key") {
		t.Fatalf("checkout against untrusted keys: %q", out)
	}
	if _, err := os.Stat(fresh); !os.IsNotExist(err) {
		t.Fatalf("an untrusted file was written: %v", err)
	}
	sh.fails(exitUsage, "checkout", key, "--ttl", "-1h", "--machine-id", "vessel-7")
}

func publicKeysOf(t *testing.T, path string) client.PublicKeys {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := client.ParsePublicKeys(b)
	if err != nil {
		t.Fatal(err)
	}
	return keys
}
