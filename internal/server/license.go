package server

import (
	"net/http"

	"github.com/keyboxhq/keybox"
	"github.com/keyboxhq/keybox/internal/licensing"
)

// licenseChanged is a license after a change.
type licenseChanged struct {
	License keybox.License `json:"license"`
	Message string         `json:"message"`
}

// licenseDetail is a license with its seats.
type licenseDetail struct {
	Activations []keybox.Activation `json:"activations"`
	License     keybox.License      `json:"license"`
	SeatsInUse  int                 `json:"seatsInUse" doc:"Seats held now: activations whose lease has not lapsed."`
}

// licenseList is a page of licenses.
type licenseList struct {
	Licenses []keybox.License `json:"licenses"`
	Limit    int              `json:"limit"`
	Page     int              `json:"page"`
	Total    int              `json:"total"`
}

// licenseToggled is a license's status after a revocation or a restore.
type licenseToggled struct {
	Key     string        `json:"key"`
	Message string        `json:"message" doc:"\"License status changed to <status>\""`
	Status  keybox.Status `json:"status"`
}

// userLicenses is an account and the number of its licenses.
type userLicenses struct {
	LicenseCount int         `json:"licenseCount"`
	Message      string      `json:"message"`
	User         keybox.User `json:"user"`
}

func (s *Server) createLicense(r *http.Request, u keybox.User, in licensing.NewLicense) (licenseChanged, error) {
	var limits held
	if in.Key.Present {
		// A 409 tells whether any license has the key: counted, so that
		// nobody can probe other developers' keys through it.
		var err error
		if limits, err = s.holdImportedKey(r, u); err != nil {
			return licenseChanged{}, err
		}
		defer s.release(r, limits)
	}
	l, err := s.svc.CreateLicense(r.Context(), u, in)
	if licensing.IsKeyTaken(err) {
		if err := s.keep(r, limits); err != nil {
			return licenseChanged{}, err
		}
	}
	return licenseChanged{Message: "License created", License: l}, err
}

func (s *Server) listLicenses(r *http.Request, u keybox.User, _ none) (licenseList, error) {
	in, err := listInput(r)
	if err != nil {
		return licenseList{}, err
	}
	q := r.URL.Query()
	list, total, in, err := s.svc.Licenses(r.Context(), u, licensing.LicenseList{
		ListInput: in, ClientID: q.Get("clientId"), ProjectID: q.Get("projectId"), Status: q.Get("status"),
		Sort: q.Get("sort"), Order: q.Get("order"),
	})
	return licenseList{Licenses: list, Total: total, Page: in.Page, Limit: in.Limit}, err
}

func (s *Server) getLicense(r *http.Request, u keybox.User, _ none) (licenseDetail, error) {
	v, err := s.svc.License(r.Context(), u, r.PathValue("key"))
	return licenseDetail{License: v.License, Activations: v.Activations, SeatsInUse: v.SeatsInUse}, err
}

func (s *Server) toggleRevoke(r *http.Request, u keybox.User, _ none) (licenseToggled, error) {
	l, err := s.svc.ToggleRevoke(r.Context(), u, r.PathValue("key"))
	return licenseToggled{Message: "License status changed to " + string(l.Status), Key: l.Key, Status: l.Status}, err
}

func (s *Server) renewLicense(r *http.Request, u keybox.User, in licensing.Renewal) (licenseChanged, error) {
	l, err := s.svc.Renew(r.Context(), u, r.PathValue("key"), in)
	return licenseChanged{Message: "License renewed", License: l}, err
}

func (s *Server) updateLicense(r *http.Request, u keybox.User, in licensing.LicensePatch) (licenseChanged, error) {
	l, err := s.svc.PatchLicense(r.Context(), u, r.PathValue("key"), in)
	return licenseChanged{Message: "License updated", License: l}, err
}

func (s *Server) removeActivation(r *http.Request, u keybox.User, _ none) (confirmation, error) {
	return confirmation{Message: "Activation removed"}, s.svc.RemoveActivation(r.Context(), u, r.PathValue("key"), r.PathValue("activationId"))
}

func (s *Server) myLicenses(r *http.Request, u keybox.User, _ none) (userLicenses, error) {
	return s.userLicenses(r, u, u.ID)
}

func (s *Server) userLicenseCount(r *http.Request, u keybox.User, _ none) (userLicenses, error) {
	return s.userLicenses(r, u, r.PathValue("id"))
}

func (s *Server) userLicenses(r *http.Request, caller keybox.User, id string) (userLicenses, error) {
	user, n, err := s.svc.UserLicenses(r.Context(), caller, id)
	return userLicenses{Message: "User details successfully retrieved", User: user, LicenseCount: n}, err
}
