package licensing

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/keyboxhq/keybox"
)

// Signing in through a provider (Google, or any OpenID Connect provider).
//
// The provider vouches for a subject (its stable id for the person), and
// perhaps for an email address. The subject finds the account; the address
// only ever joins a new subject to an existing account when the provider
// says it has verified the address: otherwise anyone able to type an
// address at some provider could take over the account of its owner here.

// SignInCodeTTL is how long the one-time code of a sign-in may wait to be
// exchanged for a login token.
const SignInCodeTTL = 60 * time.Second

// Refusals of a sign-in through a provider. The server tells them apart to
// send the person back to the login page with the right explanation.
var (
	// ErrSignupDisabled: no account matches and new accounts are closed.
	ErrSignupDisabled = errSignupDisabled
	// ErrEmailNotVerified: an account has the address the provider gave,
	// but the provider does not say the address is verified, so it is not
	// linked to the account.
	ErrEmailNotVerified = fail(keybox.Forbidden, "An account with this email already exists and the provider has not verified the address")
	// ErrNoEmail: no account matches and the provider gave no valid
	// address to create one with (an account needs one).
	ErrNoEmail = fail(keybox.Forbidden, "The provider gave no email address")
	// ErrInvalidSignInCode: the code is unknown, used or expired.
	ErrInvalidSignInCode  = fail(keybox.Unauthorized, "Invalid or expired sign-in code")
	errSignInCodeRequired = fail(keybox.Invalid, "Code is required")
)

// ProviderAccount is what a provider vouched for in a verified sign-in.
type ProviderAccount struct {
	// Provider names the provider: "google", or an OpenID Connect issuer.
	Provider      string
	Subject       string
	Email         string
	EmailVerified bool
	// Name is the person's name as the provider gave it, if it did.
	Name string
}

// SignInWithProvider finds or makes the account of a provider's verified
// sign-in and returns a one-time code for it (see ExchangeSignInCode): the
// account linked to the subject; else the account with the same address,
// linked now, when the provider verified the address (and none when it did
// not); else a new account without a password (the first of an
// installation is its ADMIN), unless signup is closed.
func (s *Service) SignInWithProvider(ctx context.Context, a ProviderAccount) (string, error) {
	if a.Provider == "" || a.Subject == "" {
		return "", errors.New("sign in with provider: no provider or subject")
	}
	email := normalizeEmail(a.Email)
	code, hash, err := newSignInCode()
	if err != nil {
		return "", err
	}
	now := s.now()
	var u keybox.User
	var how string
	err = s.update(ctx, func(tx keybox.Tx, ev *events) error {
		// Serialises with signups and with itself: the same new subject
		// signing in twice at once makes one account, and the first
		// account of an installation is the only ADMIN.
		if err := tx.Lock(ctx, "users"); err != nil {
			return err
		}
		var err error
		u, how, err = s.providerUser(ctx, tx, a, email, now)
		if err != nil {
			return err
		}
		if err := ev.providerSignIn(u, how, a.Provider); err != nil {
			return err
		}
		if err := tx.DeleteSignInCodes(ctx, now.Time); err != nil {
			return err
		}
		return tx.CreateSignInCode(ctx, keybox.SignInCode{
			Hash: hash, UserID: u.ID, ExpiresAt: keybox.NewTime(now.Add(SignInCodeTTL)), CreatedAt: now,
		})
	})
	if err != nil {
		if errors.Is(err, keybox.ErrDuplicate) {
			// Only a race outside the lock could get here; say what the
			// person can act on rather than fail.
			return "", ErrEmailNotVerified
		}
		return "", err
	}
	s.log.LogAttrs(ctx, slog.LevelInfo, "signed in with a provider",
		slog.String("provider", a.Provider), slog.String("userId", u.ID), slog.String("account", how))
	return code, nil
}

// providerSignIn records what a provider's sign-in changed: an account
// made, or an account linked to the provider; a sign-in to a linked
// account changes nothing.
func (ev *events) providerSignIn(u keybox.User, how, provider string) error {
	switch how {
	case "created":
		data := userData(u)
		data["provider"] = provider
		return ev.add(keybox.Event{OwnerID: u.ID, Type: keybox.EventUserCreated, Actor: userActor(u.ID), Subject: userSubject(u.ID)}, data)
	case "linked":
		return ev.add(keybox.Event{OwnerID: u.ID, Type: keybox.EventUserUpdated, Actor: userActor(u.ID), Subject: userSubject(u.ID)},
			map[string]any{"identityLinked": provider})
	}
	return nil
}

// providerUser applies SignInWithProvider's rules inside its transaction and
// says which one applied ("found", "linked", "created").
func (s *Service) providerUser(ctx context.Context, tx keybox.Tx, a ProviderAccount, email string, now keybox.Time) (keybox.User, string, error) {
	u, err := tx.UserByIdentity(ctx, a.Provider, a.Subject)
	if err == nil {
		return u, "found", nil
	}
	if !errors.Is(err, keybox.ErrNotFound) {
		return keybox.User{}, "", fmt.Errorf("sign in with provider: %w", err)
	}
	link := keybox.Identity{Provider: a.Provider, Subject: a.Subject, Email: email, CreatedAt: now}
	if email != "" {
		u, err = tx.UserByEmail(ctx, email)
		switch {
		case err == nil:
			if !a.EmailVerified {
				return keybox.User{}, "", ErrEmailNotVerified
			}
			link.UserID = u.ID
			return u, "linked", tx.CreateIdentity(ctx, link)
		case !errors.Is(err, keybox.ErrNotFound):
			return keybox.User{}, "", fmt.Errorf("sign in with provider: %w", err)
		}
	}
	if s.signupClosed {
		return keybox.User{}, "", ErrSignupDisabled
	}
	if !validEmail(email) {
		return keybox.User{}, "", ErrNoEmail
	}
	n, err := tx.CountUsers(ctx)
	if err != nil {
		return keybox.User{}, "", err
	}
	u = keybox.User{ID: s.newID(now), Name: providerName(a.Name, email), Email: email, Role: keybox.RoleDeveloper, CreatedAt: now, UpdatedAt: now}
	if n == 0 {
		u.Role = keybox.RoleAdmin
	}
	if err := tx.CreateUser(ctx, u); err != nil {
		return keybox.User{}, "", err
	}
	link.UserID = u.ID
	return u, "created", tx.CreateIdentity(ctx, link)
}

// providerName is the name of a new account: the provider's, without
// control characters and within the length of a name, else the address's
// local part.
func providerName(name, email string) string {
	name = strings.TrimSpace(strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == utf8.RuneError {
			return -1
		}
		return r
	}, name))
	if name == "" {
		name, _, _ = strings.Cut(email, "@")
	}
	if tooLong(name) {
		name = strings.TrimSpace(string([]rune(name)[:maxFieldLength]))
	}
	return name
}

// ExchangeSignInCode trades a one-time code from SignInWithProvider for a
// login token, once, within SignInCodeTTL, on any server sharing the database.
func (s *Service) ExchangeSignInCode(ctx context.Context, code Text) (Session, error) {
	if code.WrongType || code.Blank() {
		return Session{}, errSignInCodeRequired
	}
	now := s.now()
	var u keybox.User
	err := s.store.Update(ctx, func(tx keybox.Tx) error {
		c, err := tx.TakeSignInCode(ctx, hashSignInCode(code.Value))
		if err != nil {
			return storeErr(err, ErrInvalidSignInCode, "exchange sign-in code")
		}
		if !now.Before(c.ExpiresAt.Time) {
			return nil // taken, so gone; refused below
		}
		if u, err = tx.UserByID(ctx, c.UserID); err != nil {
			return storeErr(err, ErrInvalidSignInCode, "exchange sign-in code")
		}
		return nil
	})
	if err != nil {
		return Session{}, err
	}
	if u.ID == "" {
		return Session{}, ErrInvalidSignInCode
	}
	token, err := s.issue(u)
	if err != nil {
		return Session{}, err
	}
	return Session{Token: token, User: u}, nil
}

// newSignInCode returns a fresh code and the hash it is stored under. A
// code has 256 random bits: it cannot be guessed in its minute of life.
func newSignInCode() (code, hash string, err error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", "", fmt.Errorf("sign-in code: %w", err)
	}
	code = base64.RawURLEncoding.EncodeToString(b[:])
	return code, hashSignInCode(code), nil
}

func hashSignInCode(code string) string {
	sum := sha256.Sum256([]byte(code))
	return hex.EncodeToString(sum[:])
}
