package server

import (
	"net/http"
	"strings"

	"github.com/keyboxhq/keybox"
	"github.com/keyboxhq/keybox/internal/licensing"
)

// Refusals of a request without a usable login token, in the order they are
// checked; a token that does not verify, has expired or names a user who no
// longer exists is "Unauthorized", from the licensing service.
var (
	errNoToken          = &keybox.Error{Code: keybox.Unauthorized, Message: "No token provided"}
	errInvalidTokenForm = &keybox.Error{Code: keybox.Unauthorized, Message: "Invalid token format"}
)

// errScopeRefused answers an API token calling a route its scope does not
// reach (see Access.permits).
var errScopeRefused = &keybox.Error{Code: keybox.Forbidden, Message: "Token scope does not allow this"}

// caller is who a request authenticated as: a user, through a login token
// or through one of their API tokens.
type caller struct {
	user keybox.User
	// apiToken is the id of the API token the request carried; empty for
	// a login token. This is where the event log finds a change's actor:
	// a change made through an API token is the token's (actor type
	// "token", this id), a change made through a login the user's.
	apiToken string
}

// actor is who the caller's changes are recorded as made by.
func (c caller) actor() keybox.Actor {
	if c.apiToken != "" {
		return keybox.Actor{Type: keybox.ActorToken, ID: c.apiToken}
	}
	return keybox.Actor{Type: keybox.ActorUser, ID: c.user.ID}
}

// authenticate returns who r authenticated as, with a login token or an API
// token, for a route of access. An API token acts as its owner, and only on
// the routes its scope permits: this is the one place scopes are enforced,
// from the access each route declares in the table.
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request, access Access) (caller, error) {
	header, ok := r.Header["Authorization"]
	if !ok || len(header) == 0 {
		return caller{}, errNoToken
	}
	scheme, token, _ := strings.Cut(strings.TrimSpace(header[0]), " ")
	token = strings.TrimSpace(token)
	if !strings.EqualFold(scheme, "Bearer") || token == "" {
		return caller{}, errInvalidTokenForm
	}
	rw, _ := w.(*responseWriter)
	if !licensing.IsAPIToken(token) {
		u, err := s.svc.Authenticate(r.Context(), token)
		if err == nil && rw != nil {
			rw.userID = u.ID // the access log names who made the call
		}
		return caller{user: u}, err
	}
	u, t, err := s.svc.AuthenticateAPIToken(r.Context(), token)
	if err != nil {
		return caller{}, err
	}
	if rw != nil {
		// The access log names the token of every call it made, the ones
		// its scope refuses too, and the account it acts for.
		rw.userID, rw.apiTokenID = u.ID, t.ID
	}
	if !access.permits(t.Scope) {
		return caller{}, errScopeRefused
	}
	return caller{user: u, apiToken: t.ID}, nil
}

// signupAnswer is the answer of POST /auth/signup.
type signupAnswer struct {
	Message string `json:"message"`
	UserID  string `json:"userId"`
}

func (s *Server) signup(r *http.Request, _ keybox.User, in licensing.SignupInput) (signupAnswer, error) {
	if err := s.admitSignup(r, strings.ToLower(strings.TrimSpace(in.Email.Value))); err != nil {
		return signupAnswer{}, err
	}
	u, err := s.svc.Signup(r.Context(), in)
	return signupAnswer{Message: "Signup successful", UserID: u.ID}, err
}

// loginAnswer is the answer of POST /auth/login.
type loginAnswer struct {
	Message string      `json:"message"`
	Role    keybox.Role `json:"role"`
	Token   string      `json:"token" doc:"The login token, sent as Authorization: Bearer <token>."`
	UserID  string      `json:"userId"`
}

// login counts a failure against the limits before the password is
// checked, and gives it back when the login succeeds.
func (s *Server) login(r *http.Request, _ keybox.User, in licensing.LoginInput) (loginAnswer, error) {
	limits, err := s.holdLogin(r, strings.ToLower(strings.TrimSpace(in.Email.Value)))
	if err != nil {
		return loginAnswer{}, err
	}
	defer s.release(r, limits)
	sess, err := s.svc.Login(r.Context(), in)
	if keybox.IsCode(err, keybox.Unauthorized) {
		if err := s.keep(r, limits); err != nil {
			return loginAnswer{}, err
		}
	}
	return loginAnswer{Message: "Login successful", Token: sess.Token, UserID: sess.User.ID, Role: sess.User.Role}, err
}

// meAnswer is the caller's account.
type meAnswer struct {
	User        keybox.User `json:"user"`
	HasPassword bool        `json:"hasPassword" doc:"false for an account made through a sign-in provider that has not set a password: it sets its first without currentPassword."`
}

func (s *Server) me(_ *http.Request, u keybox.User, _ none) (meAnswer, error) {
	return meAnswer{User: u, HasPassword: u.PasswordHash != ""}, nil
}

// signupStatus is GET /auth/signup: what the dashboard needs to choose its
// first page, and nothing about any account.
type signupStatus struct {
	Signup      signupMode `json:"signup" doc:"open, or closed when only the operator creates accounts."`
	HasAccounts bool       `json:"hasAccounts" doc:"false on a fresh installation, whose first account becomes its ADMIN."`
}

// signupMode is KEYBOX_SIGNUP's setting.
type signupMode string

func (s *Server) signupStatus(r *http.Request, _ keybox.User, _ none) (signupStatus, error) {
	open, has, err := s.svc.SignupStatus(r.Context())
	st := signupStatus{Signup: "open", HasAccounts: has}
	if !open {
		st.Signup = "closed"
	}
	return st, err
}

// userList is every account.
type userList struct {
	Users []keybox.User `json:"users"`
}

func (s *Server) users(r *http.Request, u keybox.User, _ none) (userList, error) {
	users, err := s.svc.Users(r.Context(), u)
	return userList{Users: users}, err
}

// userChanged is an account after a change.
type userChanged struct {
	Message string      `json:"message"`
	User    keybox.User `json:"user"`
}

func (s *Server) updateUser(r *http.Request, u keybox.User, in licensing.UserPatch) (userChanged, error) {
	updated, err := s.svc.UpdateUser(r.Context(), u, r.PathValue("id"), in)
	return userChanged{Message: "User updated successfully", User: updated}, err
}

// confirmation is an answer that only says what was done.
type confirmation struct {
	Message string `json:"message"`
}

// passwordChanged is the answer of PATCH /auth/password: every earlier
// token of the account has ended, and the caller carries on with this one.
type passwordChanged struct {
	Message string `json:"message"`
	Token   string `json:"token" doc:"A fresh login token; every earlier one of the account has ended."`
}

// changePassword counts a wrong current password against the limits before
// it is checked, and gives it back when the password was right.
func (s *Server) changePassword(r *http.Request, u keybox.User, in licensing.PasswordChange) (passwordChanged, error) {
	limits, err := s.holdPasswordChange(r, u)
	if err != nil {
		return passwordChanged{}, err
	}
	defer s.release(r, limits)
	token, err := s.svc.ChangePassword(r.Context(), u, in)
	if licensing.IsWrongPassword(err) {
		if err := s.keep(r, limits); err != nil {
			return passwordChanged{}, err
		}
	}
	return passwordChanged{Message: "Password updated successfully", Token: token}, err
}

// freshToken is the answer of POST /auth/refresh.
type freshToken struct {
	Token string `json:"token" doc:"A fresh login token for the same session."`
}

func (s *Server) refresh(r *http.Request, u keybox.User, _ none) (freshToken, error) {
	token, err := s.svc.Refresh(r.Context(), u)
	return freshToken{Token: token}, err
}

func (s *Server) logoutAll(r *http.Request, u keybox.User, _ none) (confirmation, error) {
	return confirmation{Message: "Logged out everywhere"}, s.svc.LogoutAll(r.Context(), u)
}

func (s *Server) deleteUser(r *http.Request, u keybox.User, _ none) (confirmation, error) {
	return confirmation{Message: "User deleted successfully"}, s.svc.DeleteUser(r.Context(), u, r.PathValue("id"), cascade(r))
}
