package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/keyboxhq/keybox"
)

const activationColumns = `id, license_id, machine_id, instance_id, product_name, activated_at, last_validated_at, created_at, updated_at`

func scanActivation(sc scanner) (keybox.Activation, error) {
	var a keybox.Activation
	var activated, created, updated int64
	var seen sql.NullInt64
	err := sc.Scan(&a.ID, &a.LicenseID, &a.MachineID, &a.InstanceID, &a.ProductName, &activated, &seen, &created, &updated)
	a.ActivatedAt = keybox.TimeFromMillis(activated)
	a.CreatedAt, a.UpdatedAt = keybox.TimeFromMillis(created), keybox.TimeFromMillis(updated)
	if seen.Valid {
		a.LastValidatedAt = keybox.TimeFromMillis(seen.Int64)
	}
	return a, err
}

// nullActivation scans activationColumns from an outer join, where a
// license without seats has NULL in each.
type nullActivation struct {
	id, licenseID, machine, instance, product sql.NullString
	activated, seen, created, updated         sql.NullInt64
}

func (n *nullActivation) dest() []any {
	return []any{&n.id, &n.licenseID, &n.machine, &n.instance, &n.product, &n.activated, &n.seen, &n.created, &n.updated}
}

// activation returns the seat scanned, and false when there was none.
func (n *nullActivation) activation() (keybox.Activation, bool) {
	if !n.id.Valid {
		return keybox.Activation{}, false
	}
	a := keybox.Activation{ID: n.id.String, LicenseID: n.licenseID.String, MachineID: n.machine.String,
		InstanceID: n.instance.String, ProductName: n.product.String,
		ActivatedAt: keybox.TimeFromMillis(n.activated.Int64),
		CreatedAt:   keybox.TimeFromMillis(n.created.Int64), UpdatedAt: keybox.TimeFromMillis(n.updated.Int64)}
	if n.seen.Valid {
		a.LastValidatedAt = keybox.TimeFromMillis(n.seen.Int64)
	}
	return a, true
}

func (q queries) Activations(ctx context.Context, licenseID string) ([]keybox.Activation, error) {
	rows, err := q.query(ctx, `SELECT `+activationColumns+` FROM activations WHERE license_id = $1 ORDER BY created_at, id`, licenseID)
	list, err := collect(rows, err, scanActivation)
	if err != nil {
		return nil, fmt.Errorf("activations: %w", err)
	}
	return list, nil
}

func (q queries) ActivationsOf(ctx context.Context, f keybox.ActivationFilter) ([]keybox.Activation, error) {
	if f.LicenseIDs != nil && len(f.LicenseIDs) == 0 {
		return nil, nil
	}
	var w where
	w.add("l.owner_id = " + w.arg(f.OwnerID))
	if f.ClientID != "" {
		w.add("l.client_id = " + w.arg(f.ClientID))
	}
	if f.LicenseIDs != nil {
		in := make([]string, len(f.LicenseIDs))
		for i, id := range f.LicenseIDs {
			in[i] = w.arg(id)
		}
		w.add("a.license_id IN (" + strings.Join(in, ", ") + ")")
	}
	rows, err := q.query(ctx, `SELECT a.`+strings.ReplaceAll(activationColumns, ", ", ", a.")+
		` FROM activations a JOIN licenses l ON l.id = a.license_id`+w.String()+` ORDER BY a.created_at, a.id`, w.args...)
	list, err := collect(rows, err, scanActivation)
	if err != nil {
		return nil, fmt.Errorf("activations of licenses: %w", err)
	}
	return list, nil
}

func (t *tx) CreateActivation(ctx context.Context, a keybox.Activation) error {
	_, err := t.exec(ctx, `INSERT INTO activations (`+activationColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		a.ID, a.LicenseID, a.MachineID, a.InstanceID, a.ProductName, a.ActivatedAt.Millis(), nullMillis(a.LastValidatedAt),
		a.CreatedAt.Millis(), a.UpdatedAt.Millis())
	if err != nil {
		return fmt.Errorf("create activation: %w", err)
	}
	return nil
}

func (t *tx) DeleteActivation(ctx context.Context, licenseID, id string) error {
	return t.execOne(ctx, "delete activation", `DELETE FROM activations WHERE id = $1 AND license_id = $2`, id, licenseID)
}
