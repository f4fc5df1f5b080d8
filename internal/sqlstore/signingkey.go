package sqlstore

import (
	"context"
	"crypto/ed25519"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"

	"github.com/keyboxhq/keybox"
)

// Keys are stored as standard base64 text, the same on both engines. The
// private key is only ever written sealed (sealed_private_key); private_key
// holds a plain key only in rows made before encryption, until the server
// seals them, and is empty otherwise.
const signingKeyColumns = `id, algorithm, public_key, private_key, sealed_private_key, created_at, retired_at, revoked_at`

const algorithmEd25519 = "Ed25519"

func scanSigningKey(sc scanner) (keybox.SigningKey, error) {
	var k keybox.SigningKey
	var alg, pub, plain string
	var sealed sql.NullString
	var created int64
	var retired, revoked sql.NullInt64
	if err := sc.Scan(&k.ID, &alg, &pub, &plain, &sealed, &created, &retired, &revoked); err != nil {
		return k, err
	}
	if alg != algorithmEd25519 {
		return k, fmt.Errorf("signing key %s: unknown algorithm %q", k.ID, alg)
	}
	p, err := base64.StdEncoding.DecodeString(pub)
	if err != nil || len(p) != ed25519.PublicKeySize {
		return k, fmt.Errorf("signing key %s: bad public key", k.ID)
	}
	k.PublicKey = ed25519.PublicKey(p)
	if plain != "" {
		s, err := base64.StdEncoding.DecodeString(plain)
		if err != nil || len(s) != ed25519.PrivateKeySize {
			return k, fmt.Errorf("signing key %s: bad private key", k.ID)
		}
		k.PrivateKey = ed25519.PrivateKey(s)
	}
	if sealed.Valid && sealed.String != "" {
		if k.Sealed, err = base64.StdEncoding.DecodeString(sealed.String); err != nil {
			return k, fmt.Errorf("signing key %s: bad sealed private key", k.ID)
		}
	}
	k.CreatedAt = keybox.TimeFromMillis(created)
	if retired.Valid {
		k.RetiredAt = keybox.TimeFromMillis(retired.Int64)
	}
	if revoked.Valid {
		k.RevokedAt = keybox.TimeFromMillis(revoked.Int64)
	}
	return k, nil
}

func (q queries) SigningKeys(ctx context.Context) ([]keybox.SigningKey, error) {
	rows, err := q.query(ctx, `SELECT `+signingKeyColumns+` FROM signing_keys ORDER BY created_at, id`)
	keys, err := collect(rows, err, scanSigningKey)
	if err != nil {
		return nil, fmt.Errorf("signing keys: %w", err)
	}
	return keys, nil
}

var errNotSealed = errors.New("a private key is only stored sealed")

func (t *tx) CreateSigningKey(ctx context.Context, k keybox.SigningKey) error {
	if len(k.Sealed) == 0 {
		return fmt.Errorf("create signing key %s: %w", k.ID, errNotSealed)
	}
	_, err := t.exec(ctx, `INSERT INTO signing_keys (`+signingKeyColumns+`) VALUES ($1, $2, $3, '', $4, $5, $6, $7)`,
		k.ID, algorithmEd25519, base64.StdEncoding.EncodeToString(k.PublicKey), base64.StdEncoding.EncodeToString(k.Sealed),
		k.CreatedAt.Millis(), nullMillis(k.RetiredAt), nullMillis(k.RevokedAt))
	if err != nil {
		return fmt.Errorf("create signing key: %w", err)
	}
	return nil
}

func (t *tx) RetireSigningKey(ctx context.Context, id string, at keybox.Time) error {
	return t.execOne(ctx, "retire signing key", `UPDATE signing_keys SET retired_at = $2 WHERE id = $1`, id, at.Millis())
}

func (t *tx) RevokeSigningKey(ctx context.Context, id string, at keybox.Time) error {
	return t.execOne(ctx, "revoke signing key", `UPDATE signing_keys SET revoked_at = $2 WHERE id = $1`, id, at.Millis())
}

func (t *tx) SealSigningKey(ctx context.Context, id string, sealed []byte) error {
	if len(sealed) == 0 {
		return fmt.Errorf("seal signing key %s: %w", id, errNotSealed)
	}
	return t.execOne(ctx, "seal signing key", `UPDATE signing_keys SET sealed_private_key = $2, private_key = '' WHERE id = $1`,
		id, base64.StdEncoding.EncodeToString(sealed))
}
