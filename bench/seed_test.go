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
	"github.com/keyboxhq/keybox/internal/servertest"
	"github.com/keyboxhq/keybox/internal/storetest"
)

type check struct {
	Key       string `json:"key"`
	MachineID string `json:"machineId"`
}

func readChecks(t *testing.T, b []byte) []check {
	t.Helper()
	var out []check
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var c check
		if err := json.Unmarshal([]byte(line), &c); err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		if len(c.Key) != len("KB-7QX2M-9HD4T-KAW3E-PZ81C") || len(c.MachineID) != 32 {
			t.Errorf("line %q: want a key as long as KeyBox's and a 32-digit machine id", line)
		}
		out = append(out, c)
	}
	return out
}

// The licenses the seeder writes are what the server, through its API,
// takes for activated and pending ones, and the keys file names each with
// its machine.
func TestSeed(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			ctx := context.Background()
			store := e.Open(t)
			srv := servertest.New(t, store, servertest.Options{})
			made, err := setup(srv.URL)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Contains(made.activated, []byte("License activated successfully")) {
				t.Errorf("got activation answer %s", made.activated)
			}
			tmpl, err := store.License(ctx, made.key)
			if err != nil {
				t.Fatal(err)
			}
			s, err := newSeeder(store, 2)
			if err != nil {
				t.Fatal(err)
			}
			s.batch = 10 // several transactions, the last one short

			var active, pending bytes.Buffer
			if err := s.seed(ctx, tmpl, 25, true, &active); err != nil {
				t.Fatal(err)
			}
			if err := s.seed(ctx, tmpl, 13, false, &pending); err != nil {
				t.Fatal(err)
			}
			activeChecks, pendingChecks := readChecks(t, active.Bytes()), readChecks(t, pending.Bytes())
			if len(activeChecks) != 25 || len(pendingChecks) != 13 {
				t.Fatalf("got %d and %d lines, want 25 and 13", len(activeChecks), len(pendingChecks))
			}
			_, total, err := store.Licenses(ctx, keybox.LicenseFilter{OwnerID: tmpl.OwnerID, ProjectID: tmpl.ProjectID})
			if err != nil || total != 1+25+13 {
				t.Fatalf("got %d licenses in the project (%v), want 39", total, err)
			}

			// Every active key validates on its machine, and on no other.
			keys := filepath.Join(t.TempDir(), "keys.txt")
			if err := os.WriteFile(keys, active.Bytes(), 0o600); err != nil {
				t.Fatal(err)
			}
			if n, err := validateEach(ctx, srv.URL, keys, 4, 0); err != nil || n != 25 {
				t.Fatalf("validated %d of 25: %v", n, err)
			}
			other, err := callJSON("POST", srv.URL+"/validate", "", check{Key: activeChecks[0].Key, MachineID: newMachineID()})
			if err != nil || other["status"] != "machine_mismatch" {
				t.Errorf("another machine: got %v %v, want machine_mismatch", other, err)
			}

			// Every pending key is pending until its machine activates it.
			for _, c := range pendingChecks {
				v, err := callJSON("POST", srv.URL+"/validate", "", c)
				if err != nil || v["status"] != "pending" {
					t.Fatalf("%v before activation: got %v %v, want pending", c, v, err)
				}
				a, err := callJSON("POST", srv.URL+"/validate/activate", "", c)
				if err != nil || a["message"] != "License activated successfully" {
					t.Fatalf("activating %v: got %v %v", c, a, err)
				}
			}
		})
	}
}
