package main

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver

	"github.com/keyboxhq/keybox"
	"github.com/keyboxhq/keybox/internal/postgres"
	"github.com/keyboxhq/keybox/internal/sqlite"
	"github.com/keyboxhq/keybox/internal/sqlstore"
)

func execPostgres(ctx context.Context, dsn, stmt string) error {
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	_, err = db.ExecContext(ctx, stmt)
	return err
}

// seed adds n licenses to the project of the bench key, through the Store
// (the API would take hours), in batches of one transaction each; on
// PostgreSQL several batches run at once.
func seed(ctx context.Context, dbURL, key string, n int) error {
	var store keybox.Store
	var err error
	workers := 1
	if path, ok := strings.CutPrefix(dbURL, "sqlite://"); ok {
		store, err = sqlite.Open(ctx, path, sqlstore.Options{})
	} else {
		store, err = postgres.Open(ctx, dbURL, sqlstore.Options{})
		workers = 8
	}
	if err != nil {
		return err
	}
	defer store.Close()
	l, err := store.License(ctx, key)
	if err != nil {
		return err
	}
	ids, err := keybox.NewIDs(nil)
	if err != nil {
		return err
	}
	const batch = 5000
	jobs := make(chan int)
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for start := range jobs {
				if err := seedBatch(ctx, store, ids, l, start, min(batch, n-start)); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	for start := 0; start < n; start += batch {
		select {
		case jobs <- start:
		case err := <-errs:
			close(jobs)
			wg.Wait()
			return err
		}
	}
	close(jobs)
	wg.Wait()
	select {
	case err := <-errs:
		return err
	default:
		return nil
	}
}

func seedBatch(ctx context.Context, store keybox.Store, ids *keybox.IDs, tmpl keybox.License, start, count int) error {
	now := keybox.NewTime(time.Now())
	return store.Update(ctx, func(tx keybox.Tx) error {
		for i := range count {
			l := tmpl
			l.ID = ids.New(now.Time)
			l.Key = "BENCH-" + strconv.Itoa(start+i)
			l.MachineID, l.InstanceID = "", ""
			l.CreatedAt, l.UpdatedAt = now, now
			if err := tx.CreateLicense(ctx, l); err != nil {
				return fmt.Errorf("seed: %w", err)
			}
		}
		return nil
	})
}
