package auth

import (
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// MinSecretLength is the shortest JWT secret the server accepts, in bytes.
const MinSecretLength = 32

// Claims are the contents of a login token.
type Claims struct {
	UserID string `json:"userId"`
	Email  string `json:"email"`
	Role   string `json:"role"`
	// SessionVersion is the user's session version when the token was
	// issued. Ending a user's sessions advances the stored version, which
	// refuses every token issued before, however recent: unlike iat, which
	// counts whole seconds, it orders a token issued in the same second as
	// a password change correctly.
	SessionVersion int64 `json:"sessionVersion,omitempty"`
	jwt.RegisteredClaims
}

// Tokens issues and verifies HS256 login tokens.
type Tokens struct {
	secret []byte
	ttl    time.Duration
	now    func() time.Time
}

// ErrInvalidToken is returned for any token that does not verify: a bad
// signature, another algorithm, an expired or malformed token.
var ErrInvalidToken = errors.New("invalid token")

// NewTokens returns a token issuer. now is the clock (time.Now when nil).
func NewTokens(secret []byte, ttl time.Duration, now func() time.Time) (*Tokens, error) {
	if len(secret) < MinSecretLength {
		return nil, fmt.Errorf("JWT secret must be at least %d bytes", MinSecretLength)
	}
	if ttl <= 0 {
		return nil, errors.New("token lifetime must be positive")
	}
	if now == nil {
		now = time.Now
	}
	return &Tokens{secret: secret, ttl: ttl, now: now}, nil
}

// Issue returns a signed token for the user at its current session version.
func (t *Tokens) Issue(userID, email, role string, sessionVersion int64) (string, error) {
	now := t.now()
	claims := Claims{
		UserID: userID, Email: email, Role: role, SessionVersion: sessionVersion,
		RegisteredClaims: jwt.RegisteredClaims{
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(t.ttl)),
		},
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(t.secret)
	if err != nil {
		return "", fmt.Errorf("sign token: %w", err)
	}
	return s, nil
}

// Verify checks a token's signature (HS256 only) and expiry and returns its claims.
func (t *Tokens) Verify(token string) (Claims, error) {
	var c Claims
	_, err := jwt.ParseWithClaims(token, &c, func(*jwt.Token) (any, error) { return t.secret, nil },
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithTimeFunc(t.now),
	)
	if err != nil || c.UserID == "" {
		return Claims{}, ErrInvalidToken
	}
	return c, nil
}
