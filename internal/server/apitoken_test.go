package server_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keyboxhq/keybox/internal/postgres"
	"github.com/keyboxhq/keybox/internal/servertest"
	"github.com/keyboxhq/keybox/internal/sqlite"
	"github.com/keyboxhq/keybox/internal/sqlstore"
	"github.com/keyboxhq/keybox/internal/storetest"
)

// apiToken makes an API token of scope with a login token and returns its secret.
func (e *env) apiToken(login, scope string) string {
	e.t.Helper()
	return e.do("POST", "/tokens", login, map[string]any{"name": scope + " script", "scope": scope}).want(e.t, 201, "").str("token")
}

// wireTime is a time as the API writes it.
func wireTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

var tokenForm = regexp.MustCompile(`^kbx_[a-z2-7]{48}$`)

// TestAPITokens: a token is made with a login token, shown once (never in a
// list), acts as its owner within its scope, and is refused from the
// moment it is revoked; another developer's token id is "Token not found".
func TestAPITokens(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		adaID, ada := e.developer("ada@example.com")
		r := e.do("POST", "/tokens", ada, map[string]any{"name": "  billing  ", "scope": "write"}).want(t, 201, "")
		secret, tok := r.str("token"), r.obj("apiToken")
		if !tokenForm.MatchString(secret) {
			t.Fatalf("secret %q is not kbx_ and 48 base32 characters", secret)
		}
		want := map[string]any{"owner": adaID, "name": "billing", "scope": "write", "prefix": secret[:12],
			"createdAt": wireTime(e.clock.Now()), "updatedAt": wireTime(e.clock.Now()), "expiresAt": nil, "lastUsedAt": nil}
		for k, v := range want {
			if tok[k] != v {
				t.Errorf("apiToken.%s = %v, want %v (%s)", k, tok[k], v, r.raw)
			}
		}
		if len(tok) != len(want)+1 { // and _id
			t.Errorf("apiToken has members beyond those known (a hash?): %s", r.raw)
		}
		id := tok["_id"].(string)
		read := e.apiToken(ada, "read")

		// Listed newest first, without the secrets.
		list := e.do("GET", "/tokens", ada, nil).want(t, 200, "")
		if tokens := list.list("tokens"); len(tokens) != 2 || tokens[1].(map[string]any)["_id"] != id {
			t.Fatalf("GET /tokens: %s", list.raw)
		}
		if bytes.Contains(list.raw, []byte(secret[12:])) || bytes.Contains(list.raw, []byte(read[12:])) {
			t.Fatalf("GET /tokens shows a secret: %s", list.raw)
		}

		// The write token acts as ada: what it makes is hers.
		client := e.do("POST", "/clients", secret, map[string]any{"name": "Acme", "email": "acme@example.com"}).want(t, 201, "").obj("client")
		if client["owner"] != adaID {
			t.Fatalf("a client made with ada's token belongs to %v", client["owner"])
		}
		if me := e.do("GET", "/auth/me", read, nil).want(t, 200, "").obj("user"); me["_id"] != adaID {
			t.Fatalf("GET /auth/me with ada's read token: %v", me)
		}
		if clients := e.do("GET", "/clients", read, nil).want(t, 200, "").list("clients"); len(clients) != 1 {
			t.Fatalf("ada's read token lists %d clients, want 1", len(clients))
		}
		e.do("PATCH", "/clients/"+client["_id"].(string), read, map[string]any{"name": "Stolen"}).want(t, 403, "Token scope does not allow this")

		// Tokens make no tokens, and reach no account business.
		for _, tok := range []string{read, secret} {
			e.do("POST", "/tokens", tok, map[string]any{"name": "more", "scope": "write"}).want(t, 403, "Token scope does not allow this")
			e.do("GET", "/tokens", tok, nil).want(t, 403, "Token scope does not allow this")
			e.do("DELETE", "/tokens/"+id, tok, nil).want(t, 403, "Token scope does not allow this")
			e.do("POST", "/auth/refresh", tok, nil).want(t, 403, "Token scope does not allow this")
			e.do("PATCH", "/auth/password", tok, map[string]any{"currentPassword": "correct horse", "password": "mallory's now", "confirm_password": "mallory's now"}).
				want(t, 403, "Token scope does not allow this")
		}

		// Another developer can neither see nor revoke ada's tokens.
		_, bob := e.developer("bob@example.com")
		e.do("DELETE", "/tokens/"+id, bob, nil).want(t, 404, "Token not found")
		if tokens := e.do("GET", "/tokens", bob, nil).want(t, 200, "").list("tokens"); len(tokens) != 0 {
			t.Fatalf("bob lists ada's tokens: %v", tokens)
		}
		e.do("GET", "/auth/me", secret, nil).want(t, 200, "")

		e.do("DELETE", "/tokens/"+id, ada, nil).want(t, 200, "Token revoked")
		e.do("GET", "/auth/me", secret, nil).want(t, 401, "Unauthorized")
		e.do("POST", "/clients", secret, map[string]any{"name": "Late", "email": "late@example.com"}).want(t, 401, "Unauthorized")
		e.do("DELETE", "/tokens/"+id, ada, nil).want(t, 404, "Token not found")
		e.do("DELETE", "/tokens/not-an-id", ada, nil).want(t, 404, "Token not found")
		e.do("GET", "/auth/me", read, nil).want(t, 200, "")

		// Look-alikes of a token are refused as any bad token is.
		for _, bad := range []string{"kbx_", "kbx_" + strings.Repeat("a", 47), secret + "a", strings.ToUpper(read), read[:51] + "1", read[:51] + "="} {
			e.do("GET", "/auth/me", bad, nil).want(t, 401, "Unauthorized")
		}
	})
}

// TestAPITokenValidation: each wrong member is named, all at once, and no
// token is made.
func TestAPITokenValidation(t *testing.T) {
	e := newEnv(t, storeSQLite(t))
	_, ada := e.developer("ada@example.com")
	now := e.clock.Now()
	cases := []struct {
		name   string
		body   any
		errors map[string]string
	}{
		{"empty", map[string]any{}, map[string]string{"name": "is required", "scope": `is required: "read" or "write"`}},
		{"blank name", map[string]any{"name": "  ", "scope": "read"}, map[string]string{"name": "is required"}},
		{"long name", map[string]any{"name": strings.Repeat("n", 201), "scope": "read"}, map[string]string{"name": "must be at most 200 characters"}},
		{"number name", map[string]any{"name": 7, "scope": "read"}, map[string]string{"name": "must be a string"}},
		{"NUL in name", map[string]any{"name": "a\x00b", "scope": "read"}, map[string]string{"name": "must be UTF-8 text without NUL characters"}},
		{"unknown scope", map[string]any{"name": "ci", "scope": "admin"}, map[string]string{"scope": `must be "read" or "write"`}},
		{"scope in capitals", map[string]any{"name": "ci", "scope": "WRITE"}, map[string]string{"scope": `must be "read" or "write"`}},
		{"scope list", map[string]any{"name": "ci", "scope": []string{"read"}}, map[string]string{"scope": `must be "read" or "write"`}},
		{"null scope", map[string]any{"name": "ci", "scope": nil}, map[string]string{"scope": `is required: "read" or "write"`}},
		{"expiry not a time", map[string]any{"name": "ci", "scope": "read", "expiresAt": "tomorrow"},
			map[string]string{"expiresAt": "must be an RFC 3339 time, such as 2027-01-31T00:00:00Z"}},
		{"expiry a date", map[string]any{"name": "ci", "scope": "read", "expiresAt": "2027-01-31"},
			map[string]string{"expiresAt": "must be an RFC 3339 time, such as 2027-01-31T00:00:00Z"}},
		{"expiry a number", map[string]any{"name": "ci", "scope": "read", "expiresAt": 1893456000000},
			map[string]string{"expiresAt": "must be an RFC 3339 time, such as 2027-01-31T00:00:00Z"}},
		{"expiry now", map[string]any{"name": "ci", "scope": "read", "expiresAt": now.Format(time.RFC3339)},
			map[string]string{"expiresAt": "must be in the future"}},
		{"expiry past", map[string]any{"name": "ci", "scope": "read", "expiresAt": now.Add(-time.Hour).Format(time.RFC3339)},
			map[string]string{"expiresAt": "must be in the future"}},
		{"all wrong", map[string]any{"name": "", "scope": "root", "expiresAt": "never"}, map[string]string{"name": "is required",
			"scope": `must be "read" or "write"`, "expiresAt": "must be an RFC 3339 time, such as 2027-01-31T00:00:00Z"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do("POST", "/tokens", ada, tc.body).want(t, 400, "Validation error")
			got := r.obj("errors")
			if len(got) != len(tc.errors) {
				t.Fatalf("errors %v, want %v", got, tc.errors)
			}
			for field, reason := range tc.errors {
				if got[field] != reason {
					t.Errorf("errors.%s = %v, want %q", field, got[field], reason)
				}
			}
		})
	}
	if tokens := e.do("GET", "/tokens", ada, nil).want(t, 200, "").list("tokens"); len(tokens) != 0 {
		t.Fatalf("refused requests made tokens: %v", tokens)
	}
	// A name of 200 characters, with an offset, and an expiry a millisecond away are fine.
	r := e.do("POST", "/tokens", ada, map[string]any{"name": strings.Repeat("é", 200), "scope": "read",
		"expiresAt": now.Add(time.Millisecond).In(time.FixedZone("", 2*3600)).Format(time.RFC3339Nano)}).want(t, 201, "")
	if got := r.obj("apiToken")["expiresAt"]; got != wireTime(now.Add(time.Millisecond)) {
		t.Fatalf("expiresAt %v, want %s", got, wireTime(now.Add(time.Millisecond)))
	}
}

// TestAPITokenExpiry: a token works until its expiry and is refused from
// that instant; it stays listed until revoked, so that its owner sees it.
func TestAPITokenExpiry(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		_, ada := e.developer("ada@example.com")
		expiry := e.clock.Now().Add(time.Hour)
		r := e.do("POST", "/tokens", ada, map[string]any{"name": "ci", "scope": "read", "expiresAt": expiry.Format(time.RFC3339)}).want(t, 201, "")
		secret := r.str("token")
		if got := r.obj("apiToken")["expiresAt"]; got != wireTime(expiry) {
			t.Fatalf("expiresAt %v, want %s", got, wireTime(expiry))
		}
		e.clock.Add(time.Hour - time.Millisecond)
		e.do("GET", "/clients", secret, nil).want(t, 200, "")
		e.clock.Add(time.Millisecond)
		e.do("GET", "/clients", secret, nil).want(t, 401, "Unauthorized")
		ada = e.login("ada@example.com") // the login token lasts 30 minutes
		if tokens := e.do("GET", "/tokens", ada, nil).want(t, 200, "").list("tokens"); len(tokens) != 1 {
			t.Fatalf("the expired token is not listed: %v", tokens)
		}
	})
}

// TestAPITokenLastUsed: lastUsedAt is the first use of each minute, and a
// use within a minute of the last one recorded writes nothing (one read of
// the database, not two statements). The clock is the test's.
func TestAPITokenLastUsed(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		_, ada := e.developer("ada@example.com")
		secret := e.apiToken(ada, "read")
		lastUsed := func() any {
			ada := e.login("ada@example.com") // a fresh login: the clock moves by hours
			return e.do("GET", "/tokens", ada, nil).want(t, 200, "").list("tokens")[0].(map[string]any)["lastUsedAt"]
		}
		if got := lastUsed(); got != nil {
			t.Fatalf("lastUsedAt %v before any use, want null", got)
		}
		// use calls GET /auth/me, which reads nothing more than the
		// token, and returns the statements it cost.
		use := func() int64 {
			before := e.store.Stats().Queries
			e.do("GET", "/auth/me", secret, nil).want(t, 200, "")
			return e.store.Stats().Queries - before
		}
		first := e.clock.Now()
		steps := []struct {
			after      time.Duration
			statements int64
			lastUsed   time.Time
		}{
			{0, 2, first},                                 // never used: read, and write
			{0, 1, first},                                 // the same instant: read only
			{59 * time.Second, 1, first},                  // within the minute
			{999 * time.Millisecond, 1, first},            // 59.999 s after
			{time.Millisecond, 2, first.Add(time.Minute)}, // a minute after: written
			{30 * time.Second, 1, first.Add(time.Minute)},
			{time.Hour, 2, first.Add(time.Hour + 90*time.Second)},
		}
		for i, s := range steps {
			e.clock.Add(s.after)
			if n := use(); n != s.statements {
				t.Errorf("use %d: %d statements, want %d", i, n, s.statements)
			}
			if got := lastUsed(); got != wireTime(s.lastUsed) {
				t.Fatalf("use %d: lastUsedAt %v, want %s", i, got, wireTime(s.lastUsed))
			}
		}
	})
}

// TestAPITokensEndWithTheAccount: a password change and logging out
// everywhere revoke every API token of the account (whoever knew the
// password, or held a session, could have made one); a role change does
// not, and deleting the account deletes them.
func TestAPITokensEndWithTheAccount(t *testing.T) {
	const pw = "correct horse"
	cases := []struct {
		name string
		end  func(t *testing.T, e *env, adaID, ada, admin string)
		kept bool
		gone bool // the account is gone too
	}{
		{"password change", func(t *testing.T, e *env, _, ada, _ string) {
			e.do("PATCH", "/auth/password", ada, map[string]any{"currentPassword": pw, "password": "new password", "confirm_password": "new password"}).
				want(t, 200, "Password updated successfully")
		}, false, false},
		{"logout everywhere", func(t *testing.T, e *env, _, ada, _ string) {
			e.do("POST", "/auth/logout-all", ada, nil).want(t, 200, "Logged out everywhere")
		}, false, false},
		{"role change", func(t *testing.T, e *env, adaID, _, admin string) {
			e.do("PATCH", "/auth/users/"+adaID, admin, map[string]any{"role": "ADMIN"}).want(t, 200, "User updated successfully")
		}, true, false},
		{"deletion", func(t *testing.T, e *env, adaID, _, admin string) {
			e.do("DELETE", "/auth/users/"+adaID, admin, nil).want(t, 200, "User deleted successfully")
		}, false, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			eachEngine(t, func(t *testing.T, e *env) {
				_, admin := e.developer("admin@example.com")
				adaID, ada := e.developer("ada@example.com")
				_, bob := e.developer("bob@example.com")
				adaTokens := []string{e.apiToken(ada, "read"), e.apiToken(ada, "write")}
				bobToken := e.apiToken(bob, "write")

				tc.end(t, e, adaID, ada, admin)

				for _, tok := range adaTokens {
					if tc.kept {
						e.do("GET", "/clients", tok, nil).want(t, 200, "")
					} else {
						e.do("GET", "/clients", tok, nil).want(t, 401, "Unauthorized")
					}
				}
				if !tc.gone {
					password := pw
					if tc.name == "password change" {
						password = "new password"
					}
					fresh := e.do("POST", "/auth/login", "", map[string]any{"email": "ada@example.com", "password": password}).want(t, 200, "").str("token")
					want := 0
					if tc.kept {
						want = 2
					}
					if got := e.do("GET", "/tokens", fresh, nil).want(t, 200, "").list("tokens"); len(got) != want {
						t.Fatalf("ada has %d tokens listed, want %d", len(got), want)
					}
					e.do("GET", "/clients", e.apiToken(fresh, "read"), nil).want(t, 200, "")
				}
				// Another account's token goes on.
				e.do("GET", "/clients", bobToken, nil).want(t, 200, "")
			})
		})
	}
}

// TestAPITokenCreationLimit: making tokens is limited per account (and per
// address): with the limits on, the 21st in an hour is refused, and no
// token is made for it.
func TestAPITokenCreationLimit(t *testing.T) {
	e := newEnv(t, storeSQLite(t), withRateLimits())
	_, ada := e.developer("ada@example.com")
	for range 20 {
		e.apiToken(ada, "read")
	}
	r := e.do("POST", "/tokens", ada, map[string]any{"name": "one more", "scope": "read"})
	if r.status != 429 || r.body["errors"] != "too many requests, please try again later." {
		t.Fatalf("the 21st token: got %d %s, want 429", r.status, r.raw)
	}
	if n := len(e.do("GET", "/tokens", ada, nil).want(t, 200, "").list("tokens")); n != 20 {
		t.Fatalf("%d tokens, want 20", n)
	}
	e.clock.Add(time.Hour)
	e.apiToken(e.login("ada@example.com"), "read")
}

// TestAPITokensOnEveryReplica: two servers sharing PostgreSQL; a token made
// through one works on the other, and is refused by the other from its very
// next request once revoked or expired: nothing is kept in memory.
func TestAPITokensOnEveryReplica(t *testing.T) {
	url := storetest.PostgresURL(t)
	open := func() *env {
		s, err := postgres.Open(context.Background(), url, sqlstore.Options{Migrate: true, MaxConns: storetest.PostgresPool})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return newEnv(t, s)
	}
	a, b := open(), open()
	_, ada := a.developer("ada@example.com")
	revoked := a.do("POST", "/tokens", ada, map[string]any{"name": "billing", "scope": "write"}).want(t, 201, "")
	expiring := a.do("POST", "/tokens", ada, map[string]any{"name": "ci", "scope": "read",
		"expiresAt": a.clock.Now().Add(time.Hour).Format(time.RFC3339)}).want(t, 201, "").str("token")

	b.do("POST", "/clients", revoked.str("token"), map[string]any{"name": "Acme", "email": "acme@example.com"}).want(t, 201, "")
	b.do("GET", "/clients", expiring, nil).want(t, 200, "")

	a.do("DELETE", "/tokens/"+revoked.obj("apiToken")["_id"].(string), ada, nil).want(t, 200, "Token revoked")
	b.do("GET", "/clients", revoked.str("token"), nil).want(t, 401, "Unauthorized")

	b.clock.Add(time.Hour)
	b.do("GET", "/clients", expiring, nil).want(t, 401, "Unauthorized")
}

// TestAPITokenHashAtRest: whoever copies the database finds no usable
// token: not the secret, nor the part of it after the prefix that the list
// shows, in any file of a SQLite database or any row of any table on
// PostgreSQL. The hash that is stored instead is found, so the search does
// look where the tokens are.
func TestAPITokenHashAtRest(t *testing.T) {
	issue := func(t *testing.T, e *env) (secret, hash string) {
		_, ada := e.developer("ada@example.com")
		secret = e.apiToken(ada, "write")
		e.do("GET", "/clients", secret, nil).want(t, 200, "")
		hash = sha256Hex(secret)
		return secret, hash
	}
	t.Run("sqlite", func(t *testing.T) {
		dir := t.TempDir()
		s, err := sqlite.Open(context.Background(), filepath.Join(dir, "keybox.db"), sqlstore.Options{Migrate: true})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		secret, hash := issue(t, newEnv(t, s))
		files, _ := filepath.Glob(filepath.Join(dir, "keybox.db*")) // the database, its log and index
		var all []byte
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			all = append(all, b...)
		}
		checkNoSecret(t, all, secret, hash)
	})
	t.Run("postgres", func(t *testing.T) {
		url := storetest.PostgresURL(t)
		s, err := postgres.Open(context.Background(), url, sqlstore.Options{Migrate: true, MaxConns: storetest.PostgresPool})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		secret, hash := issue(t, newEnv(t, s))
		db, err := sql.Open("pgx", url)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		rows, err := db.Query(`SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()`)
		if err != nil {
			t.Fatal(err)
		}
		var tables []string
		for rows.Next() {
			var name string
			if err := rows.Scan(&name); err != nil {
				t.Fatal(err)
			}
			tables = append(tables, name)
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		var all bytes.Buffer
		for _, table := range tables {
			rows, err := db.Query(`SELECT t::text FROM "` + table + `" t`)
			if err != nil {
				t.Fatal(err)
			}
			for rows.Next() {
				var text string
				if err := rows.Scan(&text); err != nil {
					t.Fatal(err)
				}
				all.WriteString(text)
			}
			if err := rows.Close(); err != nil {
				t.Fatal(err)
			}
		}
		checkNoSecret(t, all.Bytes(), secret, hash)
	})
}

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

func checkNoSecret(t *testing.T, stored []byte, secret, hash string) {
	t.Helper()
	if !bytes.Contains(stored, []byte(hash)) {
		t.Fatalf("the token's hash is not in the database: the search looks in the wrong place")
	}
	for _, part := range []string{secret, secret[12:], secret[20:40]} {
		if bytes.Contains(stored, []byte(part)) {
			t.Fatalf("the database holds the secret (%q found)", part)
		}
	}
}

// TestAPITokenInAccessLog: each request made with an API token is logged
// with the token's id, refusals of its scope included, so that what a
// stolen token did can be traced; the secret never appears in the log.
func TestAPITokenInAccessLog(t *testing.T) {
	var buf bytes.Buffer
	var mu sync.Mutex
	logger := slog.New(slog.NewJSONHandler(lockedWriter{&mu, &buf}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	e := newEnv(t, storeSQLite(t), func(o *servertest.Options) { o.Logger = logger })
	_, ada := e.developer("ada@example.com")
	r := e.do("POST", "/tokens", ada, map[string]any{"name": "ci", "scope": "read"}).want(t, 201, "")
	secret, id := r.str("token"), r.obj("apiToken")["_id"].(string)
	e.do("GET", "/clients", secret, nil).want(t, 200, "")
	e.do("POST", "/clients", secret, map[string]any{"name": "Acme", "email": "acme@example.com"}).want(t, 403, "")
	e.do("GET", "/clients", secret+"x", nil).want(t, 401, "")

	mu.Lock()
	defer mu.Unlock()
	logs := buf.String()
	if strings.Contains(logs, secret[4:]) {
		t.Fatalf("the log holds the secret:\n%s", logs)
	}
	var named []string
	for _, line := range strings.Split(logs, "\n") {
		if strings.Contains(line, `"apiTokenId":"`+id+`"`) {
			named = append(named, line)
		}
	}
	if len(named) != 2 || !strings.Contains(named[0], `"status":200`) || !strings.Contains(named[1], `"status":403`) {
		t.Fatalf("lines naming the token: %q, want the 200 and the 403", named)
	}
}
