package server

import (
	"net/http"
	"strings"

	"github.com/keyboxhq/keybox"
	"github.com/keyboxhq/keybox/internal/licensing"
)

// Messages of the JWT middleware (SPEC §2), in the order it checks.
var (
	errNoToken          = &keybox.Error{Code: keybox.Unauthorized, Message: "No token provided"}
	errInvalidTokenForm = &keybox.Error{Code: keybox.Unauthorized, Message: "Invalid token format"}
)

// authed wraps a handler that needs a logged-in user.
func (s *Server) authed(h func(http.ResponseWriter, *http.Request, keybox.User)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		header, ok := r.Header["Authorization"]
		if !ok || len(header) == 0 {
			s.fail(w, r, errNoToken)
			return
		}
		scheme, token, _ := strings.Cut(strings.TrimSpace(header[0]), " ")
		token = strings.TrimSpace(token)
		if !strings.EqualFold(scheme, "Bearer") || token == "" {
			s.fail(w, r, errInvalidTokenForm)
			return
		}
		u, err := s.svc.Authenticate(r.Context(), token)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		h(w, s.withOrigin(w, r, keybox.Actor{Type: keybox.ActorUser, ID: u.ID}), u)
	}
}

func (s *Server) handleSignup(w http.ResponseWriter, r *http.Request) {
	var in licensing.SignupInput
	if err := decode(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	if !s.admitSignup(w, r, strings.ToLower(strings.TrimSpace(in.Email.Value))) {
		return
	}
	u, err := s.svc.Signup(s.withOrigin(w, r, keybox.Actor{}).Context(), in)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"message": "Signup successful", "userId": u.ID})
}

func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request) {
	var in licensing.LoginInput
	if err := decode(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	// The failure is counted before the password is checked, and given
	// back when the login succeeds.
	limits, ok := s.holdLogin(w, r, strings.ToLower(strings.TrimSpace(in.Email.Value)))
	if !ok {
		return
	}
	defer s.release(r, limits)
	sess, err := s.svc.Login(r.Context(), in)
	if err != nil {
		if keybox.IsCode(err, keybox.Unauthorized) && !s.keep(w, r, limits) {
			return
		}
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"message": "Login successful", "token": sess.Token, "userId": sess.User.ID, "role": sess.User.Role,
	})
}

func (s *Server) handleMe(w http.ResponseWriter, r *http.Request, u keybox.User) {
	writeJSON(w, http.StatusOK, map[string]any{"user": u})
}

func (s *Server) handleUsers(w http.ResponseWriter, r *http.Request, u keybox.User) {
	users, err := s.svc.Users(r.Context(), u)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"users": users})
}

func (s *Server) handleUpdateUser(w http.ResponseWriter, r *http.Request, u keybox.User) {
	var in licensing.UserPatch
	if err := decode(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	updated, err := s.svc.UpdateUser(r.Context(), u, r.PathValue("id"), in)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"message": "User updated successfully", "user": updated})
}

func (s *Server) handleChangePassword(w http.ResponseWriter, r *http.Request, u keybox.User) {
	var in licensing.PasswordChange
	if err := decode(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	limits, ok := s.holdPasswordChange(w, r, u)
	if !ok {
		return
	}
	defer s.release(r, limits)
	token, err := s.svc.ChangePassword(r.Context(), u, in)
	if err != nil {
		if licensing.IsWrongPassword(err) && !s.keep(w, r, limits) {
			return
		}
		s.fail(w, r, err)
		return
	}
	// Every earlier token has ended; the caller carries on with this one.
	writeJSON(w, http.StatusOK, map[string]any{"message": "Password updated successfully", "token": token})
}

func (s *Server) handleRefresh(w http.ResponseWriter, r *http.Request, u keybox.User) {
	token, err := s.svc.Refresh(r.Context(), u)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"token": token})
}

func (s *Server) handleLogoutAll(w http.ResponseWriter, r *http.Request, u keybox.User) {
	if err := s.svc.LogoutAll(r.Context(), u); err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"message": "Logged out everywhere"})
}

func (s *Server) handleDeleteUser(w http.ResponseWriter, r *http.Request, u keybox.User) {
	if err := s.svc.DeleteUser(r.Context(), u, r.PathValue("id"), cascade(r)); err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"message": "User deleted successfully"})
}
