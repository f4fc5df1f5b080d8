package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"database/sql"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/keyboxhq/keybox"
	"github.com/keyboxhq/keybox/client"
	"github.com/keyboxhq/keybox/internal/sqlite"
	"github.com/keyboxhq/keybox/internal/sqlstore"
	"github.com/keyboxhq/keybox/internal/storetest"
)

// startServe runs `keybox serve` in this process and returns its URL; the
// server stops when the test ends.
func startServe(t *testing.T, env map[string]string) string {
	t.Helper()
	url, _ := startServeStop(t, env)
	return url
}

// startServeStop is startServe, and a function that stops the server
// (waiting for it), for a test that goes on without it.
func startServeStop(t *testing.T, env map[string]string) (string, func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	logs := newLogLines()
	done := make(chan int, 1)
	full := map[string]string{"KEYBOX_ADDR": "127.0.0.1:0", "KEYBOX_LOG_FORMAT": "json", "KEYBOX_RATE_LIMIT": "off",
		"KEYBOX_DB_MAX_CONNS": strconv.Itoa(storetest.PostgresPool)}
	for k, v := range env {
		full[k] = v
	}
	go func() { done <- run(ctx, []string{"serve"}, envFunc(full), io.Discard, logs) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			if code := <-done; code != 0 {
				t.Errorf("serve exited %d; log:\n%s", code, logs.text())
			}
		})
	}
	t.Cleanup(stop)
	return waitAddr(t, logs.addr, logs.text), stop
}

// TestBackupUnderWriteLoad: a backup taken while clients are being written
// through the running server opens, passes integrity_check, and holds every
// write acknowledged before it started.
func TestBackupUnderWriteLoad(t *testing.T) {
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "keybox.db")
	base := startServe(t, map[string]string{"KEYBOX_DATABASE_URL": "sqlite://" + dbPath})
	ctx := context.Background()
	api, err := client.New(base, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	userID, err := api.Signup(ctx, client.Signup{Name: "Ada", Email: "ada@example.com", Password: "correct horse"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := api.Login(ctx, "ada@example.com", "correct horse"); err != nil {
		t.Fatal(err)
	}

	var (
		mu       sync.Mutex
		acked    []string
		writeErr error
		stop     = make(chan struct{})
		enough   = make(chan struct{})
		wg       sync.WaitGroup
	)
	const writers, warmup, maxWrites = 4, 200, 5000
	for w := range writers {
		wg.Go(func() {
			for i := 0; i < maxWrites/writers; i++ {
				select {
				case <-stop:
					return
				default:
				}
				c, err := api.CreateClient(ctx, client.ClientInput{Name: fmt.Sprintf("C %d-%d", w, i), Email: fmt.Sprintf("c%d-%d@example.com", w, i)})
				mu.Lock()
				if err != nil {
					writeErr = err
					mu.Unlock()
					return
				}
				acked = append(acked, c.ID)
				if len(acked) == warmup {
					close(enough)
				}
				mu.Unlock()
			}
		})
	}
	<-enough
	mu.Lock()
	before := slices.Clone(acked)
	mu.Unlock()

	dest := filepath.Join(dir, "backup.tar")
	var stdout, stderr bytes.Buffer
	code := run(ctx, []string{"backup", dest}, envFunc(map[string]string{"KEYBOX_DATABASE_URL": "sqlite://" + dbPath}), &stdout, &stderr)
	mu.Lock()
	during := len(acked) - len(before)
	mu.Unlock()
	close(stop)
	wg.Wait()
	if code != 0 {
		t.Fatalf("backup: exit %d: %s", code, stderr.String())
	}
	if writeErr != nil {
		t.Fatalf("a write failed while the backup ran: %v", writeErr)
	}
	if !strings.HasPrefix(stdout.String(), "Backed up ") {
		t.Fatalf("backup printed %q", stdout.String())
	}
	t.Logf("%d writes acknowledged before the backup, %d while it ran, %d in all", len(before), during, len(acked))
	unpacked := t.TempDir()
	unpackBackup(t, dest, unpacked)
	copied := filepath.Join(unpacked, "keybox.db")

	db, err := sql.Open("sqlite", "file:"+copied)
	if err != nil {
		t.Fatal(err)
	}
	var check string
	if err := db.QueryRow("PRAGMA integrity_check").Scan(&check); err != nil || check != "ok" {
		t.Fatalf("integrity_check: got %q, %v; want ok", check, err)
	}
	db.Close()

	store, err := sqlite.Open(ctx, copied, sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	saved, total, err := store.Clients(ctx, keybox.ClientFilter{OwnerID: userID})
	if err != nil {
		t.Fatal(err)
	}
	have := make(map[string]bool, len(saved))
	for _, c := range saved {
		have[c.ID] = true
	}
	for _, id := range before {
		if !have[id] {
			t.Fatalf("client %s, acknowledged before the backup began, is missing from it", id)
		}
	}
	if total < len(before) || total > len(acked) {
		t.Fatalf("got %d clients in the backup, want between %d and %d", total, len(before), len(acked))
	}
}

func TestBackupRefusals(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "k.db")
	s, err := sqlite.Open(context.Background(), db, sqlstore.Options{Migrate: true})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	cases := []struct {
		name string
		args []string
		db   string
		want string
	}{
		{"postgres", []string{"backup", filepath.Join(dir, "x.db")}, "postgres://u@localhost/keybox", "for PostgreSQL use pg_dump"},
		{"no database", []string{"backup", filepath.Join(dir, "x.db")}, "sqlite://" + filepath.Join(dir, "missing.db"), "no database at"},
		{"no file named", []string{"backup"}, "sqlite://" + db, "usage: keybox backup FILE"},
		{"an existing file", []string{"backup", db}, "sqlite://" + db, "already exists; choose a new file name"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var stderr bytes.Buffer
			code := run(context.Background(), c.args, envFunc(map[string]string{"KEYBOX_DATABASE_URL": c.db}), io.Discard, &stderr)
			lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
			if code == 0 || len(lines) != 1 || !strings.Contains(lines[0], c.want) {
				t.Fatalf("got exit %d, stderr %q; want one line with %q", code, stderr.String(), c.want)
			}
		})
	}
}

// unpackBackup writes the members of a backup archive into dir, as keybox
// backup wrote them, and returns their names and modes.
func unpackBackup(t *testing.T, archive, dir string) map[string]os.FileMode {
	t.Helper()
	f, err := os.Open(archive)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var r io.Reader = f
	if strings.HasSuffix(archive, ".gz") {
		zr, err := gzip.NewReader(f)
		if err != nil {
			t.Fatal(err)
		}
		r = zr
	}
	members := map[string]os.FileMode{}
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return members
		}
		if err != nil {
			t.Fatal(err)
		}
		members[h.Name] = os.FileMode(h.Mode).Perm()
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(h.Name)), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}
