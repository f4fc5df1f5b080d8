package licensing_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"database/sql"
	"encoding/base64"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"testing/fstest"
	"time"

	"github.com/keyboxhq/keybox"
	"github.com/keyboxhq/keybox/internal/auth"
	"github.com/keyboxhq/keybox/internal/licensing"
	"github.com/keyboxhq/keybox/internal/postgres"
	"github.com/keyboxhq/keybox/internal/sqlite"
	"github.com/keyboxhq/keybox/internal/sqlstore"
	"github.com/keyboxhq/keybox/internal/storetest"
	"golang.org/x/crypto/bcrypt"
)

const (
	secretA = "secret-of-installation-a-0123456789"
	secretB = "secret-of-installation-b-0123456789"
)

var sealClock = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

// sealingService returns a service over store whose private keys are sealed
// with secret.
func sealingService(t *testing.T, store keybox.Store, secret string) *licensing.Service {
	t.Helper()
	clock := func() time.Time { return sealClock }
	tokens, err := auth.NewTokens([]byte("0123456789abcdef0123456789abcdef"), time.Hour, clock)
	if err != nil {
		t.Fatal(err)
	}
	pw, err := auth.NewPasswords(bcrypt.MinCost, 1)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := licensing.New(licensing.Config{Store: store, Passwords: pw, Tokens: tokens, Now: clock, SecretKey: []byte(secret)})
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

// signs reports whether svc signs an answer that its published key verifies.
func signs(t *testing.T, svc *licensing.Service) error {
	t.Helper()
	ctx := context.Background()
	req := keybox.SignedRequest{Action: keybox.ActionValidate, Key: "KB-1", MachineID: "m1", Nonce: "nonce-0001"}
	body := []byte(`{"valid":true}`)
	header, err := svc.SignResponse(ctx, req, body)
	if err != nil {
		return err
	}
	pub, err := svc.PublicKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	keys := keybox.PublicKeys{}
	for _, k := range pub {
		raw, _ := base64.StdEncoding.DecodeString(k.PublicKey)
		keys[k.ID] = keybox.PublicKey{ID: k.ID, Key: raw, RetiredAt: k.RetiredAt, RevokedAt: k.RevokedAt}
	}
	if err := keybox.VerifyResponse(header, req, body, keys, sealClock, time.Minute); err != nil {
		t.Fatalf("a signed answer does not verify: %v", err)
	}
	return nil
}

func TestNewServiceNeedsASecret(t *testing.T) {
	store := storetest.SQLite(t)
	pw, _ := auth.NewPasswords(bcrypt.MinCost, 1)
	tokens, _ := auth.NewTokens([]byte("0123456789abcdef0123456789abcdef"), time.Hour, nil)
	for _, secret := range []string{"", "too short"} {
		if _, err := licensing.New(licensing.Config{Store: store, Passwords: pw, Tokens: tokens, SecretKey: []byte(secret)}); err == nil {
			t.Errorf("secret %q: a service that would store keys unprotected", secret)
		}
	}
}

// TestCopiedDatabaseCannotSign: the private keys are stored encrypted, so a
// server given the database without its secret cannot sign, on every engine.
func TestCopiedDatabaseCannotSign(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			store := e.Open(t)
			ctx := context.Background()
			owner := sealingService(t, store, secretA)
			if err := owner.EnsureSigningKey(ctx); err != nil {
				t.Fatal(err)
			}
			if err := signs(t, owner); err != nil {
				t.Fatalf("with its secret: %v", err)
			}
			keys, err := store.SigningKeys(ctx)
			if err != nil || len(keys) != 1 {
				t.Fatalf("keys %+v %v", keys, err)
			}
			k := keys[0]
			if k.PrivateKey != nil || len(k.Sealed) == 0 {
				t.Fatalf("stored key: private %x, sealed %x; want only the sealed form", k.PrivateKey, k.Sealed)
			}

			thief := sealingService(t, store, secretB)
			if err := thief.EnsureSigningKey(ctx); err != nil {
				t.Fatal(err) // it may start, and publish the keys ...
			}
			if err := thief.CheckSigningKey(ctx); !errors.Is(err, licensing.ErrSealedKey) {
				t.Fatalf("CheckSigningKey with another secret: got %v, want ErrSealedKey", err)
			}
			if err := signs(t, thief); !errors.Is(err, licensing.ErrSealedKey) {
				t.Fatalf("signing with another secret: got %v, want ErrSealedKey", err) // ... but never sign
			}
			if keys, _ := store.SigningKeys(ctx); len(keys) != 1 {
				t.Fatalf("a server with another secret changed the keys: %+v", keys)
			}
			// Rotating needs no old private key: the way out for an
			// installation that lost its secret. The old secret cannot
			// open the new key.
			if _, err := thief.RotateSigningKey(ctx); err != nil {
				t.Fatal(err)
			}
			if err := signs(t, thief); err != nil {
				t.Fatalf("after rotating with the new secret: %v", err)
			}
			if err := signs(t, sealingService(t, store, secretA)); !errors.Is(err, licensing.ErrSealedKey) {
				t.Fatalf("the first secret on the new key: got %v, want ErrSealedKey", err)
			}
		})
	}
}

// TestSQLiteFileHoldsNoPrivateKey: the private key's bytes are nowhere in the
// database files, in any encoding the store could have used.
func TestSQLiteFileHoldsNoPrivateKey(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "keybox.db")
	store, err := sqlite.Open(context.Background(), path, sqlstore.Options{Migrate: true})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	svc := sealingService(t, store, secretA)
	if err := svc.EnsureSigningKey(context.Background()); err != nil {
		t.Fatal(err)
	}
	k, err := svc.ActiveSigningKey(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	priv := k.PrivateKey
	if err := store.Close(); err != nil {
		t.Fatal(err)
	}
	seed := priv.Seed()
	forms := [][]byte{seed, priv, []byte(base64.StdEncoding.EncodeToString(priv)), []byte(base64.StdEncoding.EncodeToString(seed)),
		[]byte(base64.RawURLEncoding.EncodeToString(seed))}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range forms {
			if bytes.Contains(b, f) {
				t.Fatalf("%s holds the private key", e.Name())
			}
		}
	}
}

// TestUpgradeSealsPlainKeys: a database made before encryption holds its
// private key as it is; the first start after the upgrade seals it, the key
// keeps signing (applications need no new public key), and the plain copy
// is gone from its row.
func TestUpgradeSealsPlainKeys(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			ctx := context.Background()
			raw, open := legacyDatabase(t, e.Name)
			priv := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize))
			pub := priv.Public().(ed25519.PublicKey)
			id := keybox.KeyID(pub)
			_, err := raw.ExecContext(ctx, `INSERT INTO signing_keys (id, algorithm, public_key, private_key, created_at) VALUES ($1, 'Ed25519', $2, $3, $4)`,
				id, base64.StdEncoding.EncodeToString(pub), base64.StdEncoding.EncodeToString(priv), sealClock.Add(-time.Hour).UnixMilli())
			if err != nil {
				t.Fatal(err)
			}

			store := open()
			svc := sealingService(t, store, secretA)
			if err := svc.EnsureSigningKey(ctx); err != nil {
				t.Fatal(err)
			}
			var plain string
			var sealed sql.NullString
			if err := raw.QueryRowContext(ctx, `SELECT private_key, sealed_private_key FROM signing_keys WHERE id = $1`, id).Scan(&plain, &sealed); err != nil {
				t.Fatal(err)
			}
			if plain != "" || !sealed.Valid || sealed.String == "" {
				t.Fatalf("after the upgrade: private_key %q, sealed %v; want only the sealed form", plain, sealed)
			}
			keys, err := store.SigningKeys(ctx)
			if err != nil || len(keys) != 1 || keys[0].ID != id {
				t.Fatalf("keys after the upgrade: %+v %v, want the same one key", keys, err)
			}
			if err := signs(t, svc); err != nil {
				t.Fatalf("the upgraded key: %v", err)
			}
			if k, err := svc.ActiveSigningKey(ctx); err != nil || !k.PrivateKey.Equal(priv) {
				t.Fatalf("the upgraded key signs as %v (%v), want the same key", k.ID, err)
			}
			if err := signs(t, sealingService(t, store, secretB)); !errors.Is(err, licensing.ErrSealedKey) {
				t.Fatalf("another secret after the upgrade: got %v, want ErrSealedKey", err)
			}
		})
	}
}

// legacyDatabase makes a database of the engine at schema version 2 (before
// key encryption) and returns a raw connection to it, and a function that
// opens it as the current code does, migrating it.
func legacyDatabase(t *testing.T, engine string) (*sql.DB, func() keybox.Store) {
	t.Helper()
	ctx := context.Background()
	var driver, dsn string
	var migrations fs.FS
	var dialect sqlstore.Dialect
	var open func() (*sqlstore.Store, error)
	switch engine {
	case "sqlite":
		path := filepath.Join(t.TempDir(), "keybox.db")
		driver, dsn, migrations, dialect = "sqlite", "file:"+path+"?_pragma=busy_timeout(5000)", sqlite.Migrations(), sqlite.Dialect()
		open = func() (*sqlstore.Store, error) { return sqlite.Open(ctx, path, sqlstore.Options{Migrate: true}) }
	default:
		u := storetest.PostgresURL(t)
		driver, dsn, migrations, dialect = "pgx", u, postgres.Migrations(), postgres.Dialect()
		open = func() (*sqlstore.Store, error) { return postgres.Open(ctx, u, sqlstore.Options{Migrate: true}) }
	}
	raw, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	raw.SetMaxOpenConns(2)
	t.Cleanup(func() { _ = raw.Close() })
	old := fstest.MapFS{}
	for _, name := range []string{"0001_init.sql", "0002_signing_keys.sql"} {
		b, err := fs.ReadFile(migrations, name)
		if err != nil {
			t.Fatal(err)
		}
		old[name] = &fstest.MapFile{Data: b}
	}
	if _, err := sqlstore.New(ctx, raw, raw, dialect, old, sqlstore.Options{Migrate: true}); err != nil {
		t.Fatal(err)
	}
	return raw, func() keybox.Store {
		s, err := open()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return s
	}
}
