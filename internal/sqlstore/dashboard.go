package sqlstore

import (
	"context"
	"fmt"

	"github.com/keyboxhq/keybox"
)

// DashboardLicenses reads every license of a developer (thousands) into one
// reused row, sharing equal services lists.
func (q queries) DashboardLicenses(ctx context.Context, ownerID, clientID string) ([]keybox.License, error) {
	var w where
	w.add("owner_id = " + w.arg(ownerID))
	if clientID != "" {
		w.add("client_id = " + w.arg(clientID))
	}
	rows, err := q.query(ctx, `SELECT `+licenseColumns+` FROM licenses`+w.String()+` ORDER BY `+newestFirst, w.args...)
	r := newLicenseRow(true)
	list, err := collect(rows, err, func(sc scanner) (keybox.License, error) {
		if err := sc.Scan(r.dest...); err != nil {
			return keybox.License{}, err
		}
		return r.license(), nil
	})
	if err != nil {
		return nil, fmt.Errorf("dashboard licenses: %w", err)
	}
	return list, nil
}
