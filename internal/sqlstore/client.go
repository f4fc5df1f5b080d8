package sqlstore

import (
	"context"
	"fmt"

	"github.com/keyboxhq/keybox"
)

const clientColumns = `id, owner_id, name, email, created_at, updated_at`

func scanClient(sc scanner) (keybox.Client, error) {
	var c keybox.Client
	var created, updated int64
	err := sc.Scan(&c.ID, &c.OwnerID, &c.Name, &c.Email, &created, &updated)
	c.CreatedAt, c.UpdatedAt = keybox.TimeFromMillis(created), keybox.TimeFromMillis(updated)
	return c, err
}

func (q queries) Client(ctx context.Context, ownerID, id string) (keybox.Client, error) {
	c, err := scanClient(q.queryRow(ctx,
		`SELECT `+clientColumns+` FROM clients WHERE id = $1 AND owner_id = $2`, id, ownerID))
	return one(c, err, "client")
}

func (q queries) Clients(ctx context.Context, f keybox.ClientFilter) ([]keybox.Client, int, error) {
	var w where
	w.add("owner_id = " + w.arg(f.OwnerID))
	if f.ID != "" {
		w.add("id = " + w.arg(f.ID))
	}
	w.like(f.Query, "name", "email")
	return page(ctx, q, &w, f.Page, "clients", clientColumns, newestFirst, scanClient)
}

const newestFirst = "created_at DESC, id DESC"

// page runs a filtered list query and, when it is paginated, the count of all matches.
func page[T any](ctx context.Context, q queries, w *where, p keybox.Page, table, columns, order string, scan func(scanner) (T, error)) ([]T, int, error) {
	cond := w.String()
	countArgs := append([]any(nil), w.args...)
	lim := w.limit(p.Limit, p.Offset)
	rows, err := q.query(ctx, `SELECT `+columns+` FROM `+table+cond+` ORDER BY `+order+lim, w.args...)
	items, err := collect(rows, err, scan)
	if err != nil {
		return nil, 0, fmt.Errorf("list %s: %w", table, err)
	}
	if p.Limit <= 0 {
		return items, len(items), nil
	}
	if p.Offset == 0 && len(items) < p.Limit {
		return items, len(items), nil
	}
	var total int
	if err := q.queryRow(ctx, `SELECT count(*) FROM `+table+cond, countArgs...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("count %s: %w", table, err)
	}
	return items, total, nil
}

func (t *tx) CreateClient(ctx context.Context, c keybox.Client) error {
	_, err := t.exec(ctx, `INSERT INTO clients (`+clientColumns+`) VALUES ($1, $2, $3, $4, $5, $6)`,
		c.ID, c.OwnerID, c.Name, c.Email, c.CreatedAt.Millis(), c.UpdatedAt.Millis())
	if err != nil {
		return fmt.Errorf("create client: %w", err)
	}
	return nil
}

func (t *tx) UpdateClient(ctx context.Context, c keybox.Client) error {
	return t.execOne(ctx, "update client",
		`UPDATE clients SET name = $3, email = $4, updated_at = $5 WHERE id = $1 AND owner_id = $2`,
		c.ID, c.OwnerID, c.Name, c.Email, c.UpdatedAt.Millis())
}

func (t *tx) DeleteClient(ctx context.Context, ownerID, id string, cascade bool) error {
	if cascade {
		for _, stmt := range []string{
			`DELETE FROM activations WHERE license_id IN (SELECT id FROM licenses WHERE client_id = $1 AND owner_id = $2)`,
			`DELETE FROM licenses WHERE client_id = $1 AND owner_id = $2`,
			`DELETE FROM projects WHERE client_id = $1 AND owner_id = $2`,
		} {
			if _, err := t.exec(ctx, stmt, id, ownerID); err != nil {
				return fmt.Errorf("delete client: %w", err)
			}
		}
	}
	return t.execOne(ctx, "delete client", `DELETE FROM clients WHERE id = $1 AND owner_id = $2`, id, ownerID)
}
