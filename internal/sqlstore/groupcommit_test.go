package sqlstore_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/keyboxhq/keybox"
	"github.com/keyboxhq/keybox/internal/sqlite"
	"github.com/keyboxhq/keybox/internal/sqlstore"
	"github.com/keyboxhq/keybox/internal/storetest"
)

// batched is a SQLite store whose batches take every Update queued, however
// long the first one runs, so that a test decides what shares a commit.
func batched(t *testing.T) *sqlstore.Store {
	s := storetest.SQLite(t)
	sqlstore.SetBatchTime(s, time.Hour)
	return s
}

// hold starts an Update that runs until release is called, so that the
// Updates queued meanwhile join its batch.
func hold(t *testing.T, s *sqlstore.Store) (release func() error) {
	t.Helper()
	inside, done, finished := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	go func() {
		finished <- s.Update(context.Background(), func(keybox.Tx) error {
			close(inside)
			<-done
			return nil
		})
	}()
	<-inside
	return func() error {
		close(done)
		return <-finished
	}
}

// result is how a queued Update ended.
type result struct {
	err      error
	panicked any
}

// enqueue starts an Update of fn and returns once it waits in the queue.
func enqueue(t *testing.T, s *sqlstore.Store, fn func(keybox.Tx) error) <-chan result {
	t.Helper()
	before := sqlstore.Queued(s)
	out := make(chan result, 1)
	go func() {
		var r result
		defer func() {
			r.panicked = recover()
			out <- r
		}()
		r.err = s.Update(context.Background(), fn)
	}()
	for sqlstore.Queued(s) == before {
		runtime.Gosched()
	}
	return out
}

func user(email string) keybox.User {
	now := keybox.NewTime(time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC))
	return keybox.User{ID: "u-" + email, Name: "Dev", Email: email, PasswordHash: "$2a$hash",
		Role: keybox.RoleDeveloper, CreatedAt: now, UpdatedAt: now}
}

func createUser(email string) func(keybox.Tx) error {
	return func(tx keybox.Tx) error { return tx.CreateUser(context.Background(), user(email)) }
}

func wantUsers(t *testing.T, s keybox.Store, exist map[string]bool) {
	t.Helper()
	for email, want := range exist {
		_, err := s.UserByEmail(context.Background(), email)
		switch {
		case want && err != nil:
			t.Errorf("%s: got %v, want the user committed", email, err)
		case !want && !errors.Is(err, keybox.ErrNotFound):
			t.Errorf("%s: got %v, want no such user", email, err)
		}
	}
}

// TestGroupCommitIsolatesFailures: of Updates sharing one commit, one that
// fails, one that breaks a unique constraint and one that panics leave no
// trace and get their own outcome; the others are committed, each seeing
// the writes of those before it.
func TestGroupCommitIsolatesFailures(t *testing.T) {
	s := batched(t)
	ctx := context.Background()
	boom := errors.New("boom")
	commits := sqlstore.Commits(s)
	release := hold(t, s)

	a := enqueue(t, s, createUser("a@example.com"))
	b := enqueue(t, s, func(tx keybox.Tx) error {
		if err := createUser("b@example.com")(tx); err != nil {
			return err
		}
		return boom
	})
	dup := enqueue(t, s, func(tx keybox.Tx) error {
		u := user("a@example.com")
		u.ID = "u-other"
		return tx.CreateUser(ctx, u)
	})
	c := enqueue(t, s, func(tx keybox.Tx) error {
		if _, err := tx.UserByEmail(ctx, "a@example.com"); err != nil {
			return fmt.Errorf("read an earlier write of the batch: %w", err)
		}
		if _, err := tx.UserByEmail(ctx, "b@example.com"); !errors.Is(err, keybox.ErrNotFound) {
			return fmt.Errorf("read a rolled-back write of the batch: got %v, want not found", err)
		}
		return createUser("c@example.com")(tx)
	})
	p := enqueue(t, s, func(tx keybox.Tx) error {
		if err := createUser("p@example.com")(tx); err != nil {
			return err
		}
		panic("kaboom")
	})
	d := enqueue(t, s, createUser("d@example.com"))
	if err := release(); err != nil {
		t.Fatalf("holding Update: %v", err)
	}

	for name, tc := range map[string]struct {
		got     <-chan result
		want    error
		panicky bool
	}{
		"a": {got: a}, "b": {got: b, want: boom}, "duplicate": {got: dup, want: keybox.ErrDuplicate},
		"c": {got: c}, "panic": {got: p, panicky: true}, "d": {got: d},
	} {
		r := <-tc.got
		switch {
		case tc.panicky && r.panicked != "kaboom":
			t.Errorf("%s: got panic %v (error %v), want the function's panic again", name, r.panicked, r.err)
		case !tc.panicky && r.panicked != nil:
			t.Errorf("%s: panicked: %v", name, r.panicked)
		case tc.want == nil && r.err != nil:
			t.Errorf("%s: got %v, want success", name, r.err)
		case tc.want != nil && !errors.Is(r.err, tc.want):
			t.Errorf("%s: got %v, want %v", name, r.err, tc.want)
		}
	}
	if got := sqlstore.Commits(s) - commits; got != 1 {
		t.Errorf("got %d commits, want the one batch", got)
	}
	wantUsers(t, s, map[string]bool{"a@example.com": true, "b@example.com": false, "c@example.com": true,
		"p@example.com": false, "d@example.com": true})
	if n, err := s.CountUsers(ctx); err != nil || n != 3 {
		t.Errorf("got %d users (%v), want 3", n, err)
	}
}

// TestGroupCommitFailureFailsAll: when the batch's COMMIT fails, every
// Update in it fails, none of their writes remain, and the writer works
// again afterwards.
func TestGroupCommitFailureFailsAll(t *testing.T) {
	s := batched(t)
	ctx := context.Background()
	release := hold(t, s)
	a := enqueue(t, s, createUser("a@example.com"))
	// A deferred foreign key is checked only by COMMIT.
	orphan := enqueue(t, s, func(tx keybox.Tx) error {
		if err := sqlstore.ExecInTx(ctx, tx, "PRAGMA defer_foreign_keys = ON"); err != nil {
			return err
		}
		now := keybox.NewTime(time.Now())
		return tx.CreateClient(ctx, keybox.Client{ID: "c-1", OwnerID: "nobody", Name: "Orphan", Email: "o@example.com",
			CreatedAt: now, UpdatedAt: now})
	})
	b := enqueue(t, s, createUser("b@example.com"))
	if err := release(); err == nil {
		t.Error("holding Update: got success, want the commit's failure")
	}
	for name, ch := range map[string]<-chan result{"a": a, "orphan": orphan, "b": b} {
		if r := <-ch; r.err == nil || r.panicked != nil {
			t.Errorf("%s: got error %v, panic %v; want the commit's failure", name, r.err, r.panicked)
		}
	}
	wantUsers(t, s, map[string]bool{"a@example.com": false, "b@example.com": false})

	if err := s.Update(ctx, createUser("after@example.com")); err != nil {
		t.Fatalf("an Update after a failed commit: %v", err)
	}
	wantUsers(t, s, map[string]bool{"after@example.com": true})
}

// TestGroupCommitGivesUp: an Update whose context ends while it waits for
// the writer fails with its context's error and never runs; one that waits
// longer than the store's connection wait is unavailable and never runs.
func TestGroupCommitGivesUp(t *testing.T) {
	t.Run("cancelled", func(t *testing.T) {
		s := storetest.SQLite(t)
		release := hold(t, s)
		ctx, cancel := context.WithCancel(context.Background())
		errs := make(chan error, 1)
		go func() { errs <- s.Update(ctx, createUser("cancelled@example.com")) }()
		for sqlstore.Queued(s) == 0 {
			runtime.Gosched()
		}
		cancel()
		if err := <-errs; !errors.Is(err, context.Canceled) {
			t.Errorf("cancelled while queued: got %v, want context.Canceled", err)
		}
		if err := release(); err != nil {
			t.Fatal(err)
		}
		if err := s.Update(context.Background(), createUser("next@example.com")); err != nil {
			t.Fatal(err)
		}
		wantUsers(t, s, map[string]bool{"cancelled@example.com": false, "next@example.com": true})
	})
	t.Run("unavailable", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "keybox.db")
		s, err := sqlite.Open(context.Background(), path, sqlstore.Options{Migrate: true, ConnWait: 50 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		release := hold(t, s)
		if err := s.Update(context.Background(), createUser("late@example.com")); !errors.Is(err, keybox.ErrUnavailable) {
			t.Errorf("queued past the connection wait: got %v, want ErrUnavailable", err)
		}
		if err := release(); err != nil {
			t.Fatal(err)
		}
		// Read through a store that waits as long as it takes on a loaded machine.
		patient, err := sqlite.Open(context.Background(), path, sqlstore.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer patient.Close()
		wantUsers(t, patient, map[string]bool{"late@example.com": false})
	})
}

// TestGroupCommitGathersAfterABatch: a lone Update on an idle store runs at
// once, however long the runner may gather; after a batch of three, the
// next three callers share one commit even when they come back one by one.
func TestGroupCommitGathersAfterABatch(t *testing.T) {
	s := batched(t)
	sqlstore.SetGatherTime(s, 10*time.Second)
	ctx := context.Background()
	if err := s.Update(ctx, createUser("lone@example.com")); err != nil {
		t.Fatalf("lone Update: %v", err)
	}

	release := hold(t, s)
	first := []<-chan result{enqueue(t, s, createUser("x@example.com")), enqueue(t, s, createUser("y@example.com"))}
	if err := release(); err != nil {
		t.Fatalf("holding Update: %v", err)
	}
	for _, r := range first {
		if got := <-r; got.err != nil || got.panicked != nil {
			t.Fatalf("first batch: %v %v", got.err, got.panicked)
		}
	}

	commits := sqlstore.Commits(s)
	var next []<-chan result
	for _, email := range []string{"p@example.com", "q@example.com", "r@example.com"} {
		next = append(next, arrive(s, createUser(email)))
	}
	for _, r := range next {
		if got := <-r; got.err != nil || got.panicked != nil {
			t.Fatalf("second batch: %v %v", got.err, got.panicked)
		}
	}
	if got := sqlstore.Commits(s) - commits; got != 1 {
		t.Errorf("got %d commits for the three callers that came back, want 1", got)
	}
	wantUsers(t, s, map[string]bool{"lone@example.com": true, "x@example.com": true, "y@example.com": true,
		"p@example.com": true, "q@example.com": true, "r@example.com": true})
}

// arrive starts an Update of fn and returns once it has ended, or waits in
// the queue while the runner gathers callers: a runner that does not gather
// commits each arrival on its own.
func arrive(s *sqlstore.Store, fn func(keybox.Tx) error) <-chan result {
	before := sqlstore.Queued(s)
	out, ended := make(chan result, 1), make(chan struct{})
	go func() {
		defer close(ended)
		var r result
		defer func() {
			r.panicked = recover()
			out <- r
		}()
		r.err = s.Update(context.Background(), fn)
	}()
	for sqlstore.Queued(s) == before || !sqlstore.Gathering(s) {
		select {
		case <-ended:
			return out
		default:
			runtime.Gosched()
		}
	}
	return out
}
