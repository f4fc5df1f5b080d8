package licensing

import (
	"context"
	"fmt"
	"time"

	"github.com/keyboxhq/keybox"
)

// Leases (floating seats). On a license with a lease, a seat lapses when its
// machine has not been heard from (an activation, a validation or a
// heartbeat) for the lease's length. A lapsed seat is judged at the moment
// of every read, so it stops counting against maxMachines the instant it
// lapses, on every server, whether or not anything has removed it yet; the
// lease sweep then removes it (and the event log records it).
//
// The hot path writes nothing: validations and heartbeats are remembered in
// memory by the counter and written in batches (every DefaultFlushInterval),
// so the stored time a seat was last heard from may be a few seconds late.
// This server corrects it with what it has not written yet; another server
// sharing the database sees it once written (and its cache is fresh): up to
// DefaultFlushInterval + DefaultCacheTTL late. MinLeaseSeconds leaves a
// machine that renews on time a wide margin over that.

// leaseOf returns the license's lease, 0 for none.
func leaseOf(l *keybox.License) time.Duration {
	return time.Duration(l.LeaseSeconds) * time.Second
}

// heardStored returns the last time the seat's machine was heard from, as
// stored: its activation or its last validation or heartbeat.
func heardStored(a *keybox.Activation) time.Time {
	if a.LastValidatedAt.After(a.ActivatedAt.Time) {
		return a.LastValidatedAt.Time
	}
	return a.ActivatedAt.Time
}

// heard returns the last time the seat's machine was heard from, counting
// what this server has seen and not yet written.
func (s *Service) heard(l *keybox.License, a *keybox.Activation) time.Time {
	at := heardStored(a)
	if pending := s.counts.seenAt(l.ID, a.ID); pending.After(at) {
		at = pending
	}
	return at
}

// lapsed reports whether the seat has lapsed at now: its license has a
// lease and its machine has been silent for at least that long. The
// counter is only asked when the stored time says lapsed, so that the hot
// path takes no lock for a seat that is plainly alive.
func (s *Service) lapsed(l *keybox.License, a *keybox.Activation, now time.Time) bool {
	lease := leaseOf(l)
	if lease <= 0 || now.Before(heardStored(a).Add(lease)) {
		return false
	}
	return !now.Before(s.heard(l, a).Add(lease))
}

// leaseCheck tells the lapsed seats of one license at one instant; the zero
// value finds none lapsed. It is passed by value, so that the hot path
// allocates nothing for it.
type leaseCheck struct {
	s   *Service
	l   *keybox.License
	now time.Time
}

func (s *Service) leaseCheck(l *keybox.License, now time.Time) leaseCheck {
	return leaseCheck{s: s, l: l, now: now}
}

func (lc leaseCheck) lapsed(a *keybox.Activation) bool {
	return lc.s != nil && lc.s.lapsed(lc.l, a, lc.now)
}

// seatsInUse counts the seats of l that hold a seat at now.
func (s *Service) seatsInUse(l *keybox.License, acts []keybox.Activation, now time.Time) int {
	n := 0
	for i := range acts {
		if !s.lapsed(l, &acts[i], now) {
			n++
		}
	}
	return n
}

// showLeases fills in each seat's lease expiry, for a license with a lease.
func (s *Service) showLeases(l *keybox.License, acts []keybox.Activation) {
	lease := leaseOf(l)
	for i := range acts {
		acts[i].LeaseExpiresAt = keybox.Time{}
		if lease > 0 {
			acts[i].LeaseExpiresAt = keybox.NewTime(s.heard(l, &acts[i]).Add(lease))
		}
	}
}

// removeLapsed deletes the lapsed seats of l, locked in tx, each with its
// activation.expired event, and returns the others. It does not write l.
func (s *Service) removeLapsed(ctx context.Context, tx keybox.Tx, ev *events, l keybox.License, acts []keybox.Activation, now time.Time) ([]keybox.Activation, error) {
	if l.LeaseSeconds <= 0 {
		return acts, nil
	}
	kept := acts[:0:0]
	for i := range acts {
		if !s.lapsed(&l, &acts[i], now) {
			kept = append(kept, acts[i])
			continue
		}
		if err := tx.DeleteActivation(ctx, l.ID, acts[i].ID); err != nil {
			return nil, fmt.Errorf("remove lapsed seat: %w", err)
		}
		if err := ev.seatLapsed(l, acts[i]); err != nil {
			return nil, err
		}
	}
	return kept, nil
}

// seatLapsed records, in the transaction that removes it, a seat removed
// because its lease lapsed: by the lease sweep, or by an activation that
// finds it lapsed. Time took the seat, so the system is the actor.
func (ev *events) seatLapsed(l keybox.License, seat keybox.Activation) error {
	return ev.add(keybox.Event{OwnerID: l.OwnerID, Type: keybox.EventActivationExpired, Actor: systemActor,
		Subject: activationSubject(seat)}, newSeatData(l, seat))
}

// Heartbeat is the answer to POST /validate/heartbeat: when the seat's lease
// now ends (zero for a license without a lease).
type Heartbeat struct {
	LeaseExpiresAt time.Time
}

// Heartbeat renews the lease of the caller's seat without counting a
// validation. Like Validate it reads through the cache and writes nothing
// itself: the renewal is written with the next batch. It refuses what
// activation refuses, and a machine that holds no live seat (its lease
// lapsed, or it never had one) as deactivation does.
func (s *Service) Heartbeat(ctx context.Context, c Check) (Heartbeat, error) {
	if c.Key == "" {
		return Heartbeat{}, errKeyRequired
	}
	e, err := s.cache.get(ctx, c.Key, s.load)
	if err != nil {
		return Heartbeat{}, fmt.Errorf("heartbeat: %w", err)
	}
	if !e.found {
		return Heartbeat{}, errLicenseNotFound
	}
	lic := e.license()
	l := &lic
	if machineMissing(*l, c) {
		return Heartbeat{}, errMachineRequired
	}
	now := s.clock()
	switch statusAt(*l, now) {
	case keybox.StatusRevoked:
		return Heartbeat{}, errRevoked
	case keybox.StatusExpired:
		return Heartbeat{}, errExpired
	case keybox.StatusPending:
		return Heartbeat{}, errNotOnThisDevice
	}
	if !sameProduct(string(l.ProductName), c.ProductName) {
		return Heartbeat{}, errWrongProduct
	}
	var buf [4]keybox.Activation
	seats := e.activations(buf[:0])
	i, _ := findSeat(seats, c, s.leaseCheck(l, now))
	if i < 0 {
		return Heartbeat{}, errNotOnThisDevice
	}
	s.counts.see(l.ID, seats[i].ID, now)
	var out Heartbeat
	if lease := leaseOf(l); lease > 0 {
		out.LeaseExpiresAt = now.Add(lease)
	}
	return out, nil
}

// leaseSweepBatch bounds the licenses one sweep pass locks.
const leaseSweepBatch = 500

// SweepLeases removes every lapsed seat and returns how many it removed.
// Reads never depend on it (they judge leases themselves); it keeps the
// seat lists short and records each lapse. What this server has seen is
// written first, so that it never removes a seat it knows is alive.
func (s *Service) SweepLeases(ctx context.Context) (int, error) {
	if err := s.FlushValidations(ctx); err != nil {
		return 0, fmt.Errorf("lease sweep: %w", err)
	}
	removed := 0
	for {
		now := s.clock()
		keys, err := s.store.LapsedLeases(ctx, now, leaseSweepBatch)
		if err != nil {
			return removed, fmt.Errorf("lease sweep: %w", err)
		}
		n := 0
		for _, key := range keys {
			k, err := s.sweepLicenseLeases(ctx, key, now)
			if err != nil {
				return removed, err
			}
			n += k
		}
		removed += n
		// A full batch may have more behind it; a batch that removed
		// nothing (renewed meanwhile) must not loop.
		if len(keys) < leaseSweepBatch || n == 0 {
			return removed, nil
		}
	}
}

// sweepLicenseLeases removes the lapsed seats of one license, locked.
func (s *Service) sweepLicenseLeases(ctx context.Context, key string, now time.Time) (int, error) {
	n := 0
	err := s.update(ctx, func(tx keybox.Tx, ev *events) error {
		l, err := tx.LicenseForUpdate(ctx, key)
		if err != nil {
			return storeErr(err, nil, "lease sweep")
		}
		acts, err := tx.Activations(ctx, l.ID)
		if err != nil {
			return err
		}
		kept, err := s.removeLapsed(ctx, tx, ev, l, acts, now)
		if err != nil {
			return err
		}
		if n = len(acts) - len(kept); n == 0 {
			return nil
		}
		showFirstBinding(&l, kept)
		l.UpdatedAt = keybox.NewTime(now)
		return tx.UpdateLicense(ctx, l)
	})
	if err != nil {
		if keybox.IsCode(err, keybox.NotFound) {
			return 0, nil // deleted meanwhile
		}
		return 0, err
	}
	if n > 0 {
		s.licensesChanged(key)
	}
	return n, nil
}
