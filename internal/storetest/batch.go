package storetest

import (
	"errors"
	"sync"
	"testing"

	"github.com/keyboxhq/keybox"
)

// testEventChainWithFailures: concurrent Updates append to one chain, and
// every third one fails after its append. However the store runs them (on
// SQLite, several share a commit, each in a savepoint), an append rolled
// back leaves neither an event nor a gap: the chain holds exactly the
// committed events, each linked to the one before.
func testEventChainWithFailures(t *testing.T, s keybox.Store) {
	f := newFixture(t, s)
	alice := f.user("alice@example.com")
	boom := errors.New("boom")
	const workers, each = 8, 9
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				errs <- f.update(func(tx keybox.Tx) error {
					if _, err := f.appendEvent(tx, alice.ID, keybox.EventActivationCreated, "A", base); err != nil {
						return err
					}
					if (w*each+i)%3 == 0 {
						return boom
					}
					return nil
				})
			}
		})
	}
	wg.Wait()
	close(errs)
	failed := 0
	for err := range errs {
		switch {
		case errors.Is(err, boom):
			failed++
		case err != nil:
			t.Fatal(err)
		}
	}
	if failed != workers*each/3 {
		t.Fatalf("%d Updates failed, want %d", failed, workers*each/3)
	}
	checkChain(t, s, alice.ID, 1, workers*each-failed)
}
