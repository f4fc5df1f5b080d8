package licensing

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/keyboxhq/keybox"
)

// API tokens are long-lived credentials for scripts and integrations. Each
// acts as its owner within its scope (read, or read and write; account,
// user and token administration never), until it expires or is revoked.
//
// The secret is "kbx_" and 48 characters of base32 (240 bits from
// crypto/rand). The store keeps its SHA-256 and its first characters, for
// display: a copy of the database holds no usable token, and with 200
// unknown bits left after the shown prefix a plain hash is as strong as a
// slow one (there is nothing to guess). A request's token is found by the
// hash of what it sent, so comparing it leaks nothing about a stored one.

// Sizes of an API token's secret.
const (
	apiTokenBytes = 30                             // 240 bits
	apiTokenChars = apiTokenBytes * 8 / 5          // base32, no padding
	apiTokenShown = len(keybox.APITokenPrefix) + 8 // the prefix kept for display
)

// APITokenUseResolution is how often an API token's LastUsedAt is written
// at most: a token used all day costs one write a minute, not one per call.
const APITokenUseResolution = time.Minute

// tokenEncoding is base32 in lower case, without padding: letters and
// digits only, so that a double click selects a whole token.
var tokenEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

var errTokenNotFound = fail(keybox.NotFound, "Token not found")

// APITokenInput is the body of POST /tokens.
type APITokenInput struct {
	Name      Text `json:"name" doc:"What the token is for (billing, ci): 1 to 200 characters."`
	Scope     Text `json:"scope" openapi:"ref=TokenScope" doc:"read: only the calls that change nothing; write: those and every change of clients, projects and licenses. Neither reaches account, user or token administration."`
	ExpiresAt Text `json:"expiresAt" openapi:"nullable" doc:"When the token stops working: an RFC 3339 time in the future (2027-01-31T00:00:00Z). Absent or null: never."`
}

// checkAPIToken judges every member at once and names each that is wrong.
func checkAPIToken(in APITokenInput, now time.Time) (name string, scope keybox.Scope, expires keybox.Time, err error) {
	var fe fieldErrors
	name = in.Name.Trimmed()
	switch {
	case in.Name.NotText:
		fe.add("name", ReasonNotText)
	case in.Name.WrongType:
		fe.add("name", "must be a string")
	case name == "":
		fe.add("name", "is required")
	case tooLong(name):
		fe.add("name", fmt.Sprintf("must be at most %d characters", maxFieldLength))
	}
	scope = keybox.Scope(in.Scope.Value)
	switch {
	case in.Scope.NotText:
		fe.add("scope", ReasonNotText)
	case !in.Scope.Present:
		fe.add("scope", `is required: "read" or "write"`)
	case in.Scope.WrongType || !scope.Valid():
		fe.add("scope", `must be "read" or "write"`)
	}
	if in.ExpiresAt.Present {
		t, perr := time.Parse(time.RFC3339, in.ExpiresAt.Value)
		switch {
		case in.ExpiresAt.NotText:
			fe.add("expiresAt", ReasonNotText)
		case in.ExpiresAt.WrongType || perr != nil:
			fe.add("expiresAt", "must be an RFC 3339 time, such as 2027-01-31T00:00:00Z")
		case !t.After(now):
			fe.add("expiresAt", "must be in the future")
		default:
			expires = keybox.NewTime(t)
		}
	}
	return name, scope, expires, fe.err()
}

// newAPITokenSecret returns a fresh secret and its hash.
func newAPITokenSecret() (secret, hash string, err error) {
	var b [apiTokenBytes]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", "", fmt.Errorf("api token: %w", err)
	}
	secret = keybox.APITokenPrefix + tokenEncoding.EncodeToString(b[:])
	return secret, hashAPIToken(secret), nil
}

func hashAPIToken(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// wellFormedAPIToken reports whether s has an API token's form, so that
// anything else is refused without a read of the database.
func wellFormedAPIToken(s string) bool {
	body, ok := strings.CutPrefix(s, keybox.APITokenPrefix)
	if !ok || len(body) != apiTokenChars {
		return false
	}
	for i := 0; i < len(body); i++ {
		if c := body[i]; !(c >= 'a' && c <= 'z' || c >= '2' && c <= '7') {
			return false
		}
	}
	return true
}

// IsAPIToken reports whether a bearer credential is meant as an API token
// rather than a login token (by its prefix; it may still be refused).
func IsAPIToken(bearer string) bool { return strings.HasPrefix(bearer, keybox.APITokenPrefix) }

// CreateAPIToken makes an API token for the caller and returns its secret,
// which is never available again, with the token as it is listed.
func (s *Service) CreateAPIToken(ctx context.Context, owner keybox.User, in APITokenInput) (string, keybox.APIToken, error) {
	now := s.now()
	name, scope, expires, err := checkAPIToken(in, now.Time)
	if err != nil {
		return "", keybox.APIToken{}, err
	}
	secret, hash, err := newAPITokenSecret()
	if err != nil {
		return "", keybox.APIToken{}, err
	}
	t := keybox.APIToken{ID: s.newID(now), OwnerID: owner.ID, Name: name, Scope: scope, Prefix: secret[:apiTokenShown],
		Hash: hash, ExpiresAt: expires, CreatedAt: now, UpdatedAt: now}
	err = s.update(ctx, func(tx keybox.Tx, ev *events) error {
		if err := tx.CreateAPIToken(ctx, t); err != nil {
			return err
		}
		return ev.add(keybox.Event{OwnerID: owner.ID, Type: keybox.EventTokenCreated, Actor: userActor(owner.ID),
			Subject: tokenSubject(t.ID)}, tokenData(t))
	})
	if err != nil {
		return "", keybox.APIToken{}, fmt.Errorf("create api token: %w", err)
	}
	s.log.LogAttrs(ctx, slog.LevelInfo, "api token created", slog.String("userId", owner.ID),
		slog.String("tokenId", t.ID), slog.String("scope", string(scope)))
	return secret, t, nil
}

// APITokens lists the caller's API tokens, newest first, expired ones
// included (until revoked), so that the owner sees every token that exists.
func (s *Service) APITokens(ctx context.Context, owner keybox.User) ([]keybox.APIToken, error) {
	list, err := s.store.APITokens(ctx, owner.ID)
	if err != nil {
		return nil, fmt.Errorf("api tokens: %w", err)
	}
	return list, nil
}

// RevokeAPIToken deletes one of the caller's API tokens: every server
// refuses it from its next request. Another developer's token is "Token not
// found", as a missing one is.
func (s *Service) RevokeAPIToken(ctx context.Context, owner keybox.User, id string) error {
	err := s.update(ctx, func(tx keybox.Tx, ev *events) error {
		tokens, err := tx.APITokens(ctx, owner.ID)
		if err != nil {
			return err
		}
		if err := tx.DeleteAPIToken(ctx, owner.ID, id); err != nil {
			return err
		}
		data := map[string]any{}
		for _, t := range tokens {
			if t.ID == id {
				data = tokenData(t)
			}
		}
		return ev.add(keybox.Event{OwnerID: owner.ID, Type: keybox.EventTokenRevoked, Actor: userActor(owner.ID),
			Subject: tokenSubject(id)}, data)
	})
	if err != nil {
		return storeErr(err, errTokenNotFound, "revoke api token")
	}
	s.log.LogAttrs(ctx, slog.LevelInfo, "api token revoked", slog.String("userId", owner.ID), slog.String("tokenId", id))
	return nil
}

// revokeAPITokens deletes every API token of the user, in tx: a password
// change and logging out everywhere end them with the login tokens. Whoever
// held the password or a login session may have made one, and an owner
// taking their account back must not leave that door open.
// Each is recorded as a token.revoked event, saying why.
func (s *Service) revokeAPITokens(ctx context.Context, tx keybox.Tx, ev *events, userID, reason string) error {
	tokens, err := tx.APITokens(ctx, userID)
	if err != nil {
		return fmt.Errorf("revoke api tokens: %w", err)
	}
	if len(tokens) == 0 {
		return nil
	}
	if _, err := tx.DeleteAPITokens(ctx, userID); err != nil {
		return fmt.Errorf("revoke api tokens: %w", err)
	}
	for _, t := range tokens {
		data := tokenData(t)
		data["reason"] = reason
		if err := ev.add(keybox.Event{OwnerID: userID, Type: keybox.EventTokenRevoked, Actor: userActor(userID),
			Subject: tokenSubject(t.ID)}, data); err != nil {
			return err
		}
	}
	return nil
}

func tokenSubject(id string) keybox.Subject { return subject("token", id) }

// tokenData describes an API token in its events: never its secret or hash,
// only the prefix its owner recognises it by.
func tokenData(t keybox.APIToken) map[string]any {
	return map[string]any{"name": t.Name, "scope": t.Scope, "prefix": t.Prefix, "expiresAt": t.ExpiresAt}
}

// AuthenticateAPIToken returns the owner of an API token and the token: a
// token that exists (not revoked) and has not expired. It reads the
// database on every call, with nothing kept in memory, so a revocation
// through any server sharing the database holds on every server from the
// next request. LastUsedAt is written when the stored one is a minute old
// or more, with a condition that lets one server of several write it.
func (s *Service) AuthenticateAPIToken(ctx context.Context, secret string) (keybox.User, keybox.APIToken, error) {
	if !wellFormedAPIToken(secret) {
		return keybox.User{}, keybox.APIToken{}, errUnauthorized
	}
	t, u, err := s.store.APITokenByHash(ctx, hashAPIToken(secret))
	if errors.Is(err, keybox.ErrNotFound) {
		return keybox.User{}, keybox.APIToken{}, errUnauthorized
	}
	if err != nil {
		return keybox.User{}, keybox.APIToken{}, fmt.Errorf("authenticate api token: %w", err)
	}
	now := s.now()
	if t.Expired(now.Time) {
		return keybox.User{}, keybox.APIToken{}, errUnauthorized
	}
	if since := now.Sub(t.LastUsedAt.Time); t.LastUsedAt.IsZero() || since >= APITokenUseResolution {
		// A failed write loses a mark, not the request.
		if err := s.store.TouchAPIToken(ctx, t.ID, now.Time, now.Add(-APITokenUseResolution+time.Millisecond)); err != nil {
			s.log.LogAttrs(ctx, slog.LevelWarn, "api token: last use not recorded", slog.String("tokenId", t.ID), slog.Any("error", err))
		} else {
			t.LastUsedAt = now
		}
	}
	return u, t, nil
}
