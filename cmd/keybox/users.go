package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/keyboxhq/keybox"
	"github.com/keyboxhq/keybox/client"
	"github.com/keyboxhq/keybox/internal/licensing"
)

// userCommands are keybox users …: accounts through the API (/auth/…), and
// "create", which works on the database itself to bootstrap an
// installation whose signup is closed.
var userCommands = []command{
	{name: "list", help: "List every account (ADMIN only).",
		setup: func(*flag.FlagSet) func(context.Context, *session, []string) error {
			return func(ctx context.Context, s *session, _ []string) error {
				users, err := s.api.Users(ctx)
				if err != nil {
					return err
				}
				return s.emit(map[string]any{"users": users}, func(w io.Writer) {
					row(w, "ID", "NAME", "EMAIL", "ROLE", "CREATED")
					for _, u := range users {
						row(w, u.ID, u.Name, u.Email, string(u.Role), when(u.CreatedAt))
					}
				})
			}
		}},
	{name: "get", args: "ID", help: "Show an account and how many licenses it owns (yours, or any as ADMIN).",
		setup: func(*flag.FlagSet) func(context.Context, *session, []string) error {
			return func(ctx context.Context, s *session, args []string) error {
				ul, err := s.api.UserLicenses(ctx, args[0])
				if err != nil {
					return err
				}
				return s.emit(ul, func(w io.Writer) {
					userFields(w, ul.User)
					fields(w, "licenses", fmt.Sprint(ul.LicenseCount))
				})
			}
		}},
	{name: "update", args: "ID", help: "Change an account's --name, --email or (ADMIN only) --role.",
		setup: func(fs *flag.FlagSet) func(context.Context, *session, []string) error {
			var name, email, role stringFlag
			fs.Var(&name, "name", "new name")
			fs.Var(&email, "email", "new email")
			fs.Var(&role, "role", "ADMIN or DEVELOPER")
			return func(ctx context.Context, s *session, args []string) error {
				in := client.UserUpdate{Name: name.ptr(), Email: email.ptr()}
				if role.set {
					r := keybox.Role(strings.ToUpper(role.value))
					in.Role = &r
				}
				if in.Name == nil && in.Email == nil && in.Role == nil {
					return usageError("users update: give --name, --email or --role")
				}
				u, err := s.api.UpdateUser(ctx, args[0], in)
				if err != nil {
					return err
				}
				return s.emit(u, func(w io.Writer) { userFields(w, u) })
			}
		}},
	{name: "delete", args: "ID", help: "Delete an account (ADMIN only; never the last ADMIN). An account that owns\n" +
		"clients is kept unless --cascade, which deletes its clients, projects, licenses and\n" +
		"activations too. Its login tokens end at once.",
		setup: func(fs *flag.FlagSet) func(context.Context, *session, []string) error {
			cascade := fs.Bool("cascade", false, "also delete the account's clients, projects, licenses and activations")
			return func(ctx context.Context, s *session, args []string) error {
				if err := s.api.DeleteUser(ctx, args[0], *cascade); err != nil {
					return err
				}
				return s.say("User deleted successfully")
			}
		}},
	{name: "create", offline: true,
		help: "Create an account directly in the database (KEYBOX_DATABASE_URL), even with signup\n" +
			"closed: how an installation gets its first ADMIN. Without --admin the signup rule\n" +
			"applies (the first account is the ADMIN). The password comes from the terminal,\n" +
			"from standard input with --password-stdin, or from KEYBOX_PASSWORD.",
		setup: func(fs *flag.FlagSet) func(context.Context, *session, []string) error {
			name := fs.String("name", "", "account name")
			email := fs.String("email", "", "account email")
			admin := fs.Bool("admin", false, "make the account an ADMIN")
			stdin := fs.Bool("password-stdin", false, "read the password from standard input")
			dbURL := fs.String("database-url", "", "sqlite://PATH or postgres://… (KEYBOX_DATABASE_URL)")
			return func(ctx context.Context, s *session, _ []string) error {
				if strings.TrimSpace(*name) == "" || strings.TrimSpace(*email) == "" {
					return usageError("user create: --name and --email are required")
				}
				pw, err := (&secrets{c: s.cli, fromStdin: *stdin}).read("Password: ", "KEYBOX_PASSWORD")
				if err != nil {
					return err
				}
				role := keybox.Role("")
				if *admin {
					role = keybox.RoleAdmin
				}
				u, err := createUser(ctx, s.databaseURL(*dbURL), *name, *email, pw, role)
				if err != nil {
					return err
				}
				return s.emit(u, func(w io.Writer) {
					fmt.Fprintf(w, "Created %s account %s.\n", u.Role, u.Email)
					userFields(w, u)
				})
			}
		}},
}

// databaseURL is the flag, else KEYBOX_DATABASE_URL, else the embedded default.
func (c cli) databaseURL(flagValue string) string {
	return firstOf(strings.TrimSpace(flagValue), strings.TrimSpace(c.getenv("KEYBOX_DATABASE_URL")), defaultDatabaseURL)
}

// createUser creates the account through the licensing rules on the
// database itself, the same as signup but without the API.
func createUser(ctx context.Context, dbURL, name, email, password string, role keybox.Role) (keybox.User, error) {
	svc, closeDB, err := offlineService(ctx, dbURL, nil)
	if err != nil {
		return keybox.User{}, err
	}
	defer closeDB()
	ctx = licensing.WithOrigin(ctx, cliOrigin)
	return svc.CreateUser(ctx, licensing.SignupInput{
		Name: licensing.Str(name), Email: licensing.Str(email),
		Password: licensing.Str(password), ConfirmPassword: licensing.Str(password),
	}, role)
}

func userFields(w io.Writer, u keybox.User) {
	fields(w, "id", u.ID, "name", u.Name, "email", u.Email, "role", string(u.Role), "created", when(u.CreatedAt))
}
