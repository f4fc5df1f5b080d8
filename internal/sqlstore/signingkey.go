package sqlstore

import (
	"context"
	"crypto/ed25519"
	"database/sql"
	"encoding/base64"
	"fmt"

	"github.com/keyboxhq/keybox"
)

// Keys are stored as standard base64 text, the same on both engines.
const signingKeyColumns = `id, algorithm, public_key, private_key, created_at, retired_at`

const algorithmEd25519 = "Ed25519"

func scanSigningKey(sc scanner) (keybox.SigningKey, error) {
	var k keybox.SigningKey
	var alg, pub, priv string
	var created int64
	var retired sql.NullInt64
	if err := sc.Scan(&k.ID, &alg, &pub, &priv, &created, &retired); err != nil {
		return k, err
	}
	if alg != algorithmEd25519 {
		return k, fmt.Errorf("signing key %s: unknown algorithm %q", k.ID, alg)
	}
	p, err := base64.StdEncoding.DecodeString(pub)
	if err != nil || len(p) != ed25519.PublicKeySize {
		return k, fmt.Errorf("signing key %s: bad public key", k.ID)
	}
	s, err := base64.StdEncoding.DecodeString(priv)
	if err != nil || len(s) != ed25519.PrivateKeySize {
		return k, fmt.Errorf("signing key %s: bad private key", k.ID)
	}
	k.PublicKey, k.PrivateKey = ed25519.PublicKey(p), ed25519.PrivateKey(s)
	k.CreatedAt = keybox.TimeFromMillis(created)
	if retired.Valid {
		k.RetiredAt = keybox.TimeFromMillis(retired.Int64)
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

func (t *tx) CreateSigningKey(ctx context.Context, k keybox.SigningKey) error {
	_, err := t.exec(ctx, `INSERT INTO signing_keys (`+signingKeyColumns+`) VALUES ($1, $2, $3, $4, $5, $6)`,
		k.ID, algorithmEd25519, base64.StdEncoding.EncodeToString(k.PublicKey), base64.StdEncoding.EncodeToString(k.PrivateKey),
		k.CreatedAt.Millis(), nullMillis(k.RetiredAt))
	if err != nil {
		return fmt.Errorf("create signing key: %w", err)
	}
	return nil
}

func (t *tx) RetireSigningKey(ctx context.Context, id string, at keybox.Time) error {
	return t.execOne(ctx, "retire signing key", `UPDATE signing_keys SET retired_at = $2 WHERE id = $1`, id, at.Millis())
}
