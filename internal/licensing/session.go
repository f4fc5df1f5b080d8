package licensing

import (
	"context"
	"errors"
	"fmt"

	"github.com/keyboxhq/keybox"
)

// Login tokens end when they expire, or earlier for every token of a user at
// once: a password or role change, logging out everywhere or deleting the
// account ends them all. A token carries the user's session version when it
// was issued, and Authenticate, which reads the user from the database on
// every request, refuses it once the stored version has moved on. Every
// server sharing the database therefore refuses it from the next request,
// with nothing to propagate.

// issue returns a login token for u at its current session version.
func (s *Service) issue(u keybox.User) (string, error) {
	return s.tokens.Issue(u.ID, u.Email, string(u.Role), u.SessionVersion)
}

// Authenticate verifies a login token and returns its user, who must still
// exist and must not have ended the token's session since it was issued.
func (s *Service) Authenticate(ctx context.Context, token string) (keybox.User, error) {
	claims, err := s.tokens.Verify(token)
	if err != nil {
		return keybox.User{}, errUnauthorized
	}
	u, err := s.store.UserByID(ctx, claims.UserID)
	if errors.Is(err, keybox.ErrNotFound) {
		return keybox.User{}, errUnauthorized
	}
	if err != nil {
		return keybox.User{}, fmt.Errorf("authenticate: %w", err)
	}
	if claims.SessionVersion != u.SessionVersion {
		return keybox.User{}, errUnauthorized
	}
	return u, nil
}

// Refresh returns a fresh token for a caller holding a valid one, so that an
// active session goes on; an idle one still ends when its token expires.
func (s *Service) Refresh(ctx context.Context, caller keybox.User) (string, error) {
	return s.issue(caller)
}

// LogoutAll ends every login token of the caller, on every server, the one
// the caller sent included, and revokes every API token of the account.
func (s *Service) LogoutAll(ctx context.Context, caller keybox.User) error {
	return s.update(ctx, func(tx keybox.Tx, ev *events) error {
		if err := s.revokeAPITokens(ctx, tx, ev, caller.ID, "logged out everywhere"); err != nil {
			return err
		}
		if err := s.endSessions(ctx, tx, &caller); err != nil {
			return err
		}
		return ev.add(keybox.Event{OwnerID: caller.ID, Type: keybox.EventUserUpdated, Actor: userActor(caller.ID),
			Subject: userSubject(caller.ID)}, map[string]any{"sessionsEnded": true})
	})
}

// endSessions ends every token issued to *u so far and updates *u to the
// new session version, for a token issued after it.
func (s *Service) endSessions(ctx context.Context, tx keybox.Tx, u *keybox.User) error {
	if err := tx.EndSessions(ctx, u.ID); err != nil {
		return storeErr(err, errUnauthorized, "end sessions")
	}
	fresh, err := tx.UserByID(ctx, u.ID)
	if err != nil {
		return storeErr(err, errUnauthorized, "end sessions")
	}
	u.SessionVersion = fresh.SessionVersion
	return nil
}
