package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"io"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver

	"github.com/keyboxhq/keybox"
	"github.com/keyboxhq/keybox/internal/postgres"
	"github.com/keyboxhq/keybox/internal/sqlite"
	"github.com/keyboxhq/keybox/internal/sqlstore"
)

// prepareDatabase returns the database URL the server will use: a file in
// the work directory, or a fresh schema on the PostgreSQL server, dropped by
// the cleanup function.
func prepareDatabase(ctx context.Context, db, work string) (string, func(), error) {
	if db == "sqlite" {
		return "sqlite://" + filepath.Join(work, "keybox.db"), func() {}, nil
	}
	if !isPostgres(db) {
		return "", nil, fmt.Errorf("-db: %q is neither sqlite nor a postgres:// URL", db)
	}
	var b [4]byte
	_, _ = rand.Read(b[:])
	schema := "keybox_bench_" + hex.EncodeToString(b[:])
	if err := execPostgres(ctx, db, "CREATE SCHEMA "+schema); err != nil {
		return "", nil, err
	}
	u, err := url.Parse(db)
	if err != nil {
		return "", nil, err
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String(), func() { _ = execPostgres(context.Background(), db, "DROP SCHEMA "+schema+" CASCADE") }, nil
}

func isPostgres(db string) bool {
	return strings.HasPrefix(db, "postgres://") || strings.HasPrefix(db, "postgresql://")
}

func execPostgres(ctx context.Context, dsn, stmt string) error {
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	_, err = db.ExecContext(ctx, stmt)
	return err
}

// postgresVersion returns the server's version, for the record of a run.
func postgresVersion(ctx context.Context, dsn string) (string, error) {
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return "", err
	}
	defer db.Close()
	var v string
	err = db.QueryRowContext(ctx, "SHOW server_version").Scan(&v)
	return v, err
}

// seeder adds licenses to the database through the Store (one HTTP call per
// license would take hours for a million), in batches of one transaction
// each; on PostgreSQL several batches run at once.
type seeder struct {
	store   keybox.Store
	workers int
	batch   int // licenses per transaction
	ids     *keybox.IDs
}

// openSeeder opens the database the server uses, next to it.
func openSeeder(ctx context.Context, dbURL string) (*seeder, error) {
	var store keybox.Store
	var err error
	workers := 1 // SQLite has one writer
	if path, ok := strings.CutPrefix(dbURL, "sqlite://"); ok {
		store, err = sqlite.Open(ctx, path, sqlstore.Options{})
	} else {
		workers = 8
		store, err = postgres.Open(ctx, dbURL, sqlstore.Options{MaxConns: workers})
	}
	if err != nil {
		return nil, err
	}
	return newSeeder(store, workers)
}

func newSeeder(store keybox.Store, workers int) (*seeder, error) {
	ids, err := keybox.NewIDs(nil)
	if err != nil {
		return nil, err
	}
	return &seeder{store: store, workers: workers, batch: 2000, ids: ids}, nil
}

// seed adds n licenses to the project of tmpl, an ACTIVE license: ACTIVE
// ones, each with a seat on its own machine, when activated is true, PENDING
// ones otherwise. For each it writes to w the body of a request for its key
// and machine (the machine that holds the seat, or that will activate it),
// one a line, in no particular order.
func (s *seeder) seed(ctx context.Context, tmpl keybox.License, n int, activated bool, w io.Writer) error {
	out := bufio.NewWriterSize(w, 1<<16)
	var mu sync.Mutex // guards out
	jobs := make(chan int)
	errs := make(chan error, s.workers)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	for range s.workers {
		wg.Go(func() {
			for count := range jobs {
				lines, err := s.add(ctx, tmpl, count, activated)
				if err != nil {
					errs <- err
					cancel()
					return
				}
				mu.Lock()
				_, err = out.Write(lines)
				mu.Unlock()
				if err != nil {
					errs <- err
					cancel()
					return
				}
			}
		})
	}
	for start := 0; start < n && ctx.Err() == nil; start += s.batch {
		select {
		case jobs <- min(s.batch, n-start):
		case <-ctx.Done():
		}
	}
	close(jobs)
	wg.Wait()
	select {
	case err := <-errs:
		return err
	default:
	}
	return out.Flush()
}

// add adds count licenses in one transaction and returns their lines.
func (s *seeder) add(ctx context.Context, tmpl keybox.License, count int, activated bool) ([]byte, error) {
	now := keybox.NewTime(time.Now())
	var lines []byte
	err := s.store.Update(ctx, func(tx keybox.Tx) error {
		lines = lines[:0]
		for range count {
			l := tmpl
			l.ID = s.ids.New(now.Time)
			l.Key = newKey()
			l.CreatedAt, l.UpdatedAt = now, now
			machine := newMachineID()
			l.MachineID, l.InstanceID = "", ""
			if activated {
				l.MachineID = keybox.NullString(machine)
			} else {
				l.Status, l.ActivatedAt = keybox.StatusPending, keybox.Time{}
			}
			if err := tx.CreateLicense(ctx, l); err != nil {
				return fmt.Errorf("seed: %w", err)
			}
			if activated {
				seat := keybox.Activation{ID: s.ids.New(now.Time), LicenseID: l.ID, MachineID: machine,
					ActivatedAt: l.ActivatedAt, CreatedAt: now, UpdatedAt: now}
				if err := tx.CreateActivation(ctx, seat); err != nil {
					return fmt.Errorf("seed: %w", err)
				}
			}
			lines = fmt.Appendf(lines, "{\"key\":%q,\"machineId\":%q}\n", l.Key, machine)
		}
		return nil
	})
	return lines, err
}

// keyAlphabet is Crockford's base32, as in the keys KeyBox makes.
const keyAlphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// newKey returns a random key of the form KeyBox gives its own keys
// (KB-XXXXX-XXXXX-XXXXX-XXXXX), so that keys are as long as real ones.
func newKey() string {
	var raw [20]byte
	_, _ = rand.Read(raw[:])
	b := make([]byte, 0, 26)
	b = append(b, "KB"...)
	for i, r := range raw {
		if i%5 == 0 {
			b = append(b, '-')
		}
		b = append(b, keyAlphabet[r&31])
	}
	return string(b)
}
