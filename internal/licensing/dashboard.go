package licensing

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/keyboxhq/keybox"
)

// Dashboard returns the caller's clients with their projects and licenses,
// optionally only clientID's, and the seats each license holds. It reads
// with four queries whatever the number of objects, run at once (each on
// a connection of its own: the licenses take most of the time, and the
// others are read meanwhile), and joins them here.
func (s *Service) Dashboard(ctx context.Context, owner keybox.User, clientID string) (keybox.Dashboard, error) {
	now := s.clock()
	var (
		clients                           []keybox.Client
		projects                          []keybox.Project
		licenses                          []keybox.License
		seats                             []keybox.Activation
		errClients, errProjects, errSeats error
		wg                                sync.WaitGroup
	)
	wg.Go(func() {
		clients, _, errClients = s.store.Clients(ctx, keybox.ClientFilter{OwnerID: owner.ID, ID: clientID})
	})
	wg.Go(func() {
		projects, _, errProjects = s.store.Projects(ctx, keybox.ProjectFilter{OwnerID: owner.ID, ClientID: clientID})
	})
	wg.Go(func() {
		seats, errSeats = s.store.ActivationsOf(ctx, keybox.ActivationFilter{OwnerID: owner.ID, ClientID: clientID})
	})
	licenses, errLicenses := s.store.DashboardLicenses(ctx, owner.ID, clientID)
	wg.Wait()
	switch {
	case errClients != nil:
		return keybox.Dashboard{}, fmt.Errorf("dashboard clients: %w", errClients)
	case clientID != "" && len(clients) == 0:
		return keybox.Dashboard{}, errClientNotFound
	case errProjects != nil:
		return keybox.Dashboard{}, fmt.Errorf("dashboard projects: %w", errProjects)
	case errLicenses != nil:
		return keybox.Dashboard{}, fmt.Errorf("dashboard licenses: %w", errLicenses)
	case errSeats != nil:
		return keybox.Dashboard{}, fmt.Errorf("dashboard seats in use: %w", errSeats)
	}
	s.setSeats(licenses, seats, now)
	return keybox.Dashboard{ClientsCount: len(clients), ProjectsCount: len(projects),
		Data: tree(clients, projects, licenses, now)}, nil
}

// tree puts each license under its project and each project under its
// client, keeping the order of each list. The licenses of every project
// share one array, and the projects of every client another: for thousands
// of them, growing a slice per parent cost more than the rest of the join.
func tree(clients []keybox.Client, projects []keybox.Project, licenses []keybox.License, now time.Time) []keybox.DashboardClient {
	projectAt := make(map[string]int, len(projects))
	for i, p := range projects {
		projectAt[p.ID] = i
	}
	// Licenses: counted per project, then moved within their own array so
	// that each project's are together (the list is the answer's: a second
	// array of thousands of licenses was as large as the read itself).
	// Licenses of no listed project go last, out of every project's range.
	ends := make([]int, len(projects)+2)
	at := make([]int32, len(licenses))
	for i := range licenses {
		p, ok := projectAt[licenses[i].ProjectID]
		if !ok {
			p = len(projects)
		}
		at[i] = int32(p)
		ends[p+1]++
	}
	for i := 1; i < len(ends); i++ {
		ends[i] += ends[i-1]
	}
	// from[k] is the license that moves to index k.
	from := make([]int32, len(licenses))
	next := append([]int(nil), ends[:len(projects)+1]...)
	for i, p := range at {
		from[next[p]] = int32(i)
		next[p]++
	}
	for i := range licenses {
		licenses[i].Status = statusAt(licenses[i], now)
	}
	for k := range from { // each cycle of the move, one copy a license
		if int(from[k]) == k {
			continue
		}
		saved, cur := licenses[k], k
		for int(from[cur]) != k {
			src := int(from[cur])
			licenses[cur], from[cur] = licenses[src], int32(cur)
			cur = src
		}
		licenses[cur], from[cur] = saved, int32(cur)
	}
	placed := licenses
	// Projects: the same, per client.
	clientAt := make(map[string]int, len(clients))
	for i, c := range clients {
		clientAt[c.ID] = i
	}
	cends := make([]int, len(clients)+1)
	for _, p := range projects {
		if at, ok := clientAt[p.ClientID]; ok {
			cends[at+1]++
		}
	}
	for i := 1; i < len(cends); i++ {
		cends[i] += cends[i-1]
	}
	nodes := make([]keybox.DashboardProject, cends[len(clients)])
	cnext := append([]int(nil), cends[:len(clients)]...)
	for i, p := range projects {
		if at, ok := clientAt[p.ClientID]; ok {
			nodes[cnext[at]] = keybox.DashboardProject{Project: p, Licenses: placed[ends[i]:ends[i+1]:ends[i+1]]}
			cnext[at]++
		}
	}
	data := make([]keybox.DashboardClient, len(clients))
	for i, c := range clients {
		data[i] = keybox.DashboardClient{Client: c, Projects: nodes[cends[i]:cends[i+1]:cends[i+1]]}
	}
	return data
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
