package client

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func TestMachineID(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	etc := write("machine-id", "3d1219c7c4c5404aaa1f6d2a48adfda4\n")
	dbus := write("dbus-machine-id", "ffffffffffffffffffffffffffffffff\n")
	empty := write("empty", "\n")
	missing := filepath.Join(dir, "missing")
	// SHA-256 of the first id (printf '%s' ID | sha256sum).
	const etcHash = "0035969ec53f6e7f0fb40f08cc9ed4783aa99c2000cf1ebe4187c10dd0d8370f"
	cases := []struct {
		name    string
		env     string
		files   []string
		want    string
		wantErr bool
	}{
		{"hash of /etc/machine-id", "", []string{etc, dbus}, etcHash, false},
		{"falls back to D-Bus's", "", []string{missing, dbus}, "", false},
		{"an empty file is skipped", "", []string{empty, etc}, etcHash, false},
		{"the variable wins, as it is", "  container-7 ", []string{etc}, "container-7", false},
		{"nothing found", "", []string{missing, empty}, "", true},
	}
	hashes := map[string]string{}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := machineID(func(k string) string {
				if k == MachineIDEnv {
					return c.env
				}
				return ""
			}, c.files)
			if c.wantErr {
				if err == nil || !strings.Contains(err.Error(), MachineIDEnv) {
					t.Fatalf("got %q, %v; want an error naming %s", got, err, MachineIDEnv)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.want != "" && got != c.want {
				t.Fatalf("got %q, want %q", got, c.want)
			}
			hashes[c.name] = got
		})
	}
	if h := hashes["falls back to D-Bus's"]; len(h) != 64 || h == etcHash {
		t.Error("two machine ids gave the same hash")
	}
}

func TestInstanceIDIsKept(t *testing.T) {
	path := filepath.Join(t.TempDir(), "app", "instance-id")
	var wg sync.WaitGroup
	ids := make([]string, 8)
	for i := range ids {
		wg.Go(func() {
			id, err := InstanceID(path)
			if err != nil {
				t.Error(err)
			}
			ids[i] = id
		})
	}
	wg.Wait()
	for _, id := range ids {
		if id != ids[0] || len(id) != 32 {
			t.Fatalf("concurrent first starts got ids %q, want one 32-character id", ids)
		}
	}
	again, err := InstanceID(path)
	if err != nil || again != ids[0] {
		t.Fatalf("second start: got %q, %v; want %q", again, err, ids[0])
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Fatalf("got %d files beside the id, want only the id file", len(entries)-1)
	}
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := InstanceID(path); err == nil {
		t.Fatal("an empty id file gave no error")
	}
}
