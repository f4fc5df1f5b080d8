package sqlstore

import (
	"context"
	"fmt"

	"github.com/keyboxhq/keybox"
)

const identityColumns = `provider, subject, user_id, email, created_at`

func scanIdentity(sc scanner) (keybox.Identity, error) {
	var i keybox.Identity
	var created int64
	err := sc.Scan(&i.Provider, &i.Subject, &i.UserID, &i.Email, &created)
	i.CreatedAt = keybox.TimeFromMillis(created)
	return i, err
}

func (q queries) UserByIdentity(ctx context.Context, provider, subject string) (keybox.User, error) {
	u, err := scanUser(q.queryRow(ctx, `SELECT `+userColumns+` FROM users
		WHERE id = (SELECT user_id FROM user_identities WHERE provider = $1 AND subject = $2)`, provider, subject))
	return one(u, err, "user by identity")
}

func (q queries) Identities(ctx context.Context, userID string) ([]keybox.Identity, error) {
	rows, err := q.query(ctx, `SELECT `+identityColumns+` FROM user_identities
		WHERE user_id = $1 ORDER BY created_at, provider, subject`, userID)
	list, err := collect(rows, err, scanIdentity)
	if err != nil {
		return nil, fmt.Errorf("identities: %w", err)
	}
	return list, nil
}

func (t *tx) CreateIdentity(ctx context.Context, i keybox.Identity) error {
	_, err := t.exec(ctx, `INSERT INTO user_identities (`+identityColumns+`) VALUES ($1, $2, $3, $4, $5)`,
		i.Provider, i.Subject, i.UserID, i.Email, i.CreatedAt.Millis())
	if err != nil {
		return fmt.Errorf("create identity: %w", err)
	}
	return nil
}
