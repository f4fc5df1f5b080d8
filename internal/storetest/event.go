package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/keyboxhq/keybox"
)

// appendEvent links an event into its owner's chain as the licensing
// service does.
func (f *fixture) appendEvent(tx keybox.Tx, owner, typ, subjectID string, at keybox.Time) (keybox.Event, error) {
	ctx := context.Background()
	e := keybox.Event{ID: f.ids.New(at.Time), OwnerID: owner, Type: typ, Actor: keybox.Actor{Type: keybox.ActorSystem},
		Subject: keybox.Subject{Type: "license", ID: subjectID}, Data: []byte(`{"n":1}`), IP: "192.0.2.1", RequestID: "r1",
		CreatedAt: at}
	link, err := tx.NextInChain(ctx, owner)
	if err != nil {
		return e, err
	}
	e.Seq, e.PrevHash = link.Seq, link.PrevHash
	e.Hash = e.ChainHash(e.PrevHash)
	return e, tx.AppendEvent(ctx, e)
}

func (f *fixture) event(owner, typ, subjectID string, at keybox.Time) keybox.Event {
	f.t.Helper()
	var e keybox.Event
	f.must(f.update(func(tx keybox.Tx) error {
		var err error
		e, err = f.appendEvent(tx, owner, typ, subjectID, at)
		return err
	}))
	return e
}

// checkChain reads a chain back and checks that it is linked, numbered from
// first, and ends at its head.
func checkChain(t *testing.T, s keybox.Store, owner string, first int64, want int) {
	t.Helper()
	ctx := context.Background()
	var head keybox.EventChain
	chains, err := s.EventChains(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range chains {
		if c.OwnerID == owner {
			head = c
		}
	}
	list, err := s.ChainEvents(ctx, owner, first-1, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != want {
		t.Fatalf("chain %q: got %d events, want %d", owner, len(list), want)
	}
	prev := head.PrunedHash
	for i, e := range list {
		if e.Seq != first+int64(i) || e.PrevHash != prev || e.ChainHash(prev) != e.Hash {
			t.Fatalf("chain %q: event %d (seq %d) is not linked to the one before", owner, i, e.Seq)
		}
		prev = e.Hash
	}
	if n := len(list); n > 0 && (head.Seq != list[n-1].Seq || head.Hash != list[n-1].Hash) {
		t.Fatalf("chain %q: head %d %s, last event %d %s", owner, head.Seq, head.Hash, list[n-1].Seq, list[n-1].Hash)
	}
}

// testEventChain: each owner's events are numbered and linked in order, the
// installation's (no owner) apart; an append rolled back leaves nothing.
func testEventChain(t *testing.T, s keybox.Store) {
	f := newFixture(t, s)
	ctx := context.Background()
	alice := f.user("alice@example.com")
	for i := range 3 {
		e := f.event(alice.ID, keybox.EventLicenseCreated, "L", keybox.NewTime(base.Add(time.Duration(i)*time.Second)))
		if e.Seq != int64(i+1) {
			t.Fatalf("event %d: seq %d", i, e.Seq)
		}
	}
	f.event("", keybox.EventSigningKeyRotated, "K", base)
	boom := errors.New("boom")
	err := f.update(func(tx keybox.Tx) error {
		if _, err := f.appendEvent(tx, alice.ID, keybox.EventLicenseRevoked, "L", base); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("got %v, want boom", err)
	}
	checkChain(t, s, alice.ID, 1, 3)
	checkChain(t, s, "", 1, 1)
	e := f.event(alice.ID, keybox.EventLicenseRevoked, "L", base)
	if e.Seq != 4 {
		t.Fatalf("after a rollback: seq %d, want 4", e.Seq)
	}
	got, _, err := s.Events(ctx, keybox.EventFilter{OwnerID: alice.ID})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 4 || string(got[0].Data) != `{"n":1}` || got[0].IP != "192.0.2.1" || got[0].RequestID != "r1" ||
		got[0].Actor.Type != keybox.ActorSystem || got[0].Subject.ID != "L" {
		t.Fatalf("events read back: %+v", got)
	}
}

// testEventChainConcurrent: appends to one chain from many transactions at
// once still give one linear chain (the head row is locked on PostgreSQL).
func testEventChainConcurrent(t *testing.T, s keybox.Store) {
	f := newFixture(t, s)
	alice, bob := f.user("alice@example.com"), f.user("bob@example.com")
	const workers, each = 6, 8
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for w := range workers {
		owner := alice.ID
		if w%3 == 2 {
			owner = bob.ID
		}
		wg.Go(func() {
			for range each {
				errs <- f.update(func(tx keybox.Tx) error {
					_, err := f.appendEvent(tx, owner, keybox.EventActivationCreated, "A", base)
					return err
				})
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	checkChain(t, s, alice.ID, 1, 4*each)
	checkChain(t, s, bob.ID, 1, 2*each)
}

// testEventFilters: an owner's events, newest first, by type, subject and
// time; the installation's only when asked; never another owner's.
func testEventFilters(t *testing.T, s keybox.Store) {
	f := newFixture(t, s)
	ctx := context.Background()
	alice, bob := f.user("alice@example.com"), f.user("bob@example.com")
	at := func(min int) keybox.Time { return keybox.NewTime(base.Add(time.Duration(min) * time.Minute)) }
	f.event(alice.ID, keybox.EventLicenseCreated, "L1", at(0))
	f.event(alice.ID, keybox.EventLicenseRevoked, "L1", at(1))
	f.event(alice.ID, keybox.EventLicenseCreated, "L2", at(2))
	f.event(bob.ID, keybox.EventLicenseCreated, "L3", at(3))
	f.event("", keybox.EventSigningKeyRotated, "K", at(4))
	for _, tc := range []struct {
		name  string
		f     keybox.EventFilter
		want  []string // subjects, newest first
		wantN int
	}{
		{name: "all of alice's", f: keybox.EventFilter{OwnerID: alice.ID}, want: []string{"L2", "L1", "L1"}, wantN: 3},
		{name: "with the installation's", f: keybox.EventFilter{OwnerID: alice.ID, Installation: true}, want: []string{"K", "L2", "L1", "L1"}, wantN: 4},
		{name: "by type", f: keybox.EventFilter{OwnerID: alice.ID, Types: []string{keybox.EventLicenseRevoked}}, want: []string{"L1"}, wantN: 1},
		{name: "by subject", f: keybox.EventFilter{OwnerID: alice.ID, SubjectID: "L1"}, want: []string{"L1", "L1"}, wantN: 2},
		{name: "since", f: keybox.EventFilter{OwnerID: alice.ID, Since: at(1).Time}, want: []string{"L2", "L1"}, wantN: 2},
		{name: "a page", f: keybox.EventFilter{OwnerID: alice.ID, Page: keybox.Page{Offset: 1, Limit: 1}}, want: []string{"L1"}, wantN: 3},
		{name: "a page with the installation's", f: keybox.EventFilter{OwnerID: alice.ID, Installation: true, Page: keybox.Page{Offset: 1, Limit: 2}},
			want: []string{"L2", "L1"}, wantN: 4},
		{name: "the installation's by type", f: keybox.EventFilter{OwnerID: alice.ID, Installation: true, Types: []string{keybox.EventSigningKeyRotated}, Page: keybox.Page{Limit: 10}},
			want: []string{"K"}, wantN: 1},
		{name: "bob's", f: keybox.EventFilter{OwnerID: bob.ID}, want: []string{"L3"}, wantN: 1},
		{name: "nobody's", f: keybox.EventFilter{OwnerID: "someone"}, want: nil, wantN: 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, n, err := s.Events(ctx, tc.f)
			if err != nil {
				t.Fatal(err)
			}
			var subjects []string
			for _, e := range got {
				subjects = append(subjects, e.Subject.ID)
			}
			if fmt.Sprint(subjects) != fmt.Sprint(tc.want) || n != tc.wantN {
				t.Fatalf("got %v (total %d), want %v (total %d)", subjects, n, tc.want, tc.wantN)
			}
		})
	}
}

// testPruneEvents: pruning removes the start of a chain and keeps the hash
// of the last event removed as the chain's anchor.
func testPruneEvents(t *testing.T, s keybox.Store) {
	f := newFixture(t, s)
	ctx := context.Background()
	alice := f.user("alice@example.com")
	var evs []keybox.Event
	for i := range 5 {
		evs = append(evs, f.event(alice.ID, keybox.EventLicenseCreated, "L", keybox.NewTime(base.Add(time.Duration(i)*time.Hour))))
	}
	var through int64
	var n int
	f.must(f.update(func(tx keybox.Tx) error {
		var err error
		if through, err = tx.LastEventBefore(ctx, alice.ID, base.Add(150*time.Minute)); err != nil {
			return err
		}
		n, err = tx.PruneEvents(ctx, alice.ID, through)
		return err
	}))
	if through != 3 || n != 3 {
		t.Fatalf("pruned through %d, %d events; want 3 and 3", through, n)
	}
	chains, err := s.EventChains(ctx)
	f.must(err)
	if len(chains) != 1 || chains[0].PrunedSeq != 3 || chains[0].PrunedHash != evs[2].Hash || chains[0].Seq != 5 {
		t.Fatalf("chain after pruning: %+v", chains)
	}
	checkChain(t, s, alice.ID, 4, 2)
	f.must(f.update(func(tx keybox.Tx) error {
		none, err := tx.LastEventBefore(ctx, "nobody", base.Add(time.Hour))
		if err == nil && none != 0 {
			err = fmt.Errorf("nobody's last event: %d", none)
		}
		return err
	}))
}
