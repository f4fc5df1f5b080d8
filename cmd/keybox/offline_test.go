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
	out := sh.ok("verify", file, "--public-keys", keys, "--machine-id", "vessel-7", "--at", at)
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
		{[]string{"verify", tampered, "--public-keys", keys, "--at", at}, "license file:"},
		{[]string{"verify", file, "--public-keys", keys, "--at", "2030-01-01T00:00:00Z"}, "license file: expired"},
		{[]string{"verify", filepath.Join(dir, "missing.txt"), "--public-keys", keys}, "no such file"},
	} {
		if out := sh.fails(1, tc.args...); !strings.Contains(out, tc.want) {
			t.Errorf("keybox %v: %q, want it to say %q", tc.args, out, tc.want)
		}
	}
}

// TestKeysCommands: keybox keys list and rotate work on the database.
func TestKeysCommands(t *testing.T) {
	dbURL := "sqlite://" + filepath.Join(t.TempDir(), "keybox.db")
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
	if len(first) != 1 || first[0]["retiredAt"] != nil {
		t.Fatalf("a new installation: %v, want one active key", first)
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
}
