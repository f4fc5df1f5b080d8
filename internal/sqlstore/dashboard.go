package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/keyboxhq/keybox"
)

// The dashboard reads every license of a developer at once (thousands). Its
// read scans each row into one reused set of destinations: scanLicense's
// locals escape to the heap with every row, a dozen allocations a license.

// dashboardColumns are licenseColumns without owner_id, which is the filter.
const dashboardColumns = `id, license_key, client_id, project_id, duration, issued_at, expires_at,
	status, services, max_machines, machine_id, instance_id, product_name, activated_at, created_at, updated_at,
	require_machine_id, lease_seconds, entitlements, metadata`

// licenseRow holds one row of dashboardColumns as the driver gives it.
type licenseRow struct {
	id, key, client, project, status                             string
	services, machine, instance, product, entitlements, metadata string
	duration, maxMachines, leaseSeconds                          int
	issued, expires, created, updated                            int64
	activated                                                    sql.NullInt64
	requireMachine                                               bool
	dest                                                         []any
	// serviceLists shares one list among the licenses with the same
	// services: there are few distinct lists.
	serviceLists map[string][]keybox.Service
}

func newLicenseRow() *licenseRow {
	r := &licenseRow{serviceLists: map[string][]keybox.Service{}}
	r.dest = []any{&r.id, &r.key, &r.client, &r.project, &r.duration, &r.issued, &r.expires,
		&r.status, &r.services, &r.maxMachines, &r.machine, &r.instance, &r.product, &r.activated, &r.created, &r.updated,
		&r.requireMachine, &r.leaseSeconds, &r.entitlements, &r.metadata}
	return r
}

func (r *licenseRow) license(ownerID string) keybox.License {
	l := keybox.License{ID: r.id, Key: r.key, OwnerID: ownerID, ClientID: r.client, ProjectID: r.project,
		Duration: r.duration, IssuedAt: keybox.TimeFromMillis(r.issued), ExpiresAt: keybox.TimeFromMillis(r.expires),
		Status: keybox.Status(r.status), MaxMachines: r.maxMachines,
		MachineID: keybox.NullString(r.machine), InstanceID: keybox.NullString(r.instance), ProductName: keybox.NullString(r.product),
		CreatedAt: keybox.TimeFromMillis(r.created), UpdatedAt: keybox.TimeFromMillis(r.updated),
		RequireMachineID: r.requireMachine, LeaseSeconds: r.leaseSeconds, Entitlements: splitList(r.entitlements)}
	if r.activated.Valid {
		l.ActivatedAt = keybox.TimeFromMillis(r.activated.Int64)
	}
	if r.metadata != "{}" {
		l.Metadata = json.RawMessage(r.metadata)
	}
	services, ok := r.serviceLists[r.services]
	if !ok {
		services = splitServices(r.services)
		r.serviceLists[r.services] = services
	}
	l.Services = services
	return l
}

func (q queries) DashboardLicenses(ctx context.Context, ownerID, clientID string) ([]keybox.License, error) {
	var w where
	w.add("owner_id = " + w.arg(ownerID))
	if clientID != "" {
		w.add("client_id = " + w.arg(clientID))
	}
	rows, err := q.query(ctx, `SELECT `+dashboardColumns+` FROM licenses`+w.String()+` ORDER BY `+newestFirst, w.args...)
	r := newLicenseRow()
	list, err := collect(rows, err, func(sc scanner) (keybox.License, error) {
		if err := sc.Scan(r.dest...); err != nil {
			return keybox.License{}, err
		}
		return r.license(ownerID), nil
	})
	if err != nil {
		return nil, fmt.Errorf("dashboard licenses: %w", err)
	}
	return list, nil
}
