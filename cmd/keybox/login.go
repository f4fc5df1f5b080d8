package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/term"
)

// credentials are what keybox login keeps between commands.
type credentials struct {
	Server string `json:"server"`
	Email  string `json:"email"`
	Token  string `json:"token"`
}

// configDir is KEYBOX_CONFIG_DIR, or keybox/ in the user's config directory
// (~/.config/keybox on Linux).
func (c cli) configDir() (string, error) {
	if d := strings.TrimSpace(c.getenv("KEYBOX_CONFIG_DIR")); d != "" {
		return d, nil
	}
	d, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("no config directory to keep the login in (%v); set KEYBOX_CONFIG_DIR", err)
	}
	return filepath.Join(d, "keybox"), nil
}

func (c cli) credentialsPath() (string, error) {
	dir, err := c.configDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "credentials.json"), nil
}

// loadCredentials returns the last login, or nothing when there was none.
func (c cli) loadCredentials() (credentials, error) {
	path, err := c.credentialsPath()
	if err != nil {
		return credentials{}, nil // no login to find; KEYBOX_TOKEN may still do
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return credentials{}, nil
	}
	if err != nil {
		return credentials{}, fmt.Errorf("read login: %w", err)
	}
	var cr credentials
	if err := json.Unmarshal(b, &cr); err != nil {
		return credentials{}, fmt.Errorf("%s is damaged (%v); run keybox login again", path, err)
	}
	return cr, nil
}

// saveCredentials writes the login readable by its owner only (0600), in a
// directory only they can list (0700); the file is replaced whole.
func (c cli) saveCredentials(cr credentials) (string, error) {
	path, err := c.credentialsPath()
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", fmt.Errorf("keep login: %w", err)
	}
	b, err := json.MarshalIndent(cr, "", "  ")
	if err != nil {
		return "", err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".credentials-*")
	if err != nil {
		return "", fmt.Errorf("keep login: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		_ = tmp.Close()
		return "", fmt.Errorf("keep login: %w", err)
	}
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		_ = tmp.Close()
		return "", fmt.Errorf("keep login: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return "", fmt.Errorf("keep login: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return "", fmt.Errorf("keep login: %w", err)
	}
	return path, nil
}

// secrets reads passwords: one per line from standard input with
// --password-stdin, else from an environment variable, else typed at the
// terminal without echo.
type secrets struct {
	c         cli
	fromStdin bool
	lines     *bufio.Reader
}

func (s *secrets) read(prompt, env string) (string, error) {
	if s.fromStdin {
		if s.lines == nil {
			s.lines = bufio.NewReader(s.c.stdin)
		}
		line, err := s.lines.ReadString('\n')
		if err != nil && (!errors.Is(err, io.EOF) || line == "") {
			return "", fmt.Errorf("--password-stdin: no password on standard input")
		}
		return strings.TrimRight(line, "\r\n"), nil
	}
	if v := s.c.getenv(env); v != "" {
		return v, nil
	}
	f, ok := s.c.stdin.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return "", fmt.Errorf("no password: type it at a terminal, pipe it with --password-stdin, or set %s", env)
	}
	fmt.Fprint(s.c.stderr, prompt)
	b, err := term.ReadPassword(int(f.Fd()))
	fmt.Fprintln(s.c.stderr)
	if err != nil {
		return "", fmt.Errorf("read password: %w", err)
	}
	return string(b), nil
}

// promptLine reads a visible answer at the terminal (an email address).
func (c cli) promptLine(prompt string) (string, error) {
	f, ok := c.stdin.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return "", errors.New("no terminal to ask at")
	}
	fmt.Fprint(c.stderr, prompt)
	line, err := bufio.NewReader(f).ReadString('\n')
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(line), nil
}

var loginCommand = []command{{
	help: "Log in to a KeyBox server and keep the token (mode 0600) in your config directory.\n" +
		"The password is read from the terminal, from standard input with --password-stdin,\n" +
		"or from KEYBOX_PASSWORD. Tokens expire (30 minutes by default): log in again then.",
	setup: func(fs *flag.FlagSet) func(context.Context, *session, []string) error {
		email := fs.String("email", "", "account email (KEYBOX_EMAIL)")
		stdin := fs.Bool("password-stdin", false, "read the password from standard input")
		return func(ctx context.Context, s *session, _ []string) error {
			addr := firstOf(*email, strings.TrimSpace(s.getenv("KEYBOX_EMAIL")))
			if addr == "" {
				var err error
				if addr, err = s.promptLine("Email: "); err != nil || addr == "" {
					return usageError("login: --email is required")
				}
			}
			pw, err := (&secrets{c: s.cli, fromStdin: *stdin}).read("Password: ", "KEYBOX_PASSWORD")
			if err != nil {
				return err
			}
			sess, err := s.api.Login(ctx, addr, pw)
			if err != nil {
				return err
			}
			if _, err := s.saveCredentials(credentials{Server: s.server, Email: strings.ToLower(addr), Token: sess.Token}); err != nil {
				return err
			}
			out := map[string]any{"server": s.server, "userId": sess.UserID, "role": sess.Role}
			return s.emit(out, func(w io.Writer) {
				fmt.Fprintf(w, "Logged in to %s as %s (%s).\n", s.server, addr, sess.Role)
			})
		}
	},
}}

var logoutCommand = []command{{
	help:    "Forget the kept login token.",
	offline: true,
	setup: func(*flag.FlagSet) func(context.Context, *session, []string) error {
		return func(ctx context.Context, s *session, _ []string) error {
			if err := s.forgetLogin(); err != nil {
				return err
			}
			return s.say("Logged out.")
		}
	},
}}

var whoamiCommand = []command{{
	help: "Show the logged-in account and how many licenses it owns.",
	setup: func(*flag.FlagSet) func(context.Context, *session, []string) error {
		return func(ctx context.Context, s *session, _ []string) error {
			me, err := s.api.MyLicenses(ctx)
			if err != nil {
				return err
			}
			return s.emit(me, func(w io.Writer) {
				u := me.User
				fields(w, "id", u.ID, "name", u.Name, "email", u.Email, "role", string(u.Role),
					"licenses", fmt.Sprint(me.LicenseCount), "server", s.server)
			})
		}
	},
}}

var passwordCommand = []command{{
	help: "Change your password. With --password-stdin, standard input holds the current\n" +
		"password on the first line and the new one on the second; otherwise they come from\n" +
		"the terminal, or from KEYBOX_PASSWORD and KEYBOX_NEW_PASSWORD. Every API token of\n" +
		"your account is revoked with the old password (make new ones: keybox tokens create).",
	setup: func(fs *flag.FlagSet) func(context.Context, *session, []string) error {
		stdin := fs.Bool("password-stdin", false, "read both passwords from standard input")
		return func(ctx context.Context, s *session, _ []string) error {
			sec := &secrets{c: s.cli, fromStdin: *stdin}
			current, err := sec.read("Current password: ", "KEYBOX_PASSWORD")
			if err != nil {
				return err
			}
			next, err := sec.read("New password: ", "KEYBOX_NEW_PASSWORD")
			if err != nil {
				return err
			}
			if err := s.api.ChangePassword(ctx, current, next); err != nil {
				return err
			}
			// Every earlier token has ended, the kept one included: keep the fresh one.
			if err := s.keepToken(); err != nil {
				return err
			}
			return s.say("Password updated successfully")
		}
	},
}}

var refreshCommand = []command{{
	help: "Exchange the login token for a fresh one before it expires. The kept login is\n" +
		"renewed in place; with KEYBOX_TOKEN the fresh token is printed, for the script to use.",
	setup: func(*flag.FlagSet) func(context.Context, *session, []string) error {
		return func(ctx context.Context, s *session, _ []string) error {
			if s.apiToken {
				return errors.New("refresh: KEYBOX_TOKEN holds an API token, which is never refreshed: it works until it expires or is revoked")
			}
			token, err := s.api.Refresh(ctx)
			if err != nil {
				return err
			}
			if s.kept == nil {
				return s.emit(map[string]string{"token": token}, func(w io.Writer) { fmt.Fprintln(w, token) })
			}
			if err := s.keepToken(); err != nil {
				return err
			}
			return s.say("Login renewed.")
		}
	},
}}

var logoutAllCommand = []command{{
	help: "End every login token of your account, everywhere, and forget the kept login. Every device and\n" +
		"server is logged out (a lost laptop, a token that may have leaked), this one included, and every\n" +
		"API token of the account is revoked.",
	setup: func(*flag.FlagSet) func(context.Context, *session, []string) error {
		return func(ctx context.Context, s *session, _ []string) error {
			if err := s.api.LogoutAll(ctx); err != nil {
				return err
			}
			if s.kept != nil {
				if err := s.forgetLogin(); err != nil {
					return err
				}
			}
			return s.say("Logged out everywhere")
		}
	},
}}

// keepToken replaces the kept login's token with the one the session now
// sends; a token from KEYBOX_TOKEN is the script's to keep.
func (s *session) keepToken() error {
	if s.kept == nil {
		return nil
	}
	cr := *s.kept
	cr.Token = s.api.Token()
	_, err := s.saveCredentials(cr)
	return err
}

// forgetLogin removes the kept login.
func (c cli) forgetLogin() error {
	path, err := c.credentialsPath()
	if err != nil {
		return err
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("logout: %w", err)
	}
	return nil
}
