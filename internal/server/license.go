package server

import (
	"net/http"

	"github.com/keyboxhq/keybox"
	"github.com/keyboxhq/keybox/internal/licensing"
)

func (s *Server) handleCreateLicense(w http.ResponseWriter, r *http.Request, u keybox.User) {
	var in licensing.NewLicense
	if err := decode(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	var limits held
	if in.Key.Present {
		// A 409 tells whether any license has the key: counted, so that
		// nobody can probe other developers' keys through it.
		var ok bool
		if limits, ok = s.holdImportedKey(w, r, u); !ok {
			return
		}
		defer s.release(r, limits)
	}
	l, err := s.svc.CreateLicense(r.Context(), u, in)
	if err != nil {
		if licensing.IsKeyTaken(err) && !s.keep(w, r, limits) {
			return
		}
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"message": "License created", "license": l})
}

func (s *Server) handleListLicenses(w http.ResponseWriter, r *http.Request, u keybox.User) {
	in, err := listInput(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	q := r.URL.Query()
	list, total, page, err := s.svc.Licenses(r.Context(), u, licensing.LicenseList{
		ListInput: in, ClientID: q.Get("clientId"), ProjectID: q.Get("projectId"), Status: q.Get("status"),
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, listBody("licenses", list, total, page))
}

func (s *Server) handleGetLicense(w http.ResponseWriter, r *http.Request, u keybox.User) {
	v, err := s.svc.License(r.Context(), u, r.PathValue("key"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"license": v.License, "activations": v.Activations, "seatsInUse": v.SeatsInUse})
}

func (s *Server) handleToggleRevoke(w http.ResponseWriter, r *http.Request, u keybox.User) {
	l, err := s.svc.ToggleRevoke(r.Context(), u, r.PathValue("key"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"message": "License status changed to " + string(l.Status), "key": l.Key, "status": l.Status,
	})
}

func (s *Server) handleRenewLicense(w http.ResponseWriter, r *http.Request, u keybox.User) {
	var in licensing.Renewal
	if err := decode(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	l, err := s.svc.Renew(r.Context(), u, r.PathValue("key"), in)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"message": "License renewed", "license": l})
}

func (s *Server) handlePatchLicense(w http.ResponseWriter, r *http.Request, u keybox.User) {
	var in licensing.LicensePatch
	if err := decode(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	l, err := s.svc.PatchLicense(r.Context(), u, r.PathValue("key"), in)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"message": "License updated", "license": l})
}

func (s *Server) handleRemoveActivation(w http.ResponseWriter, r *http.Request, u keybox.User) {
	if err := s.svc.RemoveActivation(r.Context(), u, r.PathValue("key"), r.PathValue("activationId")); err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"message": "Activation removed"})
}

func (s *Server) handleLicenseMe(w http.ResponseWriter, r *http.Request, u keybox.User) {
	s.userLicenses(w, r, u, u.ID)
}

func (s *Server) handleLicenseUser(w http.ResponseWriter, r *http.Request, u keybox.User) {
	s.userLicenses(w, r, u, r.PathValue("id"))
}

func (s *Server) userLicenses(w http.ResponseWriter, r *http.Request, caller keybox.User, id string) {
	user, n, err := s.svc.UserLicenses(r.Context(), caller, id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"message": "User details successfully retrieved", "user": user, "licenseCount": n})
}
