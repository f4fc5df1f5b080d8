package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/keyboxhq/keybox"
)

const apiTokenColumns = `id, owner_id, name, scope, prefix, token_hash, expires_at, last_used_at, created_at, updated_at`

func scanAPIToken(sc scanner, extra ...any) (keybox.APIToken, error) {
	var t keybox.APIToken
	var expires, used sql.NullInt64
	var created, updated int64
	dest := append([]any{&t.ID, &t.OwnerID, &t.Name, &t.Scope, &t.Prefix, &t.Hash, &expires, &used, &created, &updated}, extra...)
	err := sc.Scan(dest...)
	if expires.Valid {
		t.ExpiresAt = keybox.TimeFromMillis(expires.Int64)
	}
	if used.Valid {
		t.LastUsedAt = keybox.TimeFromMillis(used.Int64)
	}
	t.CreatedAt, t.UpdatedAt = keybox.TimeFromMillis(created), keybox.TimeFromMillis(updated)
	return t, err
}

// APITokenByHash reads the token and its owner in one statement: the cost
// of authenticating a request with an API token is one indexed read, as
// with a login token.
func (q queries) APITokenByHash(ctx context.Context, hash string) (keybox.APIToken, keybox.User, error) {
	var u keybox.User
	var created, updated int64
	t, err := scanAPIToken(q.queryRow(ctx, `SELECT t.id, t.owner_id, t.name, t.scope, t.prefix, t.token_hash, t.expires_at,
		t.last_used_at, t.created_at, t.updated_at,
		u.id, u.name, u.email, u.password_hash, u.role, u.created_at, u.updated_at, u.session_version
		FROM api_tokens t JOIN users u ON u.id = t.owner_id WHERE t.token_hash = $1`, hash),
		&u.ID, &u.Name, &u.Email, &u.PasswordHash, &u.Role, &created, &updated, &u.SessionVersion)
	u.CreatedAt, u.UpdatedAt = keybox.TimeFromMillis(created), keybox.TimeFromMillis(updated)
	t, err = one(t, err, "api token")
	return t, u, err
}

func (q queries) APITokens(ctx context.Context, ownerID string) ([]keybox.APIToken, error) {
	rows, err := q.query(ctx, `SELECT `+apiTokenColumns+` FROM api_tokens WHERE owner_id = $1
		ORDER BY created_at DESC, id DESC`, ownerID)
	list, err := collect(rows, err, func(sc scanner) (keybox.APIToken, error) { return scanAPIToken(sc) })
	if err != nil {
		return nil, fmt.Errorf("api tokens: %w", err)
	}
	return list, nil
}

func (t *tx) CreateAPIToken(ctx context.Context, k keybox.APIToken) error {
	_, err := t.exec(ctx, `INSERT INTO api_tokens (`+apiTokenColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		k.ID, k.OwnerID, k.Name, string(k.Scope), k.Prefix, k.Hash, nullMillis(k.ExpiresAt), nullMillis(k.LastUsedAt),
		k.CreatedAt.Millis(), k.UpdatedAt.Millis())
	if err != nil {
		return fmt.Errorf("create api token: %w", err)
	}
	return nil
}

func (t *tx) DeleteAPIToken(ctx context.Context, ownerID, id string) error {
	return t.execOne(ctx, "delete api token", `DELETE FROM api_tokens WHERE id = $1 AND owner_id = $2`, id, ownerID)
}

func (t *tx) DeleteAPITokens(ctx context.Context, ownerID string) (int, error) {
	res, err := t.exec(ctx, `DELETE FROM api_tokens WHERE owner_id = $1`, ownerID)
	if err != nil {
		return 0, fmt.Errorf("delete api tokens: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("delete api tokens: %w", err)
	}
	return int(n), nil
}

// TouchAPIToken is one conditional statement, outside any transaction:
// PostgreSQL re-checks the condition of an UPDATE that waited for another
// on the same row, so of two servers marking a token at once only the first
// writes.
func (s *Store) TouchAPIToken(ctx context.Context, id string, at, ifBefore time.Time) error {
	s.counter.Add(1)
	_, err := s.write.ExecContext(ctx, `UPDATE api_tokens SET last_used_at = $2
		WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < $3)`, id, at.UnixMilli(), ifBefore.UnixMilli())
	if err != nil {
		return fmt.Errorf("touch api token: %w", s.dialect.Classify(err))
	}
	return nil
}
