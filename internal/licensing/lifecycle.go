package licensing

import (
	"encoding/json"
	"time"

	"github.com/keyboxhq/keybox"
)

// Bounds of a license: its duration in months and its seats.
const (
	MinDuration    = 1
	MaxDuration    = 12
	MaxMachinesCap = 1000
)

// statusAt is a license's status at now: an ACTIVE license past its expiry
// is EXPIRED from that instant, whether or not the sweep has stored it.
func statusAt(l keybox.License, now time.Time) keybox.Status {
	if l.Status == keybox.StatusActive && now.After(l.ExpiresAt.Time) {
		return keybox.StatusExpired
	}
	return l.Status
}

// present returns the license as it must be shown at now.
func present(l keybox.License, now time.Time) keybox.License {
	l.Status = statusAt(l, now)
	return l
}

func presentAll(list []keybox.License, now time.Time) []keybox.License {
	for i := range list {
		list[i] = present(list[i], now)
	}
	return list
}

// addMonths is the expiry arithmetic: Go's AddDate in UTC, which carries an
// overflowing day into the next month (January 31 plus a month is in March).
func addMonths(t keybox.Time, months int) keybox.Time {
	return keybox.NewTime(t.UTC().AddDate(0, months, 0))
}

// clockStarted reports whether the license's time has begun to run: it has
// been activated at least once.
func clockStarted(l keybox.License) bool { return !l.ActivatedAt.IsZero() }

// parseServices reads a "services" member: a non-empty array of known
// services, without repeats, or one service as a plain string (as KeyBox's
// own dashboard sends it). ok is false for anything else.
func parseServices(raw json.RawMessage) (list []keybox.Service, ok bool) {
	var names []string
	if err := json.Unmarshal(raw, &names); err != nil {
		var one string
		if json.Unmarshal(raw, &one) != nil {
			return nil, false
		}
		names = []string{one}
	}
	if len(names) == 0 {
		return nil, false
	}
	seen := map[keybox.Service]bool{}
	for _, n := range names {
		s := keybox.Service(n)
		if s != keybox.ServiceHosting && s != keybox.ServiceDomain {
			return nil, false
		}
		if !seen[s] {
			seen[s] = true
			list = append(list, s)
		}
	}
	return list, true
}
