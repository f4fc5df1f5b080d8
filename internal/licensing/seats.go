package licensing

import (
	"context"
	"fmt"
	"time"

	"github.com/keyboxhq/keybox"
)

// countSeats sets each listed license's seats in use at now, from one read
// of the seats f selects (which must hold every seat of the listed ones).
func (s *Service) countSeats(ctx context.Context, f keybox.ActivationFilter, list []keybox.License, now time.Time) error {
	if len(list) == 0 {
		return nil
	}
	acts, err := s.store.ActivationsOf(ctx, f)
	if err != nil {
		return fmt.Errorf("seats in use: %w", err)
	}
	s.setSeats(list, acts, now)
	return nil
}

// setSeats sets each listed license's seats in use at now, from acts, which
// holds every seat of the listed ones.
func (s *Service) setSeats(list []keybox.License, acts []keybox.Activation, now time.Time) {
	if len(list) == 0 {
		return
	}
	byLicense := make(map[string][]keybox.Activation, len(list))
	for _, a := range acts {
		byLicense[a.LicenseID] = append(byLicense[a.LicenseID], a)
	}
	counts := make([]int, len(list)) // one allocation for every count
	for i := range list {
		counts[i] = s.seatsInUse(&list[i], byLicense[list[i].ID], now)
		list[i].SeatsInUse = &counts[i]
	}
}
