package client

import (
	"context"
	"encoding/json"

	"github.com/keyboxhq/keybox"
)

// LicenseList is one page of licenses, newest first, each with its status
// at the moment of the call.
type LicenseList struct {
	Licenses []keybox.License `json:"licenses"`
	Total    int              `json:"total"`
	Page     int              `json:"page"`
	Limit    int              `json:"limit"`
}

// LicenseListOptions select licenses by client, project and status.
// ListOptions.Query matches part of the key.
type LicenseListOptions struct {
	ClientID  string
	ProjectID string
	Status    keybox.Status
	ListOptions
}

// NewLicense is the body of POST /license/create. Zero members take the
// project's policy (its duration, seats, lease, machine id requirement and
// entitlements), or the server's defaults: services ["Hosting"], a
// generated key.
type NewLicense struct {
	Duration    int              `json:"duration,omitempty"` // months, 1–12
	ClientID    string           `json:"clientId"`
	ProjectID   string           `json:"projectId"`
	Services    []keybox.Service `json:"services,omitempty"`
	MaxMachines int              `json:"maxMachines,omitempty"`
	// Key imports an existing key (4–128 printable characters) instead of
	// generating one.
	Key string `json:"key,omitempty"`
	// ProductName binds the key to one product; otherwise the first
	// activation that sends one binds it.
	ProductName string `json:"productName,omitempty"`
	// RequireMachineID overrides the project's policy when set.
	RequireMachineID *bool `json:"requireMachineId,omitempty"`
	// LeaseSeconds overrides the project's lease when set: 0 for none, or
	// 60 to 31536000 seconds of silence after which a seat lapses.
	LeaseSeconds *int `json:"leaseSeconds,omitempty"`
	// Entitlements override the project's when not nil ([]string{} for none).
	Entitlements []string `json:"-"`
	// Metadata is a JSON object of at most 4096 bytes kept on the license.
	Metadata json.RawMessage `json:"metadata,omitempty"`
}

// MarshalJSON sends Entitlements when they are not nil, even empty.
func (n NewLicense) MarshalJSON() ([]byte, error) {
	type plain NewLicense
	return withCodes(plain(n), n.Entitlements)
}

// withCodes encodes v with an "entitlements" member when codes is not nil:
// an empty list is sent as [], which clears them.
func withCodes(v any, codes []string) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil || codes == nil {
		return b, err
	}
	c, err := json.Marshal(codes)
	if err != nil {
		return nil, err
	}
	if string(b) == "{}" {
		return []byte(`{"entitlements":` + string(c) + `}`), nil
	}
	return append([]byte(`{"entitlements":`+string(c)+`,`), b[1:]...), nil
}

// LicenseDetail is a license with its seats: each with its lease's expiry
// on a license with a lease, and how many hold a seat now (a lapsed seat
// is listed until the sweep removes it, but holds nothing).
type LicenseDetail struct {
	License     keybox.License      `json:"license"`
	Activations []keybox.Activation `json:"activations"`
	SeatsInUse  int                 `json:"seatsInUse"`
}

// Toggle is the answer of PATCH /license/revoke/:key.
type Toggle struct {
	Message string        `json:"message"`
	Key     string        `json:"key"`
	Status  keybox.Status `json:"status"`
}

// LicenseUpdate is the body of PATCH /license/:key; nil and empty members
// are left as they are.
type LicenseUpdate struct {
	// Duration changes the months of a license not yet activated (an
	// activated one is renewed instead).
	Duration    *int             `json:"duration,omitempty"`
	MaxMachines *int             `json:"maxMachines,omitempty"`
	Services    []keybox.Service `json:"services,omitempty"`
	ProductName *string          `json:"productName,omitempty"`
	// RequireMachineID refuses (or allows again) requests without a machine id.
	RequireMachineID *bool `json:"requireMachineId,omitempty"`
	// LeaseSeconds: 0 for none, or 60 to 31536000.
	LeaseSeconds *int `json:"leaseSeconds,omitempty"`
	// Entitlements replace the license's when not nil ([]string{} clears them).
	Entitlements []string `json:"-"`
	// Metadata replaces the license's when set (json.RawMessage("{}") clears it).
	Metadata json.RawMessage `json:"metadata,omitempty"`
}

// MarshalJSON sends Entitlements when they are not nil, even empty.
func (u LicenseUpdate) MarshalJSON() ([]byte, error) {
	type plain LicenseUpdate
	return withCodes(plain(u), u.Entitlements)
}

type licenseAnswer struct {
	License keybox.License `json:"license"`
}

// CreateLicense issues a PENDING license for one of the caller's projects.
func (c *Client) CreateLicense(ctx context.Context, in NewLicense) (keybox.License, error) {
	var out licenseAnswer
	err := c.do(ctx, "POST", "/license/create", nil, in, &out)
	return out.License, err
}

// Licenses lists the caller's licenses.
func (c *Client) Licenses(ctx context.Context, opts LicenseListOptions) (LicenseList, error) {
	q := opts.values()
	for k, v := range map[string]string{"clientId": opts.ClientID, "projectId": opts.ProjectID, "status": string(opts.Status)} {
		if v != "" {
			q.Set(k, v)
		}
	}
	var out LicenseList
	err := c.do(ctx, "GET", "/license", q, nil, &out)
	return out, err
}

// License returns one of the caller's licenses and its activations.
func (c *Client) License(ctx context.Context, key string) (LicenseDetail, error) {
	var out LicenseDetail
	err := c.do(ctx, "GET", "/license/"+esc(key), nil, nil, &out)
	return out, err
}

// ToggleRevoke revokes an ACTIVE or PENDING license, or restores a REVOKED
// one (to ACTIVE if it was ever activated, else PENDING). An EXPIRED license
// is refused (409): renew it instead.
func (c *Client) ToggleRevoke(ctx context.Context, key string) (Toggle, error) {
	var out Toggle
	err := c.do(ctx, "PATCH", "/license/revoke/"+esc(key), nil, nil, &out)
	return out, err
}

// RenewLicense adds months (1–12) to a license: from max(now, expiresAt)
// once it was activated, making an EXPIRED license ACTIVE again; to its
// duration while it is PENDING.
func (c *Client) RenewLicense(ctx context.Context, key string, months int) (keybox.License, error) {
	var out licenseAnswer
	err := c.do(ctx, "POST", "/license/renew/"+esc(key), nil, map[string]int{"duration": months}, &out)
	return out.License, err
}

// UpdateLicense changes a license's seats, services, product or machine id
// requirement.
func (c *Client) UpdateLicense(ctx context.Context, key string, in LicenseUpdate) (keybox.License, error) {
	var out licenseAnswer
	err := c.do(ctx, "PATCH", "/license/"+esc(key), nil, in, &out)
	return out.License, err
}

// RemoveActivation frees a seat, such as a customer's lost laptop's.
func (c *Client) RemoveActivation(ctx context.Context, key, activationID string) error {
	return c.do(ctx, "DELETE", "/license/"+esc(key)+"/activations/"+esc(activationID), nil, nil, nil)
}
