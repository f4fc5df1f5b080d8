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
// database itself (the private keys never leave it). They need the secret
// that encrypts the private keys: KEYBOX_SECRET_KEY, or the file kept beside
// an embedded database.
var keyCommands = []command{
	databaseCommand("list", "", "List the signing keys (KEYBOX_DATABASE_URL): the newest that is neither retired nor\n"+
		"revoked signs.",
		func(ctx context.Context, s *session, svc *licensing.Service, _ []string) error {
			keys, err := svc.PublicKeys(ctx)
			if err != nil {
				return err
			}
			return s.emit(map[string]any{"keys": keys}, func(w io.Writer) { keyRows(w, keys) })
		}),
	databaseCommand("rotate", "", "Make a new signing key and retire the others (KEYBOX_DATABASE_URL). Retired keys stay\n"+
		"published, so that what they signed before keeps verifying until it expires; every\n"+
		"server signs with the new key within 5 seconds.",
		func(ctx context.Context, s *session, svc *licensing.Service, _ []string) error {
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
	databaseCommand("revoke", "ID", "Revoke a signing key that may have leaked (KEYBOX_DATABASE_URL): applications that\n"+
		"get the new list of public keys trust nothing it signed, so every license file it\n"+
		"signed must be checked out again. When it was the key that signs, a new one replaces it.",
		func(ctx context.Context, s *session, svc *licensing.Service, args []string) error {
			k, err := svc.RevokeSigningKey(ctx, args[0])
			if err != nil {
				return err
			}
			keys, err := svc.PublicKeys(ctx)
			if err != nil {
				return err
			}
			return s.emit(map[string]any{"revoked": args[0], "keyId": k.ID, "keys": keys}, func(w io.Writer) {
				fmt.Fprintf(w, "Revoked signing key %s.\n", args[0])
				if k.ID != "" {
					fmt.Fprintf(w, "New signing key %s.\n", k.ID)
				}
				fmt.Fprintln(w, "Ship the new public keys (GET /validate/public-keys) with your applications.")
				keyRows(w, keys)
			})
		}),
}

// cliOrigin is who the events of a command on the database name: the
// operator at the database, not any account.
var cliOrigin = licensing.Origin{Actor: keybox.Actor{Type: keybox.ActorSystem, ID: "cli"}}

// databaseCommand is a command that works on the database (--database-url,
// KEYBOX_DATABASE_URL) through the licensing service, with the secret that
// encrypts the signing keys.
func databaseCommand(name, args, help string, act func(context.Context, *session, *licensing.Service, []string) error) command {
	return command{name: name, args: args, offline: true, help: help,
		setup: func(fs *flag.FlagSet) func(context.Context, *session, []string) error {
			dbURL := fs.String("database-url", "", "sqlite://PATH or postgres://… (KEYBOX_DATABASE_URL)")
			return func(ctx context.Context, s *session, args []string) error {
				url := s.databaseURL(*dbURL)
				if _, _, err := parseDatabaseURL(url); err != nil {
					return fmt.Errorf("KEYBOX_DATABASE_URL: %w", err)
				}
				secret, err := serverSecret(s.getenv("KEYBOX_SECRET_KEY"), url)
				if err != nil {
					return err
				}
				svc, closeDB, err := offlineService(ctx, url, secret)
				if err != nil {
					return err
				}
				defer closeDB()
				return act(licensing.WithOrigin(ctx, cliOrigin), s, svc, args)
			}
		}}
}

func keyRows(w io.Writer, keys []licensing.PublicKey) {
	row(w, "KEY ID", "CREATED", "RETIRED", "REVOKED", "PUBLIC KEY")
	for _, k := range keys {
		row(w, k.ID, when(k.CreatedAt), when(k.RetiredAt), when(k.RevokedAt), k.PublicKey)
	}
}

// verifyCommand is keybox verify FILE.
var verifyCommand = []command{{
	args: "FILE",
	help: "Verify an offline license file (docs/offline-licensing.md) and show what it grants.\n" +
		"The public keys come from --public-keys (a saved answer of GET /validate/public-keys)\n" +
		"or from the server. --key and --machine-id check the file is for that license key and\n" +
		"machine.",
	setup: func(fs *flag.FlagSet) func(context.Context, *session, []string) error {
		keysFile := fs.String("public-keys", "", "file holding the answer of GET /validate/public-keys")
		machine := fs.String("machine-id", "", "the machine the file must be for (default: any)")
		licenseKey := fs.String("key", "", "the license key the file must be for (default: any)")
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
			key, m := *licenseKey, *machine
			if f, _, _, err := keybox.ParseLicenseFile(string(text)); err == nil {
				// Not given: the file's own, so that they are not judged.
				key, m = firstOf(key, f.Key), firstOf(m, f.MachineID)
			}
			f, err := client.VerifyLicenseFile(string(text), keys, key, m, now)
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
	keys, err := client.FetchPublicKeys(ctx, s.server, s.http)
	if err != nil {
		return nil, fmt.Errorf("public keys from %s: %w (or give --public-keys)", s.server, err)
	}
	return keys, nil
}

// offlineService opens the database and a licensing service over it, for
// the commands that work on the database itself. With the server's secret it
// prepares the signing keys as a server does at start; without one (nil) the
// service cannot sign and leaves the keys alone.
func offlineService(ctx context.Context, dbURL string, secretKey []byte) (*licensing.Service, func(), error) {
	if _, _, err := parseDatabaseURL(dbURL); err != nil {
		return nil, nil, fmt.Errorf("KEYBOX_DATABASE_URL: %w", err)
	}
	store, err := openStore(ctx, dbURL)
	if err != nil {
		return nil, nil, err
	}
	closeDB := func() { _ = store.Close() }
	svc, err := serviceOver(store, secretKey)
	if err != nil {
		closeDB()
		return nil, nil, err
	}
	prepare := secretKey != nil
	if prepare {
		if err := svc.EnsureSigningKey(ctx); err != nil {
			closeDB()
			return nil, nil, err
		}
	}
	return svc, closeDB, nil
}

// serviceOver is a licensing service over store for the commands on the
// database. No token is issued there, and without the server's secret
// (nil) nothing is signed; the service needs a token secret and a secret
// key all the same, so random ones stand in.
func serviceOver(store keybox.Store, secretKey []byte) (*licensing.Service, error) {
	passwords, err := auth.NewPasswords(auth.DefaultCost, 1)
	if err != nil {
		return nil, err
	}
	secret := make([]byte, 64)
	if _, err := rand.Read(secret); err != nil {
		return nil, err
	}
	tokens, err := auth.NewTokens(secret[:32], time.Minute, nil)
	if err != nil {
		return nil, err
	}
	if secretKey == nil {
		secretKey = secret[32:]
	}
	return licensing.New(licensing.Config{Store: store, Passwords: passwords, Tokens: tokens, SecretKey: secretKey})
}
