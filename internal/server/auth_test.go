package server_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

func TestSignup(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		ok := map[string]any{"name": "Ada", "email": "Ada@Example.com ", "password": "password1", "confirm_password": "password1"}
		with := func(k string, v any) map[string]any { return changed(ok, map[string]any{k: v}) }
		// POST /auth/signup: each rule in the order it is checked.
		cases := []struct {
			name   string
			body   any
			status int
			msg    string
		}{
			{"missing name", with("name", nil), 400, "All fields are required"},
			{"empty email", with("email", ""), 400, "All fields are required"},
			{"blank name", with("name", "   "), 400, "All fields are required"},
			{"missing confirmation", with("confirm_password", nil), 400, "All fields are required"},
			{"empty body", "", 400, "All fields are required"},
			{"passwords differ before length", map[string]any{"name": "A", "email": "bad", "password": "short", "confirm_password": "other"}, 400, "Passwords do not match"},
			{"short password before email", map[string]any{"name": "A", "email": "bad", "password": "short", "confirm_password": "short"}, 400, "Password must be at least 8 characters long"},
			{"invalid email", with("email", "ada@"), 400, "Please enter a valid email address"},
			{"invalid email no domain dot", with("email", "ada@localhost"), 400, "Please enter a valid email address"},
			{"success", ok, 201, "Signup successful"},
			{"duplicate email, other case", with("email", "ADA@example.COM"), 400, "Email already registered"},
		}
		for _, tc := range cases {
			r := e.do("POST", "/auth/signup", "", tc.body)
			if r.status != tc.status || r.body["message"] != tc.msg {
				t.Errorf("%s: got %d %s, want %d %q", tc.name, r.status, r.raw, tc.status, tc.msg)
			}
		}
		// The first account is the ADMIN, the next a DEVELOPER; emails are stored trimmed and lower-cased.
		adminToken := e.do("POST", "/auth/login", "", map[string]string{"email": "ada@example.com", "password": "password1"}).
			want(t, 200, "Login successful").str("token")
		me := e.do("GET", "/auth/me", adminToken, nil).want(t, 200, "")
		user := me.body["user"].(map[string]any)
		if user["role"] != "ADMIN" || user["email"] != "ada@example.com" {
			t.Fatalf("first user: got %v, want ADMIN with ada@example.com", user)
		}
		if _, leaked := user["password"]; leaked || strings.Contains(string(me.raw), "$2a$") {
			t.Fatalf("/auth/me leaks the password hash: %s", me.raw)
		}
		_, devToken := e.developer("bob@example.com")
		if role := e.do("GET", "/auth/me", devToken, nil).body["user"].(map[string]any)["role"]; role != "DEVELOPER" {
			t.Fatalf("second user: got role %v, want DEVELOPER", role)
		}
	})
}

func TestSignupClosed(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		e.do("POST", "/auth/signup", "", map[string]any{"name": "A", "email": "a@example.com", "password": "password1", "confirm_password": "password1"}).
			want(t, 403, "Signup is disabled")
		if n, _ := e.store.CountUsers(t.Context()); n != 0 {
			t.Fatalf("got %d users, want 0", n)
		}
	}, signupClosed())
}

func TestLogin(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		id := e.signup("Ada", "ada@example.com")
		cases := []struct {
			name   string
			body   any
			status int
			msg    string
		}{
			{"missing password", map[string]any{"email": "ada@example.com"}, 400, "Email and password are required"},
			{"missing email", map[string]any{"password": "x"}, 400, "Email and password are required"},
			{"unknown email", map[string]any{"email": "nobody@example.com", "password": "correct horse"}, 401, "Invalid credentials"},
			{"wrong password", map[string]any{"email": "ada@example.com", "password": "wrong horse"}, 401, "Invalid credentials"},
		}
		var failures []string
		for _, tc := range cases {
			r := e.do("POST", "/auth/login", "", tc.body)
			if r.status != tc.status || r.body["message"] != tc.msg {
				t.Errorf("%s: got %d %s, want %d %q", tc.name, r.status, r.raw, tc.status, tc.msg)
			}
			if tc.status == 401 {
				failures = append(failures, string(r.raw))
			}
		}
		if failures[0] != failures[1] {
			t.Errorf("unknown email and wrong password answer differently: %s vs %s", failures[0], failures[1])
		}
		r := e.do("POST", "/auth/login", "", map[string]any{"email": " ADA@example.com", "password": "correct horse"}).want(t, 200, "Login successful")
		if r.str("userId") != id || r.str("role") != "ADMIN" || r.str("token") == "" {
			t.Fatalf("login answer: %s", r.raw)
		}
		claims := jwt.MapClaims{}
		if _, _, err := jwt.NewParser().ParseUnverified(r.str("token"), claims); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"userId", "email", "role", "iat", "exp"} {
			if _, ok := claims[k]; !ok {
				t.Errorf("token lacks claim %q: %v", k, claims)
			}
		}
		if life := claims["exp"].(float64) - claims["iat"].(float64); life != 1800 {
			t.Errorf("token lifetime %v s, want 1800", life)
		}
	})
}

// forge builds a JWT with any header and claims, signed with secret (or unsigned).
func forge(t *testing.T, header, claims map[string]any, secret string) string {
	t.Helper()
	enc := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return base64.RawURLEncoding.EncodeToString(b)
	}
	unsigned := enc(header) + "." + enc(claims)
	if secret == "" {
		return unsigned + "."
	}
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(unsigned))
	return unsigned + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func TestAuthMiddleware(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		id, token := e.developer("ada@example.com")
		now := e.clock.Now().Unix()
		claims := map[string]any{"userId": id, "email": "ada@example.com", "role": "ADMIN", "iat": now, "exp": now + 1800}
		hs256 := map[string]any{"alg": "HS256", "typ": "JWT"}
		parts := strings.Split(token, ".")
		tampered := parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(`{"userId":"`+id+`","role":"ADMIN","exp":9999999999,"iat":1}`)) + "." + parts[2]
		cases := []struct {
			name   string
			header []string // nil: no Authorization header
			msg    string
		}{
			{"no header", nil, "No token provided"},
			{"scheme only", []string{"Bearer"}, "Invalid token format"},
			{"scheme and space", []string{"Bearer "}, "Invalid token format"},
			{"another scheme", []string{"Basic " + token}, "Invalid token format"},
			{"garbage", []string{"Bearer not.a.jwt"}, "Unauthorized"},
			{"alg none", []string{"Bearer " + forge(t, map[string]any{"alg": "none", "typ": "JWT"}, claims, "")}, "Unauthorized"},
			{"HS512", []string{"Bearer " + forge(t, map[string]any{"alg": "HS512", "typ": "JWT"}, claims, testSecret)}, "Unauthorized"},
			{"tampered payload", []string{"Bearer " + tampered}, "Unauthorized"},
			{"other secret", []string{"Bearer " + forge(t, hs256, claims, "another-secret-another-secret-another")}, "Unauthorized"},
			{"no expiry", []string{"Bearer " + forge(t, hs256, map[string]any{"userId": id, "iat": now}, testSecret)}, "Unauthorized"},
			{"user no longer exists", []string{"Bearer " + forge(t, hs256, map[string]any{"userId": "000000000000000000000000", "iat": now, "exp": now + 60}, testSecret)}, "Unauthorized"},
		}
		for _, tc := range cases {
			r := e.doHeader("GET", "/auth/me", tc.header)
			if r.status != 401 || r.body["message"] != tc.msg {
				t.Errorf("%s: got %d %s, want 401 %q", tc.name, r.status, r.raw, tc.msg)
			}
		}
		// A correctly forged token (our own secret) works: the forge is sound.
		e.doHeader("GET", "/auth/me", []string{"Bearer " + forge(t, hs256, claims, testSecret)}).want(t, 200, "")
		e.do("GET", "/auth/me", token, nil).want(t, 200, "")
		// Thirty minutes later the token has expired.
		e.clock.Add(30*time.Minute + time.Second)
		e.do("GET", "/auth/me", token, nil).want(t, 401, "Unauthorized")
	})
}

func TestUsersAdministration(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		adminID, admin := e.developer("admin@example.com")
		bobID, bob := e.developer("bob@example.com")
		carolID, _ := e.developer("carol@example.com")

		e.do("GET", "/auth/users", bob, nil).want(t, 403, "Forbidden")
		r := e.do("GET", "/auth/users", admin, nil).want(t, 200, "")
		if users := r.body["users"].([]any); len(users) != 3 {
			t.Fatalf("got %d users, want 3", len(users))
		}
		if strings.Contains(string(r.raw), "$2a$") {
			t.Fatal("user list leaks password hashes")
		}

		// Self: name and email, not role.
		r = e.do("PATCH", "/auth/users/"+bobID, bob, map[string]any{"name": "Robert"}).want(t, 200, "User updated successfully")
		if r.body["user"].(map[string]any)["name"] != "Robert" {
			t.Fatalf("name not changed: %s", r.raw)
		}
		e.do("PATCH", "/auth/users/"+bobID, bob, map[string]any{"role": "ADMIN"}).want(t, 403, "Forbidden")
		// Another developer's account looks missing.
		e.do("PATCH", "/auth/users/"+carolID, bob, map[string]any{"name": "Mallory"}).want(t, 404, "User not found")
		e.do("PATCH", "/auth/users/not-an-id", admin, map[string]any{"name": "x"}).want(t, 404, "User not found")
		e.do("PATCH", "/auth/users/"+bobID, bob, map[string]any{"email": "carol@example.com"}).want(t, 400, "Email already registered")
		e.do("PATCH", "/auth/users/"+bobID, bob, map[string]any{"email": "nope"}).want(t, 400, "Please enter a valid email address")
		e.do("PATCH", "/auth/users/"+bobID, admin, map[string]any{"role": "ROOT"}).want(t, 400, "Invalid role")

		// ADMIN: anyone, roles included; but never the last ADMIN away.
		e.do("PATCH", "/auth/users/"+adminID, admin, map[string]any{"role": "DEVELOPER"}).want(t, 409, "")
		r = e.do("PATCH", "/auth/users/"+bobID, admin, map[string]any{"role": "ADMIN"}).want(t, 200, "User updated successfully")
		if r.body["user"].(map[string]any)["role"] != "ADMIN" {
			t.Fatalf("role not changed: %s", r.raw)
		}
		// A change of role ends the account's tokens: log in again for the new one.
		e.do("GET", "/auth/users", bob, nil).want(t, 401, "Unauthorized")
		bob = e.login("bob@example.com")
		e.do("GET", "/auth/users", bob, nil).want(t, 200, "")
		e.do("PATCH", "/auth/users/"+adminID, admin, map[string]any{"role": "DEVELOPER"}).want(t, 200, "User updated successfully")
		e.do("GET", "/auth/users", admin, nil).want(t, 401, "Unauthorized")
		admin = e.login("admin@example.com")
		e.do("GET", "/auth/users", admin, nil).want(t, 403, "Forbidden")
	})
}

func TestChangePassword(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		_, token := e.developer("ada@example.com")
		e.do("PATCH", "/auth/password", token, map[string]any{"currentPassword": "wrong", "password": "new password", "confirm_password": "new password"}).
			want(t, 400, "Current password is incorrect")
		e.do("PATCH", "/auth/password", token, map[string]any{"currentPassword": "correct horse", "password": "new password", "confirm_password": "other"}).
			want(t, 400, "Passwords do not match")
		e.do("PATCH", "/auth/password", token, map[string]any{"currentPassword": "correct horse", "password": "short", "confirm_password": "short"}).
			want(t, 400, "Password must be at least 8 characters long")
		e.do("PATCH", "/auth/password", token, map[string]any{"currentPassword": "correct horse", "password": "new password", "confirm_password": "new password"}).
			want(t, 200, "Password updated successfully")
		e.do("POST", "/auth/login", "", map[string]any{"email": "ada@example.com", "password": "correct horse"}).want(t, 401, "Invalid credentials")
		e.do("POST", "/auth/login", "", map[string]any{"email": "ada@example.com", "password": "new password"}).want(t, 200, "Login successful")
	})
}

func TestConcurrentSignupsSameEmail(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		const n = 50
		statuses := make([]int, n)
		messages := make([]any, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := e.do("POST", "/auth/signup", "", map[string]any{"name": "Twin", "email": "twin@example.com", "password": "password1", "confirm_password": "password1"})
				statuses[i], messages[i] = r.status, r.body["message"]
			}()
		}
		wg.Wait()
		created := 0
		for i, s := range statuses {
			switch {
			case s == 201:
				created++
			case s == 400 && messages[i] == "Email already registered":
			default:
				t.Errorf("signup %d: got %d %v", i, s, messages[i])
			}
		}
		if created != 1 {
			t.Fatalf("got %d successful signups, want exactly 1", created)
		}
		users, err := e.store.Users(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if len(users) != 1 || users[0].Role != "ADMIN" {
			t.Fatalf("got users %v, want one ADMIN", users)
		}
	})
}
