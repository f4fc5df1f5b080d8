package storetest

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/keyboxhq/keybox"
)

// testAPITokens: a token round-trips (its times null or set), is found by
// its hash with its owner, listed newest first among its owner's only,
// deleted by its owner only, and with its owner's account; a second token
// with the same hash is a Conflict.
func testAPITokens(t *testing.T, s keybox.Store) {
	f := newFixture(t, s)
	ctx := context.Background()
	alice, bob := f.user("alice@example.com"), f.user("bob@example.com")
	token := func(owner keybox.User, hash string, created keybox.Time, expires keybox.Time) keybox.APIToken {
		k := keybox.APIToken{ID: f.id(), OwnerID: owner.ID, Name: "token " + hash, Scope: keybox.ScopeRead, Prefix: "kbx_" + hash,
			Hash: hash, ExpiresAt: expires, CreatedAt: created, UpdatedAt: created}
		f.must(f.update(func(tx keybox.Tx) error { return tx.CreateAPIToken(ctx, k) }))
		return k
	}
	older := token(alice, "aaaa", base, keybox.Time{})
	newer := token(alice, "bbbb", keybox.NewTime(base.Add(time.Second)), keybox.NewTime(base.Add(time.Hour)))
	bobs := token(bob, "cccc", base, keybox.Time{})

	got, owner, err := s.APITokenByHash(ctx, "bbbb")
	f.must(err)
	if !reflect.DeepEqual(got, newer) || owner.ID != alice.ID || owner.Email != alice.Email || owner.Role != alice.Role {
		t.Fatalf("by hash: got %+v of %+v, want %+v of %s", got, owner, newer, alice.ID)
	}
	_, _, err = s.APITokenByHash(ctx, "dddd")
	wantCode(t, err, keybox.ErrNotFound)

	list, err := s.APITokens(ctx, alice.ID)
	f.must(err)
	if !reflect.DeepEqual(list, []keybox.APIToken{newer, older}) {
		t.Fatalf("alice's tokens: got %+v, want the newer then the older", list)
	}

	dup := older
	dup.ID = f.id()
	wantCode(t, f.update(func(tx keybox.Tx) error { return tx.CreateAPIToken(ctx, dup) }), keybox.ErrDuplicate)

	// The last use is written only when the stored one is older than asked.
	at := base.Add(time.Minute)
	f.must(s.TouchAPIToken(ctx, older.ID, at, at))
	f.must(s.TouchAPIToken(ctx, older.ID, at.Add(time.Second), at)) // written at `at`: not before it
	got, _, err = s.APITokenByHash(ctx, "aaaa")
	f.must(err)
	if !got.LastUsedAt.Equal(at) {
		t.Fatalf("last used %v, want %v", got.LastUsedAt, at)
	}
	f.must(s.TouchAPIToken(ctx, older.ID, at.Add(2*time.Minute), at.Add(time.Millisecond)))
	got, _, err = s.APITokenByHash(ctx, "aaaa")
	f.must(err)
	if !got.LastUsedAt.Equal(at.Add(2 * time.Minute)) {
		t.Fatalf("last used %v, want %v", got.LastUsedAt, at.Add(2*time.Minute))
	}

	// Only its owner deletes a token.
	err = f.update(func(tx keybox.Tx) error { return tx.DeleteAPIToken(ctx, bob.ID, older.ID) })
	wantCode(t, err, keybox.ErrNotFound)
	f.must(f.update(func(tx keybox.Tx) error { return tx.DeleteAPIToken(ctx, alice.ID, older.ID) }))
	_, _, err = s.APITokenByHash(ctx, "aaaa")
	wantCode(t, err, keybox.ErrNotFound)

	var n int
	f.must(f.update(func(tx keybox.Tx) error {
		var err error
		n, err = tx.DeleteAPITokens(ctx, alice.ID)
		return err
	}))
	if list, err := s.APITokens(ctx, alice.ID); err != nil || len(list) != 0 || n != 1 {
		t.Fatalf("after deleting alice's tokens: %d deleted, %d left (%v), want 1 and 0", n, len(list), err)
	}

	// Deleting an account deletes its tokens; another's stay.
	carol := f.user("carol@example.com")
	token(carol, "eeee", base, keybox.Time{})
	f.must(f.update(func(tx keybox.Tx) error { return tx.DeleteUser(ctx, carol.ID, false) }))
	_, _, err = s.APITokenByHash(ctx, "eeee")
	wantCode(t, err, keybox.ErrNotFound)
	if got, _, err := s.APITokenByHash(ctx, "cccc"); err != nil || got.ID != bobs.ID {
		t.Fatalf("bob's token: %+v, %v", got, err)
	}
}
