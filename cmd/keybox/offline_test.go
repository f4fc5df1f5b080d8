package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keyboxhq/keybox/client"
	"github.com/keyboxhq/keybox/internal/servertest"
	"github.com/keyboxhq/keybox/internal/storetest"
)

// TestVerifyCommand: keybox verify accepts a checked-out file and names what
// is wrong with a file that is not valid.
func TestVerifyCommand(t *testing.T) {
	kb := servertest.New(t, storetest.SQLite(t), servertest.Options{})
	ctx := context.Background()
	_, key := kb.NewLicense(t, "ada@example.com", 12)
	lc, err := client.NewLicenseClient(kb.URL, key, client.LicenseOptions{MachineID: "vessel-7"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lc.Activate(ctx); err != nil {
		t.Fatal(err)
	}
	text, _, err := lc.Checkout(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "license.txt")
	if err := os.WriteFile(file, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(kb.URL + "/validate/public-keys")
	if err != nil {
		t.Fatal(err)
	}
	keysJSON, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	keys := filepath.Join(dir, "keys.json")
	if err := os.WriteFile(keys, keysJSON, 0o644); err != nil {
		t.Fatal(err)
	}
	tampered := filepath.Join(dir, "tampered.txt")
	if err := os.WriteFile(tampered, []byte(strings.Replace(text, "\n", "\nAA", 1)), 0o600); err != nil {
		t.Fatal(err)
	}

	sh := newShell(t, kb.URL)
	at := kb.Clock.Now().Format("2006-01-02T15:04:05Z07:00")
	out := sh.ok("verify", file, "--public-keys", keys, "--key", key, "--machine-id", "vessel-7", "--at", at)
	if !strings.Contains(out, "valid license file") || !strings.Contains(out, key) {
		t.Fatalf("verify: %s", out)
	}
	// Without a keys file, the server's are fetched.
	sh.ok("verify", file, "--at", at)
	var payload map[string]any
	if err := json.Unmarshal([]byte(sh.ok("verify", file, "--public-keys", keys, "--at", at, "-o", "json")), &payload); err != nil || payload["machineId"] != "vessel-7" {
		t.Fatalf("json: %v %v", payload, err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"verify", file, "--public-keys", keys, "--machine-id", "vessel-8", "--at", at}, "issued for another machine"},
		{[]string{"verify", file, "--public-keys", keys, "--key", "KB-SOMEONE-ELSE", "--at", at}, "issued for another license key"},
		{[]string{"verify", tampered, "--public-keys", keys, "--at", at}, "license file:"},
		{[]string{"verify", file, "--public-keys", keys, "--at", "2030-01-01T00:00:00Z"}, "license file: expired"},
		{[]string{"verify", filepath.Join(dir, "missing.txt"), "--public-keys", keys}, "no such file"},
	} {
		if out := sh.fails(1, tc.args...); !strings.Contains(out, tc.want) {
			t.Errorf("keybox %v: %q, want it to say %q", tc.args, out, tc.want)
		}
	}
}

// TestKeysCommands: keybox keys list, rotate and revoke work on the
// database, with the secret kept beside it (made on first use, mode 0600).
func TestKeysCommands(t *testing.T) {
	dir := t.TempDir()
	dbURL := "sqlite://" + filepath.Join(dir, "keybox.db")
	sh := newShell(t, "http://unused.invalid", "KEYBOX_DATABASE_URL", dbURL)
	list := func() []map[string]any {
		t.Helper()
		var out struct{ Keys []map[string]any }
		if err := json.Unmarshal([]byte(sh.ok("keys", "list", "-o", "json")), &out); err != nil {
			t.Fatal(err)
		}
		return out.Keys
	}
	first := list()
	if len(first) != 1 || first[0]["retiredAt"] != nil || first[0]["revokedAt"] != nil {
		t.Fatalf("a new installation: %v, want one active key", first)
	}
	st, err := os.Stat(filepath.Join(dir, "secret-key"))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("the secret kept beside the database: %v %v, want mode 0600", st, err)
	}
	out := sh.ok("keys", "rotate")
	if !strings.Contains(out, "New signing key kb-") {
		t.Fatalf("rotate: %s", out)
	}
	keys := list()
	if len(keys) != 2 {
		t.Fatalf("after rotate: %v", keys)
	}
	for _, k := range keys {
		retired := k["retiredAt"] != nil
		if wasFirst := k["keyId"] == first[0]["keyId"]; retired != wasFirst {
			t.Fatalf("only the old key should be retired: %v", keys)
		}
	}
	// Revoking the key that signs replaces it.
	active := keys[1]["keyId"].(string)
	out = sh.ok("keys", "revoke", active)
	if !strings.Contains(out, "Revoked signing key "+active) || !strings.Contains(out, "New signing key kb-") {
		t.Fatalf("revoke: %s", out)
	}
	keys = list()
	if len(keys) != 3 || keys[1]["revokedAt"] == nil || keys[1]["retiredAt"] == nil || keys[0]["revokedAt"] != nil || keys[2]["retiredAt"] != nil {
		t.Fatalf("after revoke: %v, want the second key revoked and a third signing", keys)
	}
	if out := sh.fails(1, "keys", "revoke", "kb-0000000000000000"); !strings.Contains(out, "Signing key not found") {
		t.Fatalf("revoking an unknown key: %s", out)
	}
	if out := sh.fails(2, "keys", "revoke"); !strings.Contains(out, "usage: keybox keys revoke ID") {
		t.Fatalf("revoke without an id: %s", out)
	}
}

// TestServeRefusesCopiedDatabase: a copy of the database (a backup) served
// without the secret it was used with cannot sign, so the server refuses to
// start and says what to do; with the secret, the copy serves.
func TestServeRefusesCopiedDatabase(t *testing.T) {
	dir, elsewhere := t.TempDir(), t.TempDir()
	dbPath := filepath.Join(dir, "keybox.db")
	base := startServe(t, map[string]string{"KEYBOX_DATABASE_URL": "sqlite://" + dbPath})
	resp, err := http.Get(base + "/validate/public-keys")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	archive := filepath.Join(t.TempDir(), "backup.tar")
	var stderr strings.Builder
	if code := run(context.Background(), []string{"backup", "--no-secrets", archive}, envFunc(map[string]string{"KEYBOX_DATABASE_URL": "sqlite://" + dbPath}), io.Discard, &stderr); code != 0 {
		t.Fatalf("backup: %d %s", code, stderr.String())
	}
	if members := unpackBackup(t, archive, elsewhere); len(members) != 1 {
		t.Fatalf("a backup --no-secrets holds %v, want the database alone", members)
	}
	copied := filepath.Join(elsewhere, "keybox.db")

	stderr.Reset()
	code := run(context.Background(), []string{"serve"}, envFunc(map[string]string{"KEYBOX_DATABASE_URL": "sqlite://" + copied,
		"KEYBOX_ADDR": "127.0.0.1:0", "KEYBOX_LOG_FORMAT": "json"}), io.Discard, &stderr)
	if code != 1 || !strings.Contains(stderr.String(), "cannot be decrypted with this server secret") ||
		!strings.Contains(stderr.String(), "keybox keys rotate") {
		t.Fatalf("serving a copy without its secret: exit %d, %s", code, stderr.String())
	}

	secret, err := os.ReadFile(filepath.Join(dir, "secret-key"))
	if err != nil {
		t.Fatal(err)
	}
	startServe(t, map[string]string{"KEYBOX_DATABASE_URL": "sqlite://" + copied, "KEYBOX_SECRET_KEY": strings.TrimSpace(string(secret))})
}
