package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/keyboxhq/keybox"
)

func (t *tx) CreateSignInCode(ctx context.Context, c keybox.SignInCode) error {
	_, err := t.exec(ctx, `INSERT INTO signin_codes (code_hash, user_id, expires_at, created_at) VALUES ($1, $2, $3, $4)`,
		c.Hash, c.UserID, c.ExpiresAt.Millis(), c.CreatedAt.Millis())
	if err != nil {
		return fmt.Errorf("create sign-in code: %w", err)
	}
	return nil
}

// TakeSignInCode deletes and returns in one statement: two transactions
// deleting the same row cannot both see it deleted by themselves.
func (t *tx) TakeSignInCode(ctx context.Context, hash string) (keybox.SignInCode, error) {
	t.s.counter.Add(1)
	c := keybox.SignInCode{Hash: hash}
	var expires, created int64
	err := t.db.QueryRowContext(ctx, `DELETE FROM signin_codes WHERE code_hash = $1
		RETURNING user_id, expires_at, created_at`, hash).Scan(&c.UserID, &expires, &created)
	c.ExpiresAt, c.CreatedAt = keybox.TimeFromMillis(expires), keybox.TimeFromMillis(created)
	return one(c, err, "take sign-in code")
}

func (t *tx) DeleteSignInCodes(ctx context.Context, expiredBefore time.Time) error {
	if _, err := t.exec(ctx, `DELETE FROM signin_codes WHERE expires_at < $1`, expiredBefore.UnixMilli()); err != nil {
		return fmt.Errorf("delete sign-in codes: %w", err)
	}
	return nil
}
