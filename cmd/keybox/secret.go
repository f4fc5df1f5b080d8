package main

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/keyboxhq/keybox/internal/licensing"
)

// secretKeyFile is the name of the file, beside an embedded database, that
// keeps its server secret when KEYBOX_SECRET_KEY is not set.
const secretKeyFile = "secret-key"

// errSecretKeyRequired: with PostgreSQL several servers share the database,
// so the secret must be given to each, the same.
var errSecretKeyRequired = fmt.Errorf("KEYBOX_SECRET_KEY: required with PostgreSQL (at least %d bytes, the same on every server)", licensing.MinSecretKeyLength)

// serverSecret returns the secret that encrypts the signing keys: value
// (KEYBOX_SECRET_KEY) when set, else for an embedded database the one kept
// beside it, made on first use.
func serverSecret(value, databaseURL string) ([]byte, error) {
	if value != "" {
		if len(value) < licensing.MinSecretKeyLength {
			return nil, fmt.Errorf("KEYBOX_SECRET_KEY: must be at least %d bytes (got %d)", licensing.MinSecretKeyLength, len(value))
		}
		return []byte(value), nil
	}
	path, err := sqliteFile(databaseURL, errSecretKeyRequired)
	if err != nil {
		return nil, err
	}
	return keptSecret(filepath.Join(filepath.Dir(path), secretKeyFile), "secret key")
}

// keptSecret reads the secret kept in file or, when there is none, makes
// one (32 random bytes, in hex) and keeps it there, readable by this user
// only. Two processes starting together agree on the first one written.
func keptSecret(file, what string) ([]byte, error) {
	if b, err := os.ReadFile(file); err == nil {
		secret := strings.TrimSpace(string(b))
		if len(secret) < licensing.MinSecretKeyLength {
			return nil, fmt.Errorf("%s: %s shorter than %d bytes; restore the right file, or delete it to generate a new one", file, what, licensing.MinSecretKeyLength)
		}
		return []byte(secret), nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("read %s: %w", what, err)
	}
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return nil, fmt.Errorf("generate %s: %w", what, err)
	}
	secret := hex.EncodeToString(raw[:])
	if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	err := writeSecretFile(file, []byte(secret+"\n"))
	if errors.Is(err, fs.ErrExist) {
		return keptSecret(file, what) // another process made it first
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return []byte(secret), nil
}

// sealedKeyAdvice says what to do when the secret does not decrypt the
// signing key.
func sealedKeyAdvice(err error) error {
	if !errors.Is(err, licensing.ErrSealedKey) {
		return err
	}
	return fmt.Errorf("%w: give the server the secret this database was used with (KEYBOX_SECRET_KEY, or the %s file "+
		"beside an embedded database); if that secret is lost, `keybox keys rotate` makes a new signing key, and "+
		"`keybox keys revoke ID` revokes a key that may have leaked with the database", err, secretKeyFile)
}
