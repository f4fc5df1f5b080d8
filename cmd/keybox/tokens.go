package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/keyboxhq/keybox"
	"github.com/keyboxhq/keybox/client"
)

// tokenCommands are keybox tokens …: API tokens for scripts and
// integrations (/tokens). Making, listing and revoking them needs a login:
// no API token manages tokens.
var tokenCommands = []command{
	{name: "create", help: "Make an API token for a script or an integration: --name and --scope read or write.\n" +
		"The secret is printed once, alone on standard output (TOKEN=$(keybox tokens create …)),\n" +
		"and never shown again: give it to the script as KEYBOX_TOKEN. A read token calls what\n" +
		"changes nothing; a write token also changes clients, projects and licenses; neither\n" +
		"manages accounts or tokens. A password change or keybox logout-all revokes every token.",
		setup: func(fs *flag.FlagSet) func(context.Context, *session, []string) error {
			name := fs.String("name", "", "what the token is for (billing, ci)")
			scope := fs.String("scope", "", "read or write")
			expires := fs.String("expires", "", "when it stops working: a duration from now (720h, 90d) or a date (2027-01-31, or RFC 3339); never when empty")
			return func(ctx context.Context, s *session, _ []string) error {
				in := client.TokenInput{Name: *name, Scope: keybox.Scope(*scope)}
				if *expires != "" {
					t, err := parseExpiry(*expires, time.Now())
					if err != nil {
						return usageError("tokens create: --expires " + err.Error())
					}
					in.ExpiresAt = t
				}
				made, err := s.api.CreateToken(ctx, in)
				if err != nil {
					return err
				}
				if s.json {
					return s.emit(made, nil)
				}
				fmt.Fprintln(s.stdout, made.Token)
				t := made.APIToken
				fmt.Fprintf(s.stderr, "API token %s %q (%s, expires %s): the secret above is shown this once; keep it now.\n",
					t.ID, t.Name, t.Scope, never(t.ExpiresAt))
				return nil
			}
		}},
	{name: "list", help: "List your API tokens, newest first, with when each was last used (to the minute);\n" +
		"never their secrets. Revoke any you do not recognise.",
		setup: func(*flag.FlagSet) func(context.Context, *session, []string) error {
			return func(ctx context.Context, s *session, _ []string) error {
				list, err := s.api.Tokens(ctx)
				if err != nil {
					return err
				}
				return s.emit(map[string]any{"tokens": list}, func(w io.Writer) {
					row(w, "ID", "NAME", "SCOPE", "PREFIX", "CREATED", "EXPIRES", "LAST USED")
					for _, t := range list {
						row(w, t.ID, t.Name, string(t.Scope), t.Prefix+"…", when(t.CreatedAt), never(t.ExpiresAt), never(t.LastUsedAt))
					}
				})
			}
		}},
	{name: "revoke", args: "ID", help: "Revoke one of your API tokens: every server refuses it from its next request.",
		setup: func(*flag.FlagSet) func(context.Context, *session, []string) error {
			return func(ctx context.Context, s *session, args []string) error {
				if err := s.api.RevokeToken(ctx, args[0]); err != nil {
					return err
				}
				return s.say("Token revoked")
			}
		}},
}

// parseExpiry reads --expires: a duration from now (Go's, such as 720h, or
// whole days, 90d), a date (its start, UTC) or an RFC 3339 time.
func parseExpiry(s string, now time.Time) (time.Time, error) {
	if days, ok := strings.CutSuffix(s, "d"); ok {
		if n, err := strconv.Atoi(days); err == nil && n > 0 {
			return now.AddDate(0, 0, n), nil
		}
	}
	if d, err := time.ParseDuration(s); err == nil {
		if d <= 0 {
			return time.Time{}, fmt.Errorf("%q: a duration must be positive", s)
		}
		return now.Add(d), nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("%q: use a duration (720h, 90d), a date (2027-01-31) or an RFC 3339 time", s)
}

// never shows a time, or "never" for none.
func never(t keybox.Time) string {
	if t.IsZero() {
		return "never"
	}
	return when(t)
}
