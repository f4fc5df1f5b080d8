package licensing

import (
	"context"
	"fmt"
	"time"

	"github.com/keyboxhq/keybox"
)

// DashboardClient is a client with its projects, as GET /dashboard shows it.
type DashboardClient struct {
	keybox.Client
	Projects []DashboardProject `json:"projects"`
}

// DashboardProject is a project with its licenses.
type DashboardProject struct {
	keybox.Project
	Licenses []keybox.License `json:"licenses"`
}

// Dashboard is the caller's whole tree, or one client's.
type Dashboard struct {
	ClientsCount  int               `json:"clientsCount"`
	ProjectsCount int               `json:"projectsCount"`
	Data          []DashboardClient `json:"data"`
}

// Dashboard returns the caller's clients with their projects and licenses,
// optionally only clientID's. It reads with three queries whatever the
// number of objects, and joins them here.
func (s *Service) Dashboard(ctx context.Context, owner keybox.User, clientID string) (Dashboard, error) {
	clients, _, err := s.store.Clients(ctx, keybox.ClientFilter{OwnerID: owner.ID, ID: clientID})
	if err != nil {
		return Dashboard{}, fmt.Errorf("dashboard clients: %w", err)
	}
	if clientID != "" && len(clients) == 0 {
		return Dashboard{}, errClientNotFound
	}
	projects, _, err := s.store.Projects(ctx, keybox.ProjectFilter{OwnerID: owner.ID, ClientID: clientID})
	if err != nil {
		return Dashboard{}, fmt.Errorf("dashboard projects: %w", err)
	}
	now := s.clock()
	licenses, _, err := s.store.Licenses(ctx, keybox.LicenseFilter{OwnerID: owner.ID, ClientID: clientID, Now: now})
	if err != nil {
		return Dashboard{}, fmt.Errorf("dashboard licenses: %w", err)
	}

	byProject := make(map[string][]keybox.License, len(projects))
	for _, l := range licenses {
		byProject[l.ProjectID] = append(byProject[l.ProjectID], present(l, now))
	}
	byClient := make(map[string][]DashboardProject, len(clients))
	for _, p := range projects {
		ls := byProject[p.ID]
		if ls == nil {
			ls = []keybox.License{}
		}
		byClient[p.ClientID] = append(byClient[p.ClientID], DashboardProject{Project: p, Licenses: ls})
	}
	d := Dashboard{ClientsCount: len(clients), ProjectsCount: len(projects), Data: make([]DashboardClient, 0, len(clients))}
	for _, c := range clients {
		ps := byClient[c.ID]
		if ps == nil {
			ps = []DashboardProject{}
		}
		d.Data = append(d.Data, DashboardClient{Client: c, Projects: ps})
	}
	return d, nil
}

// Stats is GET /dashboard/stats: what the dashboard's home page charts.
type Stats struct {
	Counts       StatusCounts     `json:"counts"`
	ExpiringSoon ExpiringLicenses `json:"expiringSoon"`
	Validations  []DayCount       `json:"validations"`
}

// StatusCounts are the caller's licenses by status at now.
type StatusCounts struct {
	Total   int `json:"total"`
	Pending int `json:"PENDING"`
	Active  int `json:"ACTIVE"`
	Expired int `json:"EXPIRED"`
	Revoked int `json:"REVOKED"`
}

// ExpiringLicenses are ACTIVE licenses that expire within the window.
type ExpiringLicenses struct {
	Days     int              `json:"days"`
	Count    int              `json:"count"`
	Licenses []keybox.License `json:"licenses"`
}

// DayCount is the number of validations on one UTC day.
type DayCount struct {
	Date  string `json:"date"`
	Count int    `json:"count"`
}

// Stats windows.
const (
	ExpiringWithinDays = 30
	ValidationDays     = 30
	expiringShown      = 50
)

// Stats returns the caller's license counts by status, the licenses that
// expire in the next 30 days, and validations per day for the last 30.
func (s *Service) Stats(ctx context.Context, owner keybox.User) (Stats, error) {
	now := s.clock()
	counts, err := s.store.LicenseCounts(ctx, owner.ID, now)
	if err != nil {
		return Stats{}, fmt.Errorf("stats: %w", err)
	}
	st := Stats{Counts: StatusCounts{
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
		return Stats{}, fmt.Errorf("stats: %w", err)
	}
	st.ExpiringSoon = ExpiringLicenses{Days: ExpiringWithinDays, Count: n, Licenses: soon}

	today := keybox.DayOf(now)
	from := today - ValidationDays + 1
	daily, err := s.store.Validations(ctx, owner.ID, from, today)
	if err != nil {
		return Stats{}, fmt.Errorf("stats: %w", err)
	}
	perDay := make(map[keybox.Day]int, len(daily))
	for _, d := range daily {
		perDay[d.Day] = d.Count
	}
	perDay[today] += s.counts.pending(owner.ID, today)
	for d := from; d <= today; d++ {
		st.Validations = append(st.Validations, DayCount{Date: d.String(), Count: perDay[d]})
	}
	return st, nil
}

// AppendJSON appends the project with its licenses.
func (p DashboardProject) AppendJSON(b []byte) []byte {
	b = append(p.Project.AppendJSONOpen(b), `,"licenses":[`...)
	for i, l := range p.Licenses {
		if i > 0 {
			b = append(b, ',')
		}
		b = l.AppendJSON(b)
	}
	return append(b, "]}"...)
}

// MarshalJSON encodes the project with its licenses (and shadows the
// embedded Project's encoder, which would drop them).
func (p DashboardProject) MarshalJSON() ([]byte, error) { return p.AppendJSON(nil), nil }

// AppendJSON appends the client with its projects.
func (c DashboardClient) AppendJSON(b []byte) []byte {
	b = append(c.Client.AppendJSONOpen(b), `,"projects":[`...)
	for i, p := range c.Projects {
		if i > 0 {
			b = append(b, ',')
		}
		b = p.AppendJSON(b)
	}
	return append(b, "]}"...)
}

// MarshalJSON encodes the client with its projects.
func (c DashboardClient) MarshalJSON() ([]byte, error) { return c.AppendJSON(nil), nil }
