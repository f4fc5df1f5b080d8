package storetest

import (
	"context"
	"errors"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/keyboxhq/keybox"
)

// testSignInCodes: a one-time code is taken once, by one taker even when
// several try at once; expired codes are deleted by age; deleting an account
// deletes its codes.
func testSignInCodes(t *testing.T, s keybox.Store) {
	f := newFixture(t, s)
	ctx := context.Background()
	alice, bob := f.user("alice@example.com"), f.user("bob@example.com")
	code := func(hash string, u keybox.User, expires time.Duration) keybox.SignInCode {
		return keybox.SignInCode{Hash: hash, UserID: u.ID, ExpiresAt: keybox.NewTime(base.Add(expires)), CreatedAt: base}
	}
	a := code("aaaa", alice, time.Minute)
	f.must(f.update(func(tx keybox.Tx) error { return tx.CreateSignInCode(ctx, a) }))

	take := func(hash string) (keybox.SignInCode, error) {
		var got keybox.SignInCode
		err := f.update(func(tx keybox.Tx) error {
			var err error
			got, err = tx.TakeSignInCode(ctx, hash)
			return err
		})
		return got, err
	}
	got, err := take("aaaa")
	f.must(err)
	if !reflect.DeepEqual(got, a) {
		t.Fatalf("taken: got %+v, want %+v", got, a)
	}
	_, err = take("aaaa")
	wantCode(t, err, keybox.ErrNotFound)
	_, err = take("never")
	wantCode(t, err, keybox.ErrNotFound)

	// A code taken in a transaction that rolls back is still there.
	f.must(f.update(func(tx keybox.Tx) error { return tx.CreateSignInCode(ctx, code("bbbb", alice, time.Minute)) }))
	rollback := errors.New("rollback")
	err = f.update(func(tx keybox.Tx) error {
		if _, err := tx.TakeSignInCode(ctx, "bbbb"); err != nil {
			return err
		}
		return rollback
	})
	wantCode(t, err, rollback)

	// Several takers at once: exactly one gets the code.
	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() { _, errs[i] = take("bbbb") })
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		switch {
		case err == nil:
			won++
		case errors.Is(err, keybox.ErrNotFound):
		default:
			t.Errorf("unexpected error: %v", err)
		}
	}
	if won != 1 {
		t.Fatalf("%d takers got the code, want exactly 1", won)
	}

	// Expired codes go; others stay.
	f.must(f.update(func(tx keybox.Tx) error {
		for _, c := range []keybox.SignInCode{code("old", alice, -time.Second), code("edge", bob, 0), code("new", bob, time.Minute)} {
			if err := tx.CreateSignInCode(ctx, c); err != nil {
				return err
			}
		}
		return tx.DeleteSignInCodes(ctx, base.Time)
	}))
	if _, err := take("old"); !errors.Is(err, keybox.ErrNotFound) {
		t.Errorf("an expired code survived: %v", err)
	}
	if _, err := take("edge"); err != nil {
		t.Errorf("a code expiring at the cut-off was deleted: %v", err)
	}

	// An account's codes go with it; a code must name an existing account.
	f.must(f.update(func(tx keybox.Tx) error { return tx.CreateSignInCode(ctx, code("bob2", bob, time.Minute)) }))
	f.must(f.update(func(tx keybox.Tx) error { return tx.DeleteUser(ctx, bob.ID, false) }))
	for _, h := range []string{"new", "bob2"} {
		if _, err := take(h); !errors.Is(err, keybox.ErrNotFound) {
			t.Errorf("code %s of a deleted account: got %v, want not found", h, err)
		}
	}
	err = f.update(func(tx keybox.Tx) error { return tx.CreateSignInCode(ctx, code("ghost", bob, time.Minute)) })
	wantCode(t, err, keybox.ErrInUse)
}
