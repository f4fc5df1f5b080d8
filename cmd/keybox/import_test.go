package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keyboxhq/keybox"
	"github.com/keyboxhq/keybox/client"
	"github.com/keyboxhq/keybox/internal/licensing"
	"github.com/keyboxhq/keybox/internal/storetest"
)

var keyboxExport = filepath.Join("..", "..", "testdata", "keybox-export")

// TestImportKeyBoxCommand: keybox import keybox DIR on each engine refuses a
// broken export without loading anything, loads a good one, finds it all
// there on a second run, and keybox serve then lets its users in with the
// passwords they had in KeyBox.
func TestImportKeyBoxCommand(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			dbURL := e.URL(t)
			kb := func(args ...string) (int, string, string) {
				var stdout, stderr bytes.Buffer
				code := run(context.Background(), args, envFunc(map[string]string{"KEYBOX_DATABASE_URL": dbURL}), &stdout, &stderr)
				return code, stdout.String(), stderr.String()
			}

			broken := t.TempDir()
			for _, name := range []string{"users.json", "clients.json", "projects.json", "licenses.json"} {
				raw, err := os.ReadFile(filepath.Join(keyboxExport, name))
				if err != nil {
					t.Fatal(err)
				}
				if name == "licenses.json" {
					raw = bytes.Replace(raw, []byte(`"status":"PENDING"`), []byte(`"status":"pending"`), 1)
				}
				if err := os.WriteFile(filepath.Join(broken, name), raw, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			code, stdout, stderr := kb("import", "keybox", broken)
			want := `keybox: licenses.json, record 2 (_id 6946d28cd1b2c3d4e5f6d702): status: "pending" is not PENDING, ACTIVE, EXPIRED or REVOKED: nothing was imported` + "\n"
			if code != 1 || stdout != "" || stderr != want {
				t.Fatalf("broken export: got exit %d, %q, %q; want 1 and %q", code, stdout, stderr, want)
			}

			code, stdout, stderr = kb("import", "keybox", keyboxExport, "-o", "json")
			var sum licensing.ImportSummary
			if code != 0 || json.Unmarshal([]byte(stdout), &sum) != nil {
				t.Fatalf("import: got exit %d, %q, %q", code, stdout, stderr)
			}
			if sum.Users.Imported != 4 || sum.Licenses.Imported != 6 || sum.Seats.Imported != 4 || len(sum.Placeholders) != 2 {
				t.Fatalf("import: got %+v; want everything imported (nothing came from the broken run)", sum)
			}
			code, stdout, stderr = kb("import", "keybox", keyboxExport)
			for _, line := range []string{"Imported the KeyBox export in " + keyboxExport + ".", "users            0         4", "licenses         0         6", "client-66335994b1b2c3d4e5f6b702@no-email.invalid"} {
				if code != 0 || !strings.Contains(stdout, line) {
					t.Fatalf("second run: got exit %d, %q, %q; want a line %q", code, stdout, stderr, line)
				}
			}
			usage := []struct {
				args []string
				code int
				says string
			}{
				{[]string{"import", "keybox"}, 2, "usage: keybox import keybox DIR [flags]"},
				{[]string{"import", "mongo", keyboxExport}, 2, `import: unknown command "mongo"`},
				{[]string{"import", "keybox", filepath.Join(keyboxExport, "users.json")}, 1, "is not a directory"},
			}
			for _, u := range usage {
				if code, _, stderr := kb(u.args...); code != u.code || !strings.Contains(stderr, u.says) {
					t.Errorf("%v: got exit %d, %q; want %d and %q", u.args, code, stderr, u.code, u.says)
				}
			}

			base := startServe(t, map[string]string{"KEYBOX_DATABASE_URL": dbURL, "KEYBOX_JWT_SECRET": strings.Repeat("j", 32), "KEYBOX_SECRET_KEY": strings.Repeat("s", 32)})
			ctx := context.Background()
			api, err := client.New(base, client.Options{})
			if err != nil {
				t.Fatal(err)
			}
			s, err := api.Login(ctx, "ada@example.com", "ada old password")
			if err != nil || s.Role != "ADMIN" {
				t.Fatalf("login with the KeyBox password: got %+v, %v", s, err)
			}
			list, err := api.Licenses(ctx, client.LicenseListOptions{})
			if err != nil || list.Total != 3 {
				t.Fatalf("ada's licenses: got %d, %v; want 3", list.Total, err)
			}
			if _, err := api.Login(ctx, "gina@example.com", "ada old password"); client.StatusOf(err) != 401 {
				t.Fatalf("login to a Google-only account: got %v, want 401", err)
			}
			if lic, err := api.License(ctx, "KB-ACME1-WEB01-7QX2M-PZ81C"); err != nil || lic.License.MachineID != keybox.NullString("3f9a1c7e5b2d4f60a8c1e3b5d7f90a2c4e6f8a0b1c3d5e7f9a2b4c6d8e0f1a3b") || len(lic.Activations) != 1 {
				t.Fatalf("imported license: got %+v, %v; want its machine as its one seat", lic, err)
			}
		})
	}
}
