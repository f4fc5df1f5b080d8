package licensing

import (
	"context"
	"fmt"
	"time"

	"github.com/keyboxhq/keybox"
)

// Dashboard returns the caller's clients with their projects and licenses,
// optionally only clientID's, and the seats each license holds. It reads
// with four queries whatever the number of objects, and joins them here.
func (s *Service) Dashboard(ctx context.Context, owner keybox.User, clientID string) (keybox.Dashboard, error) {
	clients, _, err := s.store.Clients(ctx, keybox.ClientFilter{OwnerID: owner.ID, ID: clientID})
	if err != nil {
		return keybox.Dashboard{}, fmt.Errorf("dashboard clients: %w", err)
	}
	if clientID != "" && len(clients) == 0 {
		return keybox.Dashboard{}, errClientNotFound
	}
	projects, _, err := s.store.Projects(ctx, keybox.ProjectFilter{OwnerID: owner.ID, ClientID: clientID})
	if err != nil {
		return keybox.Dashboard{}, fmt.Errorf("dashboard projects: %w", err)
	}
	now := s.clock()
	licenses, _, err := s.store.Licenses(ctx, keybox.LicenseFilter{OwnerID: owner.ID, ClientID: clientID, Now: now})
	if err != nil {
		return keybox.Dashboard{}, fmt.Errorf("dashboard licenses: %w", err)
	}
	if err := s.countSeats(ctx, keybox.ActivationFilter{OwnerID: owner.ID, ClientID: clientID}, licenses, now); err != nil {
		return keybox.Dashboard{}, err
	}

	byProject := make(map[string][]keybox.License, len(projects))
	for _, l := range licenses {
		byProject[l.ProjectID] = append(byProject[l.ProjectID], present(l, now))
	}
	byClient := make(map[string][]keybox.DashboardProject, len(clients))
	for _, p := range projects {
		ls := byProject[p.ID]
		if ls == nil {
			ls = []keybox.License{}
		}
		byClient[p.ClientID] = append(byClient[p.ClientID], keybox.DashboardProject{Project: p, Licenses: ls})
	}
	d := keybox.Dashboard{ClientsCount: len(clients), ProjectsCount: len(projects), Data: make([]keybox.DashboardClient, 0, len(clients))}
	for _, c := range clients {
		ps := byClient[c.ID]
		if ps == nil {
			ps = []keybox.DashboardProject{}
		}
		d.Data = append(d.Data, keybox.DashboardClient{Client: c, Projects: ps})
	}
	return d, nil
}

// Stats windows.
const (
	ExpiringWithinDays = 30
	ValidationDays     = 30
	expiringShown      = 50
)

// Stats returns the caller's license counts by status, the licenses that
// expire in the next 30 days, and validations per day for the last 30.
func (s *Service) Stats(ctx context.Context, owner keybox.User) (keybox.Stats, error) {
	now := s.clock()
	counts, err := s.store.LicenseCounts(ctx, owner.ID, now)
	if err != nil {
		return keybox.Stats{}, fmt.Errorf("stats: %w", err)
	}
	st := keybox.Stats{Counts: keybox.StatusCounts{
		Pending: counts[keybox.StatusPending], Active: counts[keybox.StatusActive],
		Expired: counts[keybox.StatusExpired], Revoked: counts[keybox.StatusRevoked],
	}}
	st.Counts.Total = st.Counts.Pending + st.Counts.Active + st.Counts.Expired + st.Counts.Revoked

	soon, n, err := s.store.Licenses(ctx, keybox.LicenseFilter{
		OwnerID: owner.ID, Status: keybox.StatusActive, Now: now,
		ExpiresBefore: now.Add(ExpiringWithinDays * 24 * time.Hour), SoonestFirst: true,
		Page: keybox.Page{Limit: expiringShown},
	})
	if err != nil {
		return keybox.Stats{}, fmt.Errorf("stats: %w", err)
	}
	st.ExpiringSoon = keybox.ExpiringLicenses{Days: ExpiringWithinDays, Count: n, Licenses: soon}

	today := keybox.DayOf(now)
	from := today - ValidationDays + 1
	daily, err := s.store.Validations(ctx, owner.ID, from, today)
	if err != nil {
		return keybox.Stats{}, fmt.Errorf("stats: %w", err)
	}
	perDay := make(map[keybox.Day]int, len(daily))
	for _, d := range daily {
		perDay[d.Day] = d.Count
	}
	perDay[today] += s.counts.pending(owner.ID, today)
	for d := from; d <= today; d++ {
		st.Validations = append(st.Validations, keybox.DayCount{Date: d.String(), Count: perDay[d]})
	}
	return st, nil
}
