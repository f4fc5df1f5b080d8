package sqlstore

import (
	"context"
	"fmt"

	"github.com/keyboxhq/keybox"
)

const userColumns = `id, name, email, password_hash, role, created_at, updated_at, session_version`

func scanUser(sc scanner) (keybox.User, error) {
	var u keybox.User
	var created, updated int64
	err := sc.Scan(&u.ID, &u.Name, &u.Email, &u.PasswordHash, &u.Role, &created, &updated, &u.SessionVersion)
	u.CreatedAt, u.UpdatedAt = keybox.TimeFromMillis(created), keybox.TimeFromMillis(updated)
	return u, err
}

func (q queries) UserByID(ctx context.Context, id string) (keybox.User, error) {
	u, err := scanUser(q.queryRow(ctx, `SELECT `+userColumns+` FROM users WHERE id = $1`, id))
	return one(u, err, "user")
}

func (q queries) UserByEmail(ctx context.Context, email string) (keybox.User, error) {
	u, err := scanUser(q.queryRow(ctx, `SELECT `+userColumns+` FROM users WHERE email = $1`, email))
	return one(u, err, "user")
}

func (q queries) Users(ctx context.Context) ([]keybox.User, error) {
	rows, err := q.query(ctx, `SELECT `+userColumns+` FROM users ORDER BY created_at, id`)
	users, err := collect(rows, err, scanUser)
	if err != nil {
		return nil, fmt.Errorf("users: %w", err)
	}
	return users, nil
}

func (q queries) CountUsers(ctx context.Context) (int, error) {
	var n int
	if err := q.queryRow(ctx, `SELECT count(*) FROM users`).Scan(&n); err != nil {
		return 0, fmt.Errorf("count users: %w", err)
	}
	return n, nil
}

func (t *tx) CreateUser(ctx context.Context, u keybox.User) error {
	_, err := t.exec(ctx, `INSERT INTO users (`+userColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		u.ID, u.Name, u.Email, u.PasswordHash, u.Role, u.CreatedAt.Millis(), u.UpdatedAt.Millis(), u.SessionVersion)
	if err != nil {
		return fmt.Errorf("create user: %w", err)
	}
	return nil
}

func (t *tx) UpdateUser(ctx context.Context, u keybox.User) error {
	return t.execOne(ctx, "update user",
		`UPDATE users SET name = $2, email = $3, password_hash = $4, role = $5, updated_at = $6 WHERE id = $1`,
		u.ID, u.Name, u.Email, u.PasswordHash, u.Role, u.UpdatedAt.Millis())
}

func (t *tx) EndSessions(ctx context.Context, userID string) error {
	return t.execOne(ctx, "end sessions",
		`UPDATE users SET session_version = session_version + 1 WHERE id = $1`, userID)
}

func (t *tx) DeleteUser(ctx context.Context, id string, cascade bool) error {
	stmts := []string{`DELETE FROM validation_counts WHERE owner_id = $1`}
	if cascade {
		stmts = append(stmts,
			`DELETE FROM activations WHERE license_id IN (SELECT id FROM licenses WHERE owner_id = $1)`,
			`DELETE FROM licenses WHERE owner_id = $1`,
			`DELETE FROM projects WHERE owner_id = $1`,
			`DELETE FROM clients WHERE owner_id = $1`,
		)
	}
	for _, stmt := range stmts {
		if _, err := t.exec(ctx, stmt, id); err != nil {
			return fmt.Errorf("delete user: %w", err)
		}
	}
	// Without cascade, a client still referring to the user makes this fail
	// with ErrInUse.
	return t.execOne(ctx, "delete user", `DELETE FROM users WHERE id = $1`, id)
}
