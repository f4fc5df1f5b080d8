package licensing

import (
	"context"
	"time"
)

// SweepInterval is how often the background sweep persists expiries: at
// least once a minute, so that what is stored is never long behind what is
// shown (a license is judged expired the instant it passes its expiry).
const SweepInterval = 30 * time.Second

// SweepExpired stores EXPIRED on every ACTIVE license past its expiry and
// returns how many changed. Reads never depend on it (they judge expiry
// themselves); it keeps stored statuses, filters and exports honest.
func (s *Service) SweepExpired(ctx context.Context) (int, error) {
	return s.store.ExpireLicenses(ctx, s.clock())
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
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
