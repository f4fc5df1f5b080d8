package sqlstore

import (
	"context"
	"database/sql"
	"fmt"

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

func (q queries) Activations(ctx context.Context, licenseID string) ([]keybox.Activation, error) {
	rows, err := q.query(ctx, `SELECT `+activationColumns+` FROM activations WHERE license_id = $1 ORDER BY created_at, id`, licenseID)
	list, err := collect(rows, err, scanActivation)
	if err != nil {
		return nil, fmt.Errorf("activations: %w", err)
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
