package keybox

// The dashboard's views (GET /dashboard and its stats): shared by the server, which builds them,
// and the Go SDK, which reads them.

// DashboardClient is a client with its projects, as GET /dashboard shows it.
type DashboardClient struct {
	Client
	Projects []DashboardProject `json:"projects"`
}

// DashboardProject is a project with its licenses.
type DashboardProject struct {
	Project
	Licenses []License `json:"licenses"`
}

// Dashboard is the caller's whole tree, or one client's.
type Dashboard struct {
	ClientsCount  int               `json:"clientsCount"`
	ProjectsCount int               `json:"projectsCount"`
	Data          []DashboardClient `json:"data"`
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
	Days     int       `json:"days"`
	Count    int       `json:"count"`
	Licenses []License `json:"licenses"`
}

// DayCount is the number of validations on one UTC day.
type DayCount struct {
	Date  string `json:"date"`
	Count int    `json:"count"`
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
