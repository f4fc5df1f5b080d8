package client

import (
	"context"

	"github.com/keyboxhq/keybox"
)

// ProjectList is one page of projects, newest first.
type ProjectList struct {
	Projects []keybox.Project `json:"projects"`
	Total    int              `json:"total"`
	Page     int              `json:"page"`
	Limit    int              `json:"limit"`
}

// ProjectListOptions select projects, optionally of one client.
type ProjectListOptions struct {
	ClientID string
	ListOptions
}

// NewProjectWithLicense is the body of POST /projects/createProject.
type NewProjectWithLicense struct {
	ClientID    string `json:"clientId"`
	ProjectName string `json:"projectName"`
	// Duration is the first license's months, 1–12; 0 takes the policy's.
	Duration int              `json:"duration,omitempty"`
	Services []keybox.Service `json:"services"`
	// Policy, when set, is the new project's policy, under which its first
	// license is issued (members left nil take the defaults).
	Policy *PolicyUpdate `json:"policy,omitempty"`
}

// CreateProjectWithLicense is KeyBox's createProject: a project and its
// first license (PENDING, one seat), in one transaction.
func (c *Client) CreateProjectWithLicense(ctx context.Context, in NewProjectWithLicense) (keybox.Project, keybox.License, error) {
	var out struct {
		Project keybox.Project `json:"project"`
		License keybox.License `json:"license"`
	}
	err := c.do(ctx, "POST", "/projects/createProject", nil, in, &out)
	return out.Project, out.License, err
}

// CreateProject creates a project for one of the caller's clients, without a license.
func (c *Client) CreateProject(ctx context.Context, clientID, name string) (keybox.Project, error) {
	var out struct {
		Project keybox.Project `json:"project"`
	}
	in := map[string]string{"clientId": clientID, "name": name}
	err := c.do(ctx, "POST", "/projects", nil, in, &out)
	return out.Project, err
}

// Projects lists the caller's projects.
func (c *Client) Projects(ctx context.Context, opts ProjectListOptions) (ProjectList, error) {
	q := opts.values()
	if opts.ClientID != "" {
		q.Set("clientId", opts.ClientID)
	}
	var out ProjectList
	err := c.do(ctx, "GET", "/projects", q, nil, &out)
	return out, err
}

// Project returns one of the caller's projects.
func (c *Client) Project(ctx context.Context, id string) (keybox.Project, error) {
	var out struct {
		Project keybox.Project `json:"project"`
	}
	err := c.do(ctx, "GET", "/projects/"+esc(id), nil, nil, &out)
	return out.Project, err
}

// RenameProject changes a project's name, the one thing PATCH /projects/:id changes.
func (c *Client) RenameProject(ctx context.Context, id, name string) (keybox.Project, error) {
	var out struct {
		Project keybox.Project `json:"project"`
	}
	err := c.do(ctx, "PATCH", "/projects/"+esc(id), nil, map[string]string{"name": name}, &out)
	return out.Project, err
}

// DeleteProject deletes a project. One with licenses is refused (409)
// unless cascade is set, which deletes its licenses and activations too.
func (c *Client) DeleteProject(ctx context.Context, id string, cascade bool) error {
	return c.do(ctx, "DELETE", "/projects/"+esc(id), cascadeQuery(cascade), nil, nil)
}

// PolicyUpdate is the body of PATCH /projects/:id/policy; nil members are
// left as they are.
type PolicyUpdate struct {
	// Duration is the months of a new license, 1–12; 0 leaves it to each.
	Duration *int `json:"duration,omitempty"`
	// MaxMachines is a new license's seats, 1–1000.
	MaxMachines *int `json:"maxMachines,omitempty"`
	// LeaseSeconds: 0 for none, or 60 to 31536000 seconds of silence after
	// which a seat lapses (floating licenses).
	LeaseSeconds *int `json:"leaseSeconds,omitempty"`
	// RequireMachineID makes the project's new licenses refuse public API
	// requests that send no machine id.
	RequireMachineID *bool `json:"requireMachineId,omitempty"`
	// Entitlements replace the policy's when not nil ([]string{} clears them).
	Entitlements []string `json:"-"`
}

// MarshalJSON sends Entitlements when they are not nil, even empty.
func (u PolicyUpdate) MarshalJSON() ([]byte, error) {
	type plain PolicyUpdate
	return withCodes(plain(u), u.Entitlements)
}

type policyAnswer struct {
	Policy keybox.Policy `json:"policy"`
}

// ProjectPolicy returns a project's policy: the defaults its new licenses copy.
func (c *Client) ProjectPolicy(ctx context.Context, id string) (keybox.Policy, error) {
	var out policyAnswer
	err := c.do(ctx, "GET", "/projects/"+esc(id)+"/policy", nil, nil, &out)
	return out.Policy, err
}

// UpdateProjectPolicy changes a project's policy: the members set, only.
// Licenses already issued keep their own settings; change them with
// UpdateLicense.
func (c *Client) UpdateProjectPolicy(ctx context.Context, id string, in PolicyUpdate) (keybox.Policy, error) {
	var out policyAnswer
	err := c.do(ctx, "PATCH", "/projects/"+esc(id)+"/policy", nil, in, &out)
	return out.Policy, err
}
