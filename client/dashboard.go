package client

import (
	"context"
	"net/url"

	"github.com/keyboxhq/keybox"
)

// The dashboard's views are the root package's, as the server builds them.
type (
	// Dashboard is GET /dashboard: the caller's clients with their projects and licenses.
	Dashboard = keybox.Dashboard
	// DashboardClient is a client with its projects.
	DashboardClient = keybox.DashboardClient
	// DashboardProject is a project with its licenses.
	DashboardProject = keybox.DashboardProject
	// Stats is GET /dashboard/stats: what the dashboard's charts show.
	Stats = keybox.Stats
	// StatusCounts are the caller's licenses by status at the moment of the call.
	StatusCounts = keybox.StatusCounts
	// ExpiringLicenses are ACTIVE licenses that expire within Days, soonest first.
	ExpiringLicenses = keybox.ExpiringLicenses
	// DayCount is the number of validations on one UTC day (YYYY-MM-DD).
	DayCount = keybox.DayCount
)

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
