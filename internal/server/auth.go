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

// authenticate returns the user whose login token r carries.
func (s *Server) authenticate(r *http.Request) (keybox.User, error) {
	header, ok := r.Header["Authorization"]
	if !ok || len(header) == 0 {
		return keybox.User{}, errNoToken
	}
	scheme, token, _ := strings.Cut(strings.TrimSpace(header[0]), " ")
	token = strings.TrimSpace(token)
	if !strings.EqualFold(scheme, "Bearer") || token == "" {
		return keybox.User{}, errInvalidTokenForm
	}
	return s.svc.Authenticate(r.Context(), token)
}

// signupAnswer is the answer of POST /auth/signup.
type signupAnswer struct {
	Message string `json:"message"`
	UserID  string `json:"userId"`
}

func (s *Server) signup(r *http.Request, _ keybox.User, in licensing.SignupInput) (signupAnswer, error) {
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

// login checks the failure limits before the password, and counts a failure
// against both the email and the client's address.
func (s *Server) login(r *http.Request, _ keybox.User, in licensing.LoginInput) (loginAnswer, error) {
	email, ip := strings.ToLower(strings.TrimSpace(in.Email.Value)), s.clientIP(r)
	if err := s.admitLogin(email, ip); err != nil {
		return loginAnswer{}, err
	}
	sess, err := s.svc.Login(r.Context(), in)
	if keybox.IsCode(err, keybox.Unauthorized) {
		s.loginFailed(email, ip)
	}
	return loginAnswer{Message: "Login successful", Token: sess.Token, UserID: sess.User.ID, Role: sess.User.Role}, err
}

// userAnswer is one account.
type userAnswer struct {
	User keybox.User `json:"user"`
}

func (s *Server) me(_ *http.Request, u keybox.User, _ none) (userAnswer, error) {
	return userAnswer{User: u}, nil
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

func (s *Server) changePassword(r *http.Request, u keybox.User, in licensing.PasswordChange) (confirmation, error) {
	return confirmation{Message: "Password updated successfully"}, s.svc.ChangePassword(r.Context(), u, in)
}
