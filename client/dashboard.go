package client

import (
	"context"
	"encoding/json"
	"net/url"

	"github.com/keyboxhq/keybox"
)

// Dashboard is GET /dashboard: the caller's clients with their projects and
// licenses. (The server's own types live in an internal package; these are
// the same shape on the wire.)
type Dashboard struct {
	ClientsCount  int               `json:"clientsCount"`
	ProjectsCount int               `json:"projectsCount"`
	Data          []DashboardClient `json:"data"`
}

// DashboardClient is a client with its projects.
type DashboardClient struct {
	keybox.Client
	Projects []DashboardProject `json:"projects"`
}

// DashboardProject is a project with its licenses.
type DashboardProject struct {
	keybox.Project
	Licenses []keybox.License `json:"licenses"`
}

// Stats is GET /dashboard/stats: what the dashboard's charts show.
type Stats struct {
	Counts       StatusCounts     `json:"counts"`
	ExpiringSoon ExpiringLicenses `json:"expiringSoon"`
	Validations  []DayCount       `json:"validations"`
}

// StatusCounts are the caller's licenses by status at the moment of the call.
type StatusCounts struct {
	Total   int `json:"total"`
	Pending int `json:"PENDING"`
	Active  int `json:"ACTIVE"`
	Expired int `json:"EXPIRED"`
	Revoked int `json:"REVOKED"`
}

// ExpiringLicenses are ACTIVE licenses that expire within Days, soonest first.
type ExpiringLicenses struct {
	Days     int              `json:"days"`
	Count    int              `json:"count"`
	Licenses []keybox.License `json:"licenses"`
}

// DayCount is the number of validations on one UTC day (YYYY-MM-DD).
type DayCount struct {
	Date  string `json:"date"`
	Count int    `json:"count"`
}

// MarshalJSON encodes the client with its projects: without it, the
// embedded keybox.Client's encoder would be used and drop them.
func (d DashboardClient) MarshalJSON() ([]byte, error) {
	b := append(d.Client.AppendJSONOpen(nil), `,"projects":`...)
	ps := d.Projects
	if ps == nil {
		ps = []DashboardProject{}
	}
	inner, err := json.Marshal(ps)
	if err != nil {
		return nil, err
	}
	return append(append(b, inner...), '}'), nil
}

// MarshalJSON encodes the project with its licenses (see DashboardClient).
func (p DashboardProject) MarshalJSON() ([]byte, error) {
	b := append(p.Project.AppendJSONOpen(nil), `,"licenses":[`...)
	for i, l := range p.Licenses {
		if i > 0 {
			b = append(b, ',')
		}
		b = l.AppendJSON(b)
	}
	return append(b, "]}"...), nil
}

// Dashboard returns the caller's whole tree, or only clientID's when it is set.
func (c *Client) Dashboard(ctx context.Context, clientID string) (Dashboard, error) {
	var q url.Values
	if clientID != "" {
		q = url.Values{"clientId": {clientID}}
	}
	var out Dashboard
	err := c.do(ctx, "GET", "/dashboard", q, nil, &out)
	return out, err
}

// Stats returns license counts by status, the licenses expiring in the next
// 30 days and validations per day for the last 30.
func (c *Client) Stats(ctx context.Context) (Stats, error) {
	var out Stats
	err := c.do(ctx, "GET", "/dashboard/stats", nil, nil, &out)
	return out, err
}
