package main

import (
	"context"
	"errors"
	"path/filepath"

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
	path, err := sqliteFile(c.databaseURL, errors.New("KEYBOX_JWT_SECRET: required with PostgreSQL"))
	if err != nil {
		return nil, err
	}
	return keptSecret(filepath.Join(filepath.Dir(path), jwtSecretFile), "JWT secret")
}
