package main

import (
	"context"
	"crypto/rand"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/keyboxhq/keybox"
	"github.com/keyboxhq/keybox/client"
	"github.com/keyboxhq/keybox/internal/auth"
	"github.com/keyboxhq/keybox/internal/licensing"
)

// keyCommands are keybox keys …: the installation's signing keys, on the
// database itself (the private keys never leave it).
var keyCommands = []command{
	databaseCommand("list", "List the signing keys (KEYBOX_DATABASE_URL): the newest that is not retired signs.",
		func(ctx context.Context, s *session, svc *licensing.Service) error {
			keys, err := svc.PublicKeys(ctx)
			if err != nil {
				return err
			}
			return s.emit(map[string]any{"keys": keys}, func(w io.Writer) { keyRows(w, keys) })
		}),
	databaseCommand("rotate", "Make a new signing key and retire the others (KEYBOX_DATABASE_URL). Retired keys stay\n"+
		"published, so files they signed verify until they expire; servers sign with the new key\n"+
		"within a minute.",
		func(ctx context.Context, s *session, svc *licensing.Service) error {
			k, err := svc.RotateSigningKey(ctx)
			if err != nil {
				return err
			}
			keys, err := svc.PublicKeys(ctx)
			if err != nil {
				return err
			}
			return s.emit(map[string]any{"keyId": k.ID, "keys": keys}, func(w io.Writer) {
				fmt.Fprintf(w, "New signing key %s.\n", k.ID)
				keyRows(w, keys)
			})
		}),
}

// databaseCommand is a command without arguments that works on the database
// (--database-url, KEYBOX_DATABASE_URL) through the licensing service.
func databaseCommand(name, help string, act func(context.Context, *session, *licensing.Service) error) command {
	return command{name: name, offline: true, help: help,
		setup: func(fs *flag.FlagSet) func(context.Context, *session, []string) error {
			dbURL := fs.String("database-url", "", "sqlite://PATH or postgres://… (KEYBOX_DATABASE_URL)")
			return func(ctx context.Context, s *session, _ []string) error {
				svc, closeDB, err := offlineService(ctx, s.databaseURL(*dbURL))
				if err != nil {
					return err
				}
				defer closeDB()
				return act(ctx, s, svc)
			}
		}}
}

func keyRows(w io.Writer, keys []licensing.PublicKey) {
	row(w, "KEY ID", "CREATED", "RETIRED", "PUBLIC KEY")
	for _, k := range keys {
		row(w, k.ID, when(k.CreatedAt), when(k.RetiredAt), k.PublicKey)
	}
}

// verifyCommand is keybox verify FILE.
var verifyCommand = []command{{
	args: "FILE",
	help: "Verify an offline license file (docs/offline-licensing.md) and show what it grants.\n" +
		"The public keys come from --public-keys (a saved answer of GET /validate/public-keys)\n" +
		"or from the server. --machine-id checks the file is for that machine.",
	setup: func(fs *flag.FlagSet) func(context.Context, *session, []string) error {
		keysFile := fs.String("public-keys", "", "file holding the answer of GET /validate/public-keys")
		machine := fs.String("machine-id", "", "the machine the file must be for (default: any)")
		at := fs.String("at", "", "verify at this RFC 3339 time instead of now")
		return func(ctx context.Context, s *session, args []string) error {
			text, err := os.ReadFile(args[0])
			if err != nil {
				return err
			}
			keys, err := verificationKeys(ctx, s, *keysFile)
			if err != nil {
				return err
			}
			now := time.Now()
			if *at != "" {
				if now, err = time.Parse(time.RFC3339, *at); err != nil {
					return usageError(fmt.Sprintf("verify: --at %q is not an RFC 3339 time", *at))
				}
			}
			m := *machine
			if m == "" {
				if f, _, _, err := keybox.ParseLicenseFile(string(text)); err == nil {
					m = f.MachineID // no machine given: do not judge the machine
				}
			}
			f, err := client.VerifyLicenseFile(string(text), keys, m, now)
			if err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			return s.emit(f, func(w io.Writer) {
				fmt.Fprintf(w, "%s: valid license file, signed by %s.\n", args[0], f.KeyID)
				fields(w, "key", f.Key, "status", string(f.Status), "services", joinServices(f.Services),
					"machine", f.MachineID, "instance", f.InstanceID, "product", f.ProductName,
					"issued", when(f.IssuedAt), "file expires", when(f.ExpiresAt), "license expires", when(f.LicenseExpiresAt))
			})
		}
	},
}}

func joinServices(list []keybox.Service) string {
	parts := make([]string, len(list))
	for i, s := range list {
		parts[i] = string(s)
	}
	return strings.Join(parts, ", ")
}

// verificationKeys reads the public keys from a file, or asks the server.
func verificationKeys(ctx context.Context, s *session, path string) (client.PublicKeys, error) {
	if path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		return client.ParsePublicKeys(data)
	}
	keys, err := client.FetchPublicKeys(ctx, s.server, nil)
	if err != nil {
		return nil, fmt.Errorf("public keys from %s: %w (or give --public-keys)", s.server, err)
	}
	return keys, nil
}

// offlineService opens the database and a licensing service over it, for
// the commands that work on the database itself.
func offlineService(ctx context.Context, dbURL string) (*licensing.Service, func(), error) {
	if _, _, err := parseDatabaseURL(dbURL); err != nil {
		return nil, nil, fmt.Errorf("KEYBOX_DATABASE_URL: %w", err)
	}
	store, err := openStore(ctx, dbURL)
	if err != nil {
		return nil, nil, err
	}
	closeDB := func() { _ = store.Close() }
	passwords, err := auth.NewPasswords(auth.DefaultCost, 1)
	if err != nil {
		closeDB()
		return nil, nil, err
	}
	// No token is issued here; the service needs a signer all the same.
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		closeDB()
		return nil, nil, err
	}
	tokens, err := auth.NewTokens(secret, time.Minute, nil)
	if err != nil {
		closeDB()
		return nil, nil, err
	}
	svc, err := licensing.New(licensing.Config{Store: store, Passwords: passwords, Tokens: tokens})
	if err != nil {
		closeDB()
		return nil, nil, err
	}
	if err := svc.EnsureSigningKey(ctx); err != nil {
		closeDB()
		return nil, nil, err
	}
	return svc, closeDB, nil
}
