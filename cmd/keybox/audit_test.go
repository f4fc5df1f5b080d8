package main

import (
	"bytes"
	"context"
	"database/sql"
	"strings"
	"testing"

	"github.com/keyboxhq/keybox/internal/licensing"
	"github.com/keyboxhq/keybox/internal/storetest"
)

// openSQL opens the database of a keybox URL with plain SQL, as someone
// tampering with it would.
func openSQL(t *testing.T, dbURL string) *sql.DB {
	t.Helper()
	engine, target, err := parseDatabaseURL(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	driver, dsn := "pgx", target
	if engine == "sqlite" {
		driver, dsn = "sqlite", "file:"+target
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// TestAuditVerify: keybox audit verify passes an untouched log and names
// the event that was edited with SQL, the one deleted, and a chain whose
// last event was deleted.
func TestAuditVerify(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			ctx := context.Background()
			dbURL := e.URL(t)
			svc, closeDB, err := offlineService(ctx, dbURL, nil)
			if err != nil {
				t.Fatal(err)
			}
			u, err := svc.CreateUser(ctx, licensing.SignupInput{Name: licensing.Str("Ada"), Email: licensing.Str("ada@example.com"),
				Password: licensing.Str("password1"), ConfirmPassword: licensing.Str("password1")}, "")
			if err != nil {
				t.Fatal(err)
			}
			for _, name := range []string{"acme", "globex", "initech", "umbrella"} {
				if _, err := svc.CreateClient(ctx, u, licensing.ClientInput{Name: licensing.Str(name), Email: licensing.Str(name + "@example.com")}); err != nil {
					t.Fatal(err)
				}
			}
			closeDB()
			env := envFunc(map[string]string{"KEYBOX_DATABASE_URL": dbURL})
			verify := func() (int, string) {
				t.Helper()
				var out, errOut bytes.Buffer
				code := run(ctx, []string{"audit", "verify"}, env, &out, &errOut)
				return code, out.String() + errOut.String()
			}
			if code, out := verify(); code != 0 || !strings.Contains(out, "5 events in 1 chains verified") {
				t.Fatalf("untouched: exit %d\n%s", code, out)
			}
			db := openSQL(t, dbURL)
			id := func(seq int) string {
				var id string
				if err := db.QueryRow(`SELECT id FROM events WHERE owner_id = $1 AND seq = $2`, u.ID, seq).Scan(&id); err != nil {
					t.Fatal(err)
				}
				return id
			}
			exec := func(q string, args ...any) {
				t.Helper()
				if _, err := db.Exec(q, args...); err != nil {
					t.Fatal(err)
				}
			}

			edited := id(3)
			exec(`UPDATE events SET data = '{"email":"attacker@example.com","name":"acme"}' WHERE id = $1`, edited)
			code, out := verify()
			if code != 1 || !strings.Contains(out, "event "+edited+" (number 3)") || !strings.Contains(out, "changed after it was written") {
				t.Fatalf("an edited event: exit %d\n%s", code, out)
			}
			exec(`UPDATE events SET data = '{"email":"globex@example.com","name":"globex"}' WHERE id = $1`, edited)
			if code, out := verify(); code != 0 {
				t.Fatalf("the edit undone: exit %d\n%s", code, out)
			}

			next := id(4)
			exec(`DELETE FROM events WHERE id = $1`, id(3))
			code, out = verify()
			if code != 1 || !strings.Contains(out, "event number 3: missing") || !strings.Contains(out, next) {
				t.Fatalf("a deleted event: exit %d\n%s", code, out)
			}

			exec(`DELETE FROM events WHERE owner_id = $1 AND seq >= 3`, u.ID)
			code, out = verify()
			if code != 1 || !strings.Contains(out, "event number 3: missing (the chain's head is number 5)") {
				t.Fatalf("the chain's end deleted: exit %d\n%s", code, out)
			}

			var out2 bytes.Buffer
			if code := run(ctx, []string{"audit", "verify", "-o", "json"}, env, &out2, &out2); code != 1 ||
				!strings.Contains(out2.String(), `"ok": false`) {
				t.Fatalf("json: exit %d\n%s", code, out2.String())
			}
		})
	}
}
