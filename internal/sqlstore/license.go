package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/keyboxhq/keybox"
)

const licenseColumns = `id, license_key, owner_id, client_id, project_id, duration, issued_at, expires_at,
	status, services, max_machines, machine_id, instance_id, product_name, activated_at, created_at, updated_at,
	require_machine_id, lease_seconds, entitlements, metadata`

func scanLicense(sc scanner) (keybox.License, error) {
	r := newLicenseRow(false)
	if err := sc.Scan(r.dest...); err != nil {
		return keybox.License{}, err
	}
	return r.license(), nil
}

// licenseRow is the scan destination of one row of licenseColumns, as the
// driver gives it. A list read reuses one for every row: scanning into
// fresh locals made each row's destinations escape to the heap, a dozen
// allocations a license.
type licenseRow struct {
	id, key, owner, client, project, status                      string
	services, machine, instance, product, entitlements, metadata string
	duration, maxMachines, leaseSeconds                          int
	issued, expires, created, updated                            int64
	activated                                                    sql.NullInt64
	requireMachine                                               bool
	dest                                                         []any
	// serviceLists, when not nil, shares one services list among the
	// licenses with the same services (there are few distinct lists); the
	// lists of such a read must not be modified.
	serviceLists map[string][]keybox.Service
}

func newLicenseRow(shareServices bool) *licenseRow {
	r := &licenseRow{}
	if shareServices {
		r.serviceLists = map[string][]keybox.Service{}
	}
	r.dest = []any{&r.id, &r.key, &r.owner, &r.client, &r.project, &r.duration, &r.issued, &r.expires,
		&r.status, &r.services, &r.maxMachines, &r.machine, &r.instance, &r.product, &r.activated, &r.created, &r.updated,
		&r.requireMachine, &r.leaseSeconds, &r.entitlements, &r.metadata}
	return r
}

// license converts the row last scanned.
func (r *licenseRow) license() keybox.License {
	l := keybox.License{ID: r.id, Key: r.key, OwnerID: r.owner, ClientID: r.client, ProjectID: r.project,
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
	if r.serviceLists == nil {
		l.Services = splitServices(r.services)
		return l
	}
	services, ok := r.serviceLists[r.services]
	if !ok {
		services = splitServices(r.services)
		r.serviceLists[r.services] = services
	}
	l.Services = services
	return l
}

func splitServices(s string) []keybox.Service {
	out := []keybox.Service{}
	for _, p := range strings.Split(s, ",") {
		if p != "" {
			out = append(out, keybox.Service(p))
		}
	}
	return out
}

// splitList reads a comma-separated list; the empty list is nil, as the
// licensing service writes it.
func splitList(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

func joinServices(list []keybox.Service) string {
	parts := make([]string, len(list))
	for i, s := range list {
		parts[i] = string(s)
	}
	return strings.Join(parts, ",")
}

func nullMillis(t keybox.Time) sql.NullInt64 {
	if t.IsZero() {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: t.Millis(), Valid: true}
}

func licenseArgs(l keybox.License) []any {
	return []any{l.ID, l.Key, l.OwnerID, l.ClientID, l.ProjectID, l.Duration, l.IssuedAt.Millis(), l.ExpiresAt.Millis(),
		l.Status, joinServices(l.Services), l.MaxMachines, string(l.MachineID), string(l.InstanceID), string(l.ProductName),
		nullMillis(l.ActivatedAt), l.CreatedAt.Millis(), l.UpdatedAt.Millis(), l.RequireMachineID,
		l.LeaseSeconds, strings.Join(l.Entitlements, ","), metadataText(l.Metadata)}
}

// metadataText is the stored form of a license's metadata: "{}" when none
// (which reads back as nil).
func metadataText(raw json.RawMessage) string {
	if len(raw) == 0 {
		return "{}"
	}
	return string(raw)
}

func (q queries) License(ctx context.Context, key string) (keybox.License, error) {
	l, err := scanLicense(q.queryRow(ctx, `SELECT `+licenseColumns+` FROM licenses WHERE license_key = $1`, key))
	return one(l, err, "license")
}

func (q queries) Licenses(ctx context.Context, f keybox.LicenseFilter) ([]keybox.License, int, error) {
	var w where
	w.add("owner_id = " + w.arg(f.OwnerID))
	if f.ClientID != "" {
		w.add("client_id = " + w.arg(f.ClientID))
	}
	if f.ProjectID != "" {
		w.add("project_id = " + w.arg(f.ProjectID))
	}
	switch f.Status {
	case "":
	case keybox.StatusActive:
		w.add("status = 'ACTIVE' AND expires_at >= " + w.arg(f.Now.UnixMilli()))
	case keybox.StatusExpired:
		w.add("(status = 'EXPIRED' OR (status = 'ACTIVE' AND expires_at < " + w.arg(f.Now.UnixMilli()) + "))")
	default:
		w.add("status = " + w.arg(string(f.Status)))
	}
	w.like(f.Query, "license_key")
	if !f.ExpiresBefore.IsZero() {
		w.add("expires_at < " + w.arg(f.ExpiresBefore.UnixMilli()))
	}
	order := licenseOrder(f)
	return page(ctx, q, &w, f.Page, "licenses", licenseColumns, order, scanLicense)
}

// statusAt is a license's status at the instant now (a number or a
// parameter), as the licensing service judges it: an ACTIVE license past
// its expiry is EXPIRED before the sweep writes so. The list filter by
// status says the same in a form that can use the status index.
func statusAt(now string) string {
	return "CASE WHEN status = 'ACTIVE' AND expires_at < " + now + " THEN 'EXPIRED' ELSE status END"
}

// licenseOrder is the ORDER BY of a license list. The instant a status is
// judged at is written as a number, not a parameter, because the count of
// the same list shares the parameters but not the order.
func licenseOrder(f keybox.LicenseFilter) string {
	if f.SoonestFirst {
		return "expires_at, id"
	}
	dir := " ASC"
	if f.Descending {
		dir = " DESC"
	}
	switch f.Sort {
	case keybox.SortCreated:
		return "created_at" + dir + ", id" + dir
	case keybox.SortExpires:
		return "(activated_at IS NULL), expires_at" + dir + ", " + newestFirst
	case keybox.SortStatus:
		return statusAt(strconv.FormatInt(f.Now.UnixMilli(), 10)) + dir + ", " + newestFirst
	}
	return newestFirst
}

func (q queries) LicenseCounts(ctx context.Context, ownerID string, now time.Time) (map[keybox.Status]int, error) {
	rows, err := q.query(ctx, `SELECT `+statusAt("$2")+` AS s, count(*)
		FROM licenses WHERE owner_id = $1 GROUP BY s`, ownerID, now.UnixMilli())
	type pair struct {
		s keybox.Status
		n int
	}
	pairs, err := collect(rows, err, func(sc scanner) (pair, error) {
		var p pair
		return p, sc.Scan(&p.s, &p.n)
	})
	if err != nil {
		return nil, fmt.Errorf("license counts: %w", err)
	}
	out := make(map[keybox.Status]int, len(pairs))
	for _, p := range pairs {
		out[p.s] += p.n
	}
	return out, nil
}

func (t *tx) LicenseForUpdate(ctx context.Context, key string) (keybox.License, error) {
	l, err := scanLicense(t.queryRow(ctx,
		`SELECT `+licenseColumns+` FROM licenses WHERE license_key = $1`+t.s.dialect.ForUpdate, key))
	return one(l, err, "license")
}

func (t *tx) CreateLicense(ctx context.Context, l keybox.License) error {
	_, err := t.exec(ctx, `INSERT INTO licenses (`+licenseColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21)`, licenseArgs(l)...)
	if err != nil {
		return fmt.Errorf("create license: %w", err)
	}
	return nil
}

// UpdateLicense writes every mutable field; the key, owner, client and project never change.
func (t *tx) UpdateLicense(ctx context.Context, l keybox.License) error {
	return t.execOne(ctx, "update license", `UPDATE licenses SET duration = $2, issued_at = $3, expires_at = $4,
		status = $5, services = $6, max_machines = $7, machine_id = $8, instance_id = $9, product_name = $10,
		activated_at = $11, updated_at = $12, require_machine_id = $13, lease_seconds = $14, entitlements = $15,
		metadata = $16 WHERE id = $1`,
		l.ID, l.Duration, l.IssuedAt.Millis(), l.ExpiresAt.Millis(), l.Status, joinServices(l.Services), l.MaxMachines,
		string(l.MachineID), string(l.InstanceID), string(l.ProductName), nullMillis(l.ActivatedAt), l.UpdatedAt.Millis(),
		l.RequireMachineID, l.LeaseSeconds, strings.Join(l.Entitlements, ","), metadataText(l.Metadata))
}

// ExpireLicenses expires a batch in one statement. The outer conditions are
// checked again on each row's newest version, so on PostgreSQL a license
// that another server's sweep expired first is skipped rather than returned
// twice.
func (t *tx) ExpireLicenses(ctx context.Context, now time.Time, limit int) ([]keybox.License, error) {
	ms := now.UnixMilli()
	rows, err := t.query(ctx, `UPDATE licenses SET status = 'EXPIRED', updated_at = $1
		WHERE status = 'ACTIVE' AND expires_at < $1 AND id IN (
			SELECT id FROM licenses WHERE status = 'ACTIVE' AND expires_at < $1 ORDER BY expires_at, id LIMIT $2)
		RETURNING `+licenseColumns, ms, limit)
	list, err := collect(rows, err, scanLicense)
	if err != nil {
		return nil, fmt.Errorf("expire licenses: %w", t.s.dialect.Classify(err))
	}
	return list, nil
}

// LapsedLeases returns the keys of licenses with a lease that have a seat
// whose machine was last heard from (activated, validated or sent a
// heartbeat) a lease or more before now: at most limit keys.
func (s *Store) LapsedLeases(ctx context.Context, now time.Time, limit int) ([]string, error) {
	rows, err := s.query(ctx, `SELECT DISTINCT l.license_key FROM licenses l JOIN activations a ON a.license_id = l.id
		WHERE l.lease_seconds > 0
		AND CASE WHEN a.last_validated_at > a.activated_at THEN a.last_validated_at ELSE a.activated_at END
			+ CAST(l.lease_seconds AS BIGINT) * 1000 <= $1
		ORDER BY l.license_key LIMIT $2`, now.UnixMilli(), limit)
	keys, err := collect(rows, err, func(sc scanner) (string, error) {
		var k string
		return k, sc.Scan(&k)
	})
	if err != nil {
		return nil, fmt.Errorf("lapsed leases: %w", err)
	}
	return keys, nil
}

// licenseWithSeatsQuery reads a license and its seats in one statement: one
// row per seat, or one row of NULL seat columns for a license without any.
var licenseWithSeatsQuery = `SELECT l.` + strings.Join(strings.Fields(strings.ReplaceAll(licenseColumns, ",", " ")), ", l.") +
	`, a.` + strings.ReplaceAll(activationColumns, ", ", ", a.") + `
	FROM licenses l LEFT JOIN activations a ON a.license_id = l.id
	WHERE l.license_key = $1 ORDER BY a.created_at, a.id`

// LicenseWithSeats reads a license and its seats in one query.
func (s *Store) LicenseWithSeats(ctx context.Context, key string) (keybox.License, []keybox.Activation, error) {
	rows, err := s.query(ctx, licenseWithSeatsQuery, key)
	if err != nil {
		return keybox.License{}, nil, fmt.Errorf("license with seats: %w", err)
	}
	defer rows.Close()
	var l keybox.License
	seats := []keybox.Activation{}
	found := false
	lr := newLicenseRow(false)
	for rows.Next() {
		var seat nullActivation
		dest := append(lr.dest[:len(lr.dest):len(lr.dest)], seat.dest()...)
		if err := rows.Scan(dest...); err != nil {
			return keybox.License{}, nil, fmt.Errorf("license with seats: %w", err)
		}
		l = lr.license()
		found = true
		if a, ok := seat.activation(); ok {
			seats = append(seats, a)
		}
	}
	if err := rows.Err(); err != nil {
		return keybox.License{}, nil, fmt.Errorf("license with seats: %w", err)
	}
	if !found {
		return keybox.License{}, nil, fmt.Errorf("license: %w", keybox.ErrNotFound)
	}
	return l, seats, nil
}
