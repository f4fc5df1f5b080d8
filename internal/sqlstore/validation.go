package sqlstore

import (
	"context"
	"fmt"

	"github.com/keyboxhq/keybox"
)

func (q queries) Validations(ctx context.Context, ownerID string, from, to keybox.Day) ([]keybox.DailyCount, error) {
	rows, err := q.query(ctx, `SELECT day, sum(count) FROM validation_counts
		WHERE owner_id = $1 AND day >= $2 AND day <= $3 GROUP BY day ORDER BY day`, ownerID, int(from), int(to))
	list, err := collect(rows, err, func(sc scanner) (keybox.DailyCount, error) {
		var d keybox.DailyCount
		return d, sc.Scan(&d.Day, &d.Count)
	})
	if err != nil {
		return nil, fmt.Errorf("validations: %w", err)
	}
	return list, nil
}

// RecordValidations adds the counts and moves each seat's last-validated
// time forward, in one transaction.
func (s *Store) RecordValidations(ctx context.Context, counts []keybox.ValidationCount, seen []keybox.ActivationSeen) error {
	if len(counts) == 0 && len(seen) == 0 {
		return nil
	}
	return s.Update(ctx, func(ktx keybox.Tx) error {
		t := ktx.(*tx)
		for _, c := range counts {
			if _, err := t.exec(ctx, `INSERT INTO validation_counts (license_id, owner_id, day, count) VALUES ($1, $2, $3, $4)
				ON CONFLICT (license_id, day) DO UPDATE SET count = validation_counts.count + excluded.count`,
				c.LicenseID, c.OwnerID, int(c.Day), c.Count); err != nil {
				return fmt.Errorf("record validations: %w", err)
			}
		}
		for _, a := range seen {
			ms := a.At.UnixMilli()
			if _, err := t.exec(ctx, `UPDATE activations SET last_validated_at = $1
				WHERE id = $2 AND (last_validated_at IS NULL OR last_validated_at < $1)`, ms, a.ActivationID); err != nil {
				return fmt.Errorf("record last validation: %w", err)
			}
		}
		return nil
	})
}
