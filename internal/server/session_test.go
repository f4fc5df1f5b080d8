package server_test

import (
	"context"
	"testing"
	"time"

	"github.com/keyboxhq/keybox/internal/postgres"
	"github.com/keyboxhq/keybox/internal/sqlstore"
	"github.com/keyboxhq/keybox/internal/storetest"
)

// TestTokensEndWithTheSession: a password change, a role change, logging
// out everywhere and deleting the account each refuse every token issued
// before, while a token issued after works. The test clock does not move:
// the old token, the change and the new token share the same instant, the
// case a check on the token's issue time in whole seconds gets wrong.
func TestTokensEndWithTheSession(t *testing.T) {
	const pw = "correct horse"
	cases := []struct {
		name string
		// end ends ada's sessions, as herself or as the ADMIN, and returns
		// a token issued after the change ("" when there can be none).
		end func(t *testing.T, e *env, adaID, ada, admin string) string
	}{
		{"password change", func(t *testing.T, e *env, _, ada, _ string) string {
			r := e.do("PATCH", "/auth/password", ada, map[string]any{"currentPassword": pw, "password": "new password", "confirm_password": "new password"}).
				want(t, 200, "Password updated successfully")
			if r.str("token") == "" {
				t.Fatalf("no fresh token in %s", r.raw)
			}
			e.do("GET", "/auth/me", r.str("token"), nil).want(t, 200, "")
			return e.do("POST", "/auth/login", "", map[string]any{"email": "ada@example.com", "password": "new password"}).want(t, 200, "").str("token")
		}},
		{"role change", func(t *testing.T, e *env, adaID, _, admin string) string {
			e.do("PATCH", "/auth/users/"+adaID, admin, map[string]any{"role": "ADMIN"}).want(t, 200, "User updated successfully")
			return e.login("ada@example.com")
		}},
		{"logout everywhere", func(t *testing.T, e *env, _, ada, _ string) string {
			e.do("POST", "/auth/logout-all", ada, nil).want(t, 200, "Logged out everywhere")
			return e.login("ada@example.com")
		}},
		{"deletion", func(t *testing.T, e *env, adaID, _, admin string) string {
			e.do("DELETE", "/auth/users/"+adaID, admin, nil).want(t, 200, "User deleted successfully")
			e.do("POST", "/auth/login", "", map[string]any{"email": "ada@example.com", "password": pw}).want(t, 401, "Invalid credentials")
			return ""
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			eachEngine(t, func(t *testing.T, e *env) {
				_, admin := e.developer("admin@example.com")
				adaID, ada := e.developer("ada@example.com")
				other := e.login("ada@example.com") // a second session, on another device
				_, bob := e.developer("bob@example.com")
				e.do("GET", "/auth/me", ada, nil).want(t, 200, "")

				fresh := tc.end(t, e, adaID, ada, admin)

				for _, old := range []string{ada, other} {
					e.do("GET", "/auth/me", old, nil).want(t, 401, "Unauthorized")
					e.do("POST", "/auth/refresh", old, nil).want(t, 401, "Unauthorized")
					e.do("GET", "/clients", old, nil).want(t, 401, "Unauthorized")
				}
				if fresh != "" {
					if got := e.do("GET", "/auth/me", fresh, nil).want(t, 200, "").obj("user")["_id"]; got != adaID {
						t.Fatalf("the new token is %v's, want %s's", got, adaID)
					}
				}
				// Another account's sessions go on.
				e.do("GET", "/auth/me", bob, nil).want(t, 200, "")
				e.do("GET", "/auth/me", admin, nil).want(t, 200, "")
			})
		})
	}
}

// TestEditsKeepSessions: a change of name or email is not a reason to log out.
func TestEditsKeepSessions(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		id, token := e.developer("ada@example.com")
		e.do("PATCH", "/auth/users/"+id, token, map[string]any{"name": "Ada L.", "email": "ada.l@example.com"}).want(t, 200, "")
		e.do("PATCH", "/auth/users/"+id, token, map[string]any{"role": "ADMIN"}).want(t, 200, "") // already ADMIN: no change
		e.do("GET", "/auth/me", token, nil).want(t, 200, "")
	})
}

// TestRefresh: a valid token gets a fresh one, which lives its own full
// lifetime; an invalid or expired token gets nothing.
func TestRefresh(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		_, token := e.developer("ada@example.com")
		e.clock.Add(20 * time.Minute)
		fresh := e.do("POST", "/auth/refresh", token, nil).want(t, 200, "").str("token")
		if fresh == "" || fresh == token {
			t.Fatalf("refresh answered token %q", fresh)
		}
		e.do("GET", "/auth/me", fresh, nil).want(t, 200, "")

		// Past the first token's expiry, the refreshed one still works;
		// the first one is refused, refresh included.
		e.clock.Add(15 * time.Minute)
		e.do("GET", "/auth/me", token, nil).want(t, 401, "Unauthorized")
		e.do("POST", "/auth/refresh", token, nil).want(t, 401, "Unauthorized")
		e.do("GET", "/auth/me", fresh, nil).want(t, 200, "")

		// An idle session ends: nothing refreshes a token once it has expired.
		e.clock.Add(16 * time.Minute)
		e.do("POST", "/auth/refresh", fresh, nil).want(t, 401, "Unauthorized")

		e.do("POST", "/auth/refresh", "", nil).want(t, 401, "No token provided")
		e.do("POST", "/auth/refresh", "not.a.jwt", nil).want(t, 401, "Unauthorized")
	})
}

// TestDeleteUser: ADMIN only, never the last ADMIN, and an account that
// owns clients only with ?cascade=true, which takes its licenses with it.
func TestDeleteUser(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		adminID, admin := e.developer("admin@example.com")
		bobToken, bobKey := e.newKey("bob@example.com")
		bobID := e.do("GET", "/auth/me", bobToken, nil).obj("user")["_id"].(string)
		carolID, carol := e.developer("carol@example.com")
		e.do("POST", "/validate/activate", "", map[string]any{"key": bobKey, "machineId": "m"}).want(t, 200, "")

		e.do("DELETE", "/auth/users/"+carolID, bobToken, nil).want(t, 403, "Forbidden")
		e.do("DELETE", "/auth/users/"+bobID, bobToken, nil).want(t, 403, "Forbidden")
		e.do("DELETE", "/auth/users/000000000000000000000000", admin, nil).want(t, 404, "User not found")
		e.do("DELETE", "/auth/users/not-an-id", admin, nil).want(t, 404, "User not found")
		e.do("DELETE", "/auth/users/"+adminID, admin, nil).want(t, 409, "An installation needs at least one ADMIN")
		e.do("DELETE", "/auth/users/"+bobID, admin, nil).want(t, 409, "User has clients; delete them first or pass ?cascade=true")
		e.do("GET", "/auth/me", bobToken, nil).want(t, 200, "")
		e.do("POST", "/validate", "", map[string]any{"key": bobKey, "machineId": "m"}).want(t, 200, "")

		e.do("DELETE", "/auth/users/"+bobID+"?cascade=true", admin, nil).want(t, 200, "User deleted successfully")
		e.do("GET", "/auth/me", bobToken, nil).want(t, 401, "Unauthorized")
		if r := e.do("POST", "/validate", "", map[string]any{"key": bobKey, "machineId": "m"}).want(t, 200, ""); r.str("status") != "invalid" {
			t.Fatalf("the deleted account's key still validates: %s", r.raw)
		}
		e.do("DELETE", "/auth/users/"+carolID, admin, nil).want(t, 200, "User deleted successfully")
		e.do("GET", "/auth/me", carol, nil).want(t, 401, "Unauthorized")
		if users := e.do("GET", "/auth/users", admin, nil).want(t, 200, "").list("users"); len(users) != 1 {
			t.Fatalf("got %d users, want 1", len(users))
		}
		// The address is free again.
		e.signup("Bob again", "bob@example.com")

		// With another ADMIN, an ADMIN may go, even themselves.
		newID, _ := e.developer("dora@example.com")
		e.do("PATCH", "/auth/users/"+newID, admin, map[string]any{"role": "ADMIN"}).want(t, 200, "")
		e.do("DELETE", "/auth/users/"+adminID, admin, nil).want(t, 200, "User deleted successfully")
		e.do("GET", "/auth/me", admin, nil).want(t, 401, "Unauthorized")
	})
}

// TestSessionsEndOnEveryReplica: two servers sharing PostgreSQL; a password
// change or a logout everywhere through one is refused by the other from
// its very next request, with no message passing between them.
func TestSessionsEndOnEveryReplica(t *testing.T) {
	url := storetest.PostgresURL(t)
	open := func() *env {
		s, err := postgres.Open(context.Background(), url, sqlstore.Options{Migrate: true})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return newEnv(t, s)
	}
	a, b := open(), open()
	_, token := a.developer("ada@example.com")
	b.do("GET", "/auth/me", token, nil).want(t, 200, "")

	fresh := a.do("PATCH", "/auth/password", token, map[string]any{"currentPassword": "correct horse", "password": "new password", "confirm_password": "new password"}).
		want(t, 200, "").str("token")
	b.do("GET", "/auth/me", token, nil).want(t, 401, "Unauthorized")
	b.do("GET", "/auth/me", fresh, nil).want(t, 200, "")

	b.do("POST", "/auth/logout-all", fresh, nil).want(t, 200, "Logged out everywhere")
	a.do("GET", "/auth/me", fresh, nil).want(t, 401, "Unauthorized")
}
