package licensing

import (
	"context"
	"fmt"
	"time"

	"github.com/keyboxhq/keybox"
)

// SweepInterval is how often the background sweep persists expiries: at
// least once a minute, so that what is stored is never long behind what is
// shown (a license is judged expired the instant it passes its expiry).
const SweepInterval = 30 * time.Second

// sweepBatch is how many licenses one transaction of the sweep expires.
const sweepBatch = 500

// SweepExpired stores EXPIRED on every ACTIVE license past its expiry, with
// a license.expired event for each, and returns how many changed. Reads
// never depend on it (they judge expiry themselves); it keeps stored
// statuses, filters and exports honest, and tells webhooks.
func (s *Service) SweepExpired(ctx context.Context) (int, error) {
	total := 0
	for {
		var expired []keybox.License
		err := s.update(ctx, func(tx keybox.Tx, ev *events) error {
			var err error
			if expired, err = tx.ExpireLicenses(ctx, s.clock(), sweepBatch); err != nil {
				return err
			}
			for _, l := range expired {
				err := ev.add(keybox.Event{OwnerID: l.OwnerID, Type: keybox.EventLicenseExpired, Actor: systemActor,
					Subject: licenseSubject(l)}, map[string]any{"key": l.Key, "expiresAt": l.ExpiresAt,
					"status": map[string]any{"from": keybox.StatusActive, "to": keybox.StatusExpired}})
				if err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return total, fmt.Errorf("expire licenses: %w", err)
		}
		total += len(expired)
		if len(expired) < sweepBatch {
			return total, nil
		}
	}
}

// RunSweeper sweeps expiries and lapsed leases every interval until ctx
// ends, then returns. It is safe on several servers sharing one database:
// both sweeps are idempotent, and each lapsed seat is removed under its
// license's lock, by one of them.
func (s *Service) RunSweeper(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if n, err := s.SweepExpired(ctx); err != nil {
			if ctx.Err() != nil {
				return
			}
			s.log.Error("expiry sweep", "error", err)
		} else if n > 0 {
			s.log.Info("expiry sweep", "expired", n)
		}
		if n, err := s.SweepLeases(ctx); err != nil {
			if ctx.Err() != nil {
				return
			}
			s.log.Error("lease sweep", "error", err)
		} else if n > 0 {
			s.log.Info("lease sweep", "lapsed", n)
		}
		s.maybePrune(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
