//go:build unix

package main

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/keyboxhq/keybox/client"
)

// TestSecretFilesOwnerOnly: with no umask and a data directory anyone may
// read, every file holding a secret is still its owner's alone: the JWT
// secret, the database and its -wal and -shm files written by keybox
// serve, and the copy keybox backup makes.
func TestSecretFilesOwnerOnly(t *testing.T) {
	old := syscall.Umask(0)
	defer syscall.Umask(old)
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(dir, "keybox.db")
	base := startServe(t, map[string]string{"KEYBOX_DATABASE_URL": "sqlite://" + db})
	api, err := client.New(base, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := api.Signup(context.Background(), client.Signup{Name: "Ada", Email: "ada@example.com", Password: "correct horse"}); err != nil {
		t.Fatal(err)
	}
	backup := filepath.Join(dir, "backup.db")
	var stderr bytes.Buffer
	if code := run(context.Background(), []string{"backup", backup}, envFunc(map[string]string{"KEYBOX_DATABASE_URL": "sqlite://" + db}), &bytes.Buffer{}, &stderr); code != 0 {
		t.Fatalf("backup: exit %d: %s", code, stderr.String())
	}
	for _, name := range []string{"jwt-secret", "keybox.db", "keybox.db-wal", "keybox.db-shm", "backup.db"} {
		st, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if got := st.Mode().Perm(); got != 0o600 {
			t.Errorf("%s: mode %v, want -rw-------", name, got)
		}
	}
}

// TestWriteSecretFile: 0600 whatever the umask, even one that would take
// the owner's own bits; and never over a secret already there.
func TestWriteSecretFile(t *testing.T) {
	for _, mask := range []int{0, 0o277} {
		old := syscall.Umask(mask)
		path := filepath.Join(t.TempDir(), "secret")
		err := writeSecretFile(path, []byte("s3cret"))
		syscall.Umask(old)
		if err != nil {
			t.Fatal(err)
		}
		if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o600 {
			t.Fatalf("umask %o: got %v, %v; want -rw-------", mask, st.Mode().Perm(), err)
		}
		if err := writeSecretFile(path, []byte("other")); !errors.Is(err, fs.ErrExist) {
			t.Fatalf("over an existing secret: got %v, want fs.ErrExist", err)
		}
		if b, _ := os.ReadFile(path); string(b) != "s3cret" {
			t.Fatalf("the secret became %q", b)
		}
	}
}
