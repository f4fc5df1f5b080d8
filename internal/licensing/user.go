package licensing

import (
	"context"
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/keyboxhq/keybox"
)

// Messages of accounts and logins: KeyBox's exact sentences, which clients match on.
var (
	errAllFieldsRequired  = fail(keybox.Invalid, "All fields are required")
	errPasswordsDiffer    = fail(keybox.Invalid, "Passwords do not match")
	errPasswordTooShort   = fail(keybox.Invalid, "Password must be at least 8 characters long")
	errInvalidEmail       = fail(keybox.Invalid, "Please enter a valid email address")
	errEmailRegistered    = fail(keybox.Invalid, "Email already registered")
	errSignupDisabled     = fail(keybox.Forbidden, "Signup is disabled")
	errLoginRequired      = fail(keybox.Invalid, "Email and password are required")
	errInvalidCredentials = fail(keybox.Unauthorized, "Invalid credentials")
	errUnauthorized       = fail(keybox.Unauthorized, "Unauthorized")
	errForbidden          = fail(keybox.Forbidden, "Forbidden")
	errUserNotFound       = fail(keybox.NotFound, "User not found")
	errWrongPassword      = fail(keybox.Invalid, "Current password is incorrect")
	errInvalidRole        = fail(keybox.Invalid, "Invalid role")
	errLastAdmin          = fail(keybox.Conflict, "An installation needs at least one ADMIN")
	errUserHasClients     = fail(keybox.Conflict, "User has clients; delete them first or pass ?cascade=true")
	errInvalidName        = fail(keybox.Invalid, "Name must be a non-empty string of at most 200 characters")
)

// IsWrongPassword reports a password change refused for its current
// password: a guess, which the rate limiter counts.
func IsWrongPassword(err error) bool { return errors.Is(err, errWrongPassword) }

// MinPasswordLength is the shortest password accepted, in characters.
const MinPasswordLength = 8

// SignupInput is the body of POST /auth/signup.
type SignupInput struct {
	Name            Text `json:"name"`
	Email           Text `json:"email"`
	Password        Text `json:"password" openapi:"minLength=8"`
	ConfirmPassword Text `json:"confirm_password"`
}

// Signup creates an account. The first account of an installation is an ADMIN.
func (s *Service) Signup(ctx context.Context, in SignupInput) (keybox.User, error) {
	if s.signupClosed {
		return keybox.User{}, errSignupDisabled
	}
	return s.createUser(ctx, in, "")
}

// SignupStatus says whether signup is open and whether any account exists.
// Once one does, one always will (the last ADMIN cannot be deleted), so the
// answer is kept and the database is asked no more.
func (s *Service) SignupStatus(ctx context.Context) (open, hasAccounts bool, err error) {
	if s.accountsExist.Load() {
		return !s.signupClosed, true, nil
	}
	n, err := s.store.CountUsers(ctx)
	if err != nil {
		return false, false, fmt.Errorf("signup status: %w", err)
	}
	if n > 0 {
		s.accountsExist.Store(true)
	}
	return !s.signupClosed, n > 0, nil
}

// CreateUser creates an account even when signup is closed (the operator's
// `keybox user create`); role "" means the signup rule (ADMIN if first).
func (s *Service) CreateUser(ctx context.Context, in SignupInput, role keybox.Role) (keybox.User, error) {
	if role != "" && !role.Valid() {
		return keybox.User{}, errInvalidRole
	}
	return s.createUser(ctx, in, role)
}

func (s *Service) createUser(ctx context.Context, in SignupInput, role keybox.Role) (keybox.User, error) {
	for _, f := range []Text{in.Name, in.Email, in.Password, in.ConfirmPassword} {
		if f.WrongType || f.Blank() {
			return keybox.User{}, errAllFieldsRequired
		}
	}
	name, email, password := in.Name.Trimmed(), normalizeEmail(in.Email.Value), in.Password.Value
	if password != in.ConfirmPassword.Value {
		return keybox.User{}, errPasswordsDiffer
	}
	if utf8.RuneCountInString(password) < MinPasswordLength {
		return keybox.User{}, errPasswordTooShort
	}
	if !validEmail(email) {
		return keybox.User{}, errInvalidEmail
	}
	if tooLong(name) {
		return keybox.User{}, errInvalidName
	}
	// Hash before the transaction: it is slow, and must not hold the writer.
	hash, err := s.passwords.Hash(ctx, password)
	if err != nil {
		return keybox.User{}, err
	}
	now := s.now()
	u := keybox.User{ID: s.newID(now), Name: name, Email: email, PasswordHash: hash, Role: role, CreatedAt: now, UpdatedAt: now}
	err = s.update(ctx, func(tx keybox.Tx, ev *events) error {
		if u.Role == "" {
			// Two first signups at once must not both become ADMIN.
			if err := tx.Lock(ctx, "users"); err != nil {
				return err
			}
			n, err := tx.CountUsers(ctx)
			if err != nil {
				return err
			}
			u.Role = keybox.RoleDeveloper
			if n == 0 {
				u.Role = keybox.RoleAdmin
			}
		}
		if err := tx.CreateUser(ctx, u); err != nil {
			return err
		}
		// The account's own chain; made by whoever the origin names (an
		// ADMIN, the command line), else by the new user signing up.
		return ev.add(keybox.Event{OwnerID: u.ID, Type: keybox.EventUserCreated, Actor: userActor(u.ID),
			Subject: userSubject(u.ID)}, userData(u))
	})
	if errors.Is(err, keybox.ErrDuplicate) {
		return keybox.User{}, errEmailRegistered
	}
	if err != nil {
		return keybox.User{}, fmt.Errorf("signup: %w", err)
	}
	return u, nil
}

// LoginInput is the body of POST /auth/login.
type LoginInput struct {
	Email    Text `json:"email"`
	Password Text `json:"password"`
}

// Session is a successful login.
type Session struct {
	Token string
	User  keybox.User
}

// Login checks credentials and issues a token. An unknown email and a wrong
// password get the same error after the same amount of work.
func (s *Service) Login(ctx context.Context, in LoginInput) (Session, error) {
	if in.Email.WrongType || in.Password.WrongType || in.Email.Blank() || in.Password.Value == "" {
		return Session{}, errLoginRequired
	}
	u, err := s.store.UserByEmail(ctx, normalizeEmail(in.Email.Value))
	if err != nil && !errors.Is(err, keybox.ErrNotFound) {
		return Session{}, fmt.Errorf("login: %w", err)
	}
	ok, err := s.passwords.Check(ctx, u.PasswordHash, in.Password.Value)
	if err != nil {
		return Session{}, err
	}
	if !ok {
		return Session{}, errInvalidCredentials
	}
	token, err := s.issue(u)
	if err != nil {
		return Session{}, err
	}
	return Session{Token: token, User: u}, nil
}

// Users lists every account; ADMIN only.
func (s *Service) Users(ctx context.Context, caller keybox.User) ([]keybox.User, error) {
	if caller.Role != keybox.RoleAdmin {
		return nil, errForbidden
	}
	users, err := s.store.Users(ctx)
	if err != nil {
		return nil, fmt.Errorf("users: %w", err)
	}
	return users, nil
}

// User returns an account the caller may see: their own, or any for an ADMIN.
// Another developer's account answers as a missing one.
func (s *Service) User(ctx context.Context, caller keybox.User, id string) (keybox.User, error) {
	if caller.ID != id && caller.Role != keybox.RoleAdmin {
		return keybox.User{}, errUserNotFound
	}
	u, err := s.store.UserByID(ctx, id)
	if err != nil {
		return keybox.User{}, storeErr(err, errUserNotFound, "user")
	}
	return u, nil
}

// UserPatch is the body of PATCH /auth/users/:id.
type UserPatch struct {
	Name  Text `json:"name"`
	Email Text `json:"email"`
	Role  Text `json:"role" openapi:"ref=Role" doc:"Only an ADMIN changes roles."`
}

// UpdateUser changes an account: the caller's own, or any for an ADMIN. Only
// an ADMIN changes roles, and the last ADMIN cannot be demoted. A change of
// role ends the account's login tokens.
func (s *Service) UpdateUser(ctx context.Context, caller keybox.User, id string, in UserPatch) (keybox.User, error) {
	if caller.ID != id && caller.Role != keybox.RoleAdmin {
		return keybox.User{}, errUserNotFound
	}
	var u keybox.User
	endSessions := false
	err := s.update(ctx, func(tx keybox.Tx, ev *events) error {
		if err := tx.Lock(ctx, "users"); err != nil {
			return err
		}
		var err error
		if u, err = tx.UserByID(ctx, id); err != nil {
			return storeErr(err, errUserNotFound, "update user")
		}
		before := u
		if in.Name.Present {
			if in.Name.WrongType || in.Name.Blank() || tooLong(in.Name.Trimmed()) {
				return errInvalidName
			}
			u.Name = in.Name.Trimmed()
		}
		if in.Email.Present {
			email := normalizeEmail(in.Email.Value)
			if in.Email.WrongType || !validEmail(email) {
				return errInvalidEmail
			}
			u.Email = email
		}
		if in.Role.Present {
			role := keybox.Role(in.Role.Value)
			if in.Role.WrongType || !role.Valid() {
				return errInvalidRole
			}
			if role != u.Role {
				if caller.Role != keybox.RoleAdmin {
					return errForbidden
				}
				if err := s.keepOneAdmin(ctx, tx, u, role); err != nil {
					return err
				}
				u.Role = role
				endSessions = true
			}
		}
		u.UpdatedAt = s.now()
		if err := tx.UpdateUser(ctx, u); err != nil {
			return err
		}
		if endSessions {
			// Tokens name the role they were issued for: a new role, new tokens.
			if err := s.endSessions(ctx, tx, &u); err != nil {
				return err
			}
		}
		c := changes{}
		c.set("name", before.Name, u.Name)
		c.set("email", before.Email, u.Email)
		c.set("role", before.Role, u.Role)
		return ev.add(keybox.Event{OwnerID: u.ID, Type: keybox.EventUserUpdated, Actor: userActor(caller.ID),
			Subject: userSubject(u.ID)}, c)
	})
	if errors.Is(err, keybox.ErrDuplicate) {
		return keybox.User{}, errEmailRegistered
	}
	if err != nil {
		return keybox.User{}, err
	}
	return u, nil
}

func (s *Service) keepOneAdmin(ctx context.Context, tx keybox.Tx, u keybox.User, role keybox.Role) error {
	if u.Role != keybox.RoleAdmin || role == keybox.RoleAdmin {
		return nil
	}
	users, err := tx.Users(ctx)
	if err != nil {
		return err
	}
	for _, other := range users {
		if other.ID != u.ID && other.Role == keybox.RoleAdmin {
			return nil
		}
	}
	return errLastAdmin
}

// DeleteUser deletes an account; ADMIN only, and never the last ADMIN. A
// user who owns clients stays unless cascade, which deletes their clients,
// projects, licenses and activations with the account, in one transaction.
// The account's login tokens end with it.
func (s *Service) DeleteUser(ctx context.Context, caller keybox.User, id string, cascade bool) error {
	if caller.Role != keybox.RoleAdmin {
		return errForbidden
	}
	err := s.update(ctx, func(tx keybox.Tx, ev *events) error {
		if err := tx.Lock(ctx, "users"); err != nil {
			return err
		}
		u, err := tx.UserByID(ctx, id)
		if err != nil {
			return storeErr(err, errUserNotFound, "delete user")
		}
		// As if demoted to no role at all: the last ADMIN stays.
		if err := s.keepOneAdmin(ctx, tx, u, ""); err != nil {
			return err
		}
		if err := tx.DeleteUser(ctx, id, cascade); err != nil {
			return err
		}
		// Recorded for the installation (its ADMINs see it): the account,
		// and whatever it owned, are gone.
		data := userData(u)
		data["cascade"] = cascade
		return ev.add(keybox.Event{Type: keybox.EventUserDeleted, Actor: userActor(caller.ID), Subject: userSubject(u.ID)}, data)
	})
	switch {
	case errors.Is(err, keybox.ErrInUse):
		return errUserHasClients
	case errors.Is(err, keybox.ErrNotFound):
		return errUserNotFound
	case err != nil:
		return err
	}
	if cascade {
		s.licensesChanged()
	}
	return nil
}

// PasswordChange is the body of PATCH /auth/password.
type PasswordChange struct {
	CurrentPassword Text `json:"currentPassword"`
	Password        Text `json:"password" openapi:"minLength=8"`
	ConfirmPassword Text `json:"confirm_password"`
}

// ChangePassword sets a new password for the caller, who must know the
// current one; an account made through a sign-in provider, which has none,
// sets its first without one. Every login token and every API token of the
// account ends with the old password; the caller gets a fresh login token to
// carry on with.
func (s *Service) ChangePassword(ctx context.Context, caller keybox.User, in PasswordChange) (string, error) {
	hasPassword := caller.PasswordHash != ""
	fields := []Text{in.Password, in.ConfirmPassword}
	if hasPassword {
		fields = append(fields, in.CurrentPassword)
	}
	for _, f := range fields {
		if f.WrongType || f.Value == "" {
			return "", errAllFieldsRequired
		}
	}
	if in.Password.Value != in.ConfirmPassword.Value {
		return "", errPasswordsDiffer
	}
	if utf8.RuneCountInString(in.Password.Value) < MinPasswordLength {
		return "", errPasswordTooShort
	}
	if hasPassword {
		ok, err := s.passwords.Check(ctx, caller.PasswordHash, in.CurrentPassword.Value)
		if err != nil {
			return "", err
		}
		if !ok {
			return "", errWrongPassword
		}
	}
	hash, err := s.passwords.Hash(ctx, in.Password.Value)
	if err != nil {
		return "", err
	}
	var u keybox.User
	err = s.update(ctx, func(tx keybox.Tx, ev *events) error {
		if err := tx.Lock(ctx, "users"); err != nil {
			return err
		}
		var err error
		if u, err = tx.UserByID(ctx, caller.ID); err != nil {
			return storeErr(err, errUserNotFound, "change password")
		}
		if !hasPassword && u.PasswordHash != "" {
			// A first password was set since the caller's request was
			// authenticated: this one no longer skips the current password.
			return errWrongPassword
		}
		u.PasswordHash, u.UpdatedAt = hash, s.now()
		if err := tx.UpdateUser(ctx, u); err != nil {
			return err
		}
		if err := s.revokeAPITokens(ctx, tx, ev, u.ID, "password changed"); err != nil {
			return err
		}
		if err := s.endSessions(ctx, tx, &u); err != nil {
			return err
		}
		return ev.add(keybox.Event{OwnerID: u.ID, Type: keybox.EventUserPasswordChanged, Actor: userActor(u.ID),
			Subject: userSubject(u.ID)}, nil)
	})
	if err != nil {
		return "", err
	}
	return s.issue(u)
}
