package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/keyboxhq/keybox"
	"github.com/keyboxhq/keybox/client"
	"github.com/keyboxhq/keybox/internal/storetest"
)

// TestUserCreateBootstrapsClosedSignup: with signup closed, the operator
// creates the first ADMIN on the database, and that account logs in.
func TestUserCreateBootstrapsClosedSignup(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			dbURL := e.URL(t)
			create := func(stdin string, args ...string) (int, string, string) {
				var stdout, stderr bytes.Buffer
				code := runIO(context.Background(), append([]string{"user", "create"}, args...), cli{
					getenv: envFunc(map[string]string{"KEYBOX_DATABASE_URL": dbURL}),
					stdin:  strings.NewReader(stdin), stdout: &stdout, stderr: &stderr,
				})
				return code, stdout.String(), stderr.String()
			}
			cases := []struct {
				name   string
				args   []string
				code   int
				output string
			}{
				{"the ADMIN", []string{"--admin", "--name", "Root", "--email", "Root@Example.com", "--password-stdin"}, 0, "Created ADMIN account root@example.com."},
				{"a developer", []string{"--name", "Dev", "--email", "dev@example.com", "--password-stdin"}, 0, "Created DEVELOPER account dev@example.com."},
				{"a taken email", []string{"--name", "Again", "--email", "root@example.com", "--password-stdin"}, 1, "keybox: Email already registered\n"},
				{"a short password", []string{"--name", "X", "--email", "x@example.com", "--password-stdin"}, 1, "keybox: Password must be at least 8 characters long\n"},
				{"no name", []string{"--email", "x@example.com", "--password-stdin"}, 2, "keybox: user create: --name and --email are required\n"},
			}
			for _, c := range cases {
				pw := "correct horse\n"
				if c.name == "a short password" {
					pw = "short\n"
				}
				code, stdout, stderr := create(pw, c.args...)
				if code != c.code || !strings.Contains(stdout+stderr, c.output) {
					t.Fatalf("%s: got exit %d, %q %q; want %d and %q", c.name, code, stdout, stderr, c.code, c.output)
				}
			}

			base := startServe(t, map[string]string{"KEYBOX_DATABASE_URL": dbURL, "KEYBOX_SIGNUP": "closed", "KEYBOX_JWT_SECRET": strings.Repeat("j", 32),
				"KEYBOX_SECRET_KEY": strings.Repeat("s", 32)})
			ctx := context.Background()
			api, err := client.New(base, client.Options{})
			if err != nil {
				t.Fatal(err)
			}
			_, err = api.Signup(ctx, client.Signup{Name: "Eve", Email: "eve@example.com", Password: "correct horse"})
			if client.StatusOf(err) != 403 {
				t.Fatalf("signup: got %v, want 403 Signup is disabled", err)
			}
			s, err := api.Login(ctx, "root@example.com", "correct horse")
			if err != nil || s.Role != keybox.RoleAdmin {
				t.Fatalf("login: got %+v, %v; want an ADMIN session", s, err)
			}
			if users, err := api.Users(ctx); err != nil || len(users) != 2 {
				t.Fatalf("users: got %d, %v; want 2", len(users), err)
			}
		})
	}
}
