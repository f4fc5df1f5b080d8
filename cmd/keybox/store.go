package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/keyboxhq/keybox/internal/postgres"
	"github.com/keyboxhq/keybox/internal/sqlite"
	"github.com/keyboxhq/keybox/internal/sqlstore"
)

// openStore opens the database named by url and applies its migrations.
func openStore(ctx context.Context, url string) (*sqlstore.Store, error) {
	return openStoreWith(ctx, url, sqlstore.Options{})
}

// openStoreWith is openStore with options, such as the size of the pool.
func openStoreWith(ctx context.Context, url string, opts sqlstore.Options) (*sqlstore.Store, error) {
	engine, target, err := parseDatabaseURL(url)
	if err != nil {
		return nil, err
	}
	opts.Migrate = true
	if engine == "postgres" {
		return postgres.Open(ctx, target, opts)
	}
	return sqlite.Open(ctx, target, opts)
}

// jwtSecret returns the configured secret or, for the embedded default, the
// one kept in the data directory, generating it (mode 0600) on first start.
func jwtSecret(c config) ([]byte, error) {
	if c.jwtSecret != "" {
		return []byte(c.jwtSecret), nil
	}
	engine, path, err := parseDatabaseURL(c.databaseURL)
	if err != nil {
		return nil, err
	}
	if engine != "sqlite" {
		return nil, errors.New("KEYBOX_JWT_SECRET: required with PostgreSQL")
	}
	file := filepath.Join(filepath.Dir(path), "jwt-secret")
	if b, err := os.ReadFile(file); err == nil {
		secret := strings.TrimSpace(string(b))
		if len(secret) < 32 {
			return nil, fmt.Errorf("%s: secret shorter than 32 bytes; delete the file to generate a new one", file)
		}
		return []byte(secret), nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("read JWT secret: %w", err)
	}
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return nil, fmt.Errorf("generate JWT secret: %w", err)
	}
	secret := hex.EncodeToString(raw[:])
	if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	err = writeSecretFile(file, []byte(secret+"\n"))
	if errors.Is(err, fs.ErrExist) {
		return jwtSecret(c) // another process made it first
	}
	if err != nil {
		return nil, fmt.Errorf("JWT secret: %w", err)
	}
	return []byte(secret), nil
}
