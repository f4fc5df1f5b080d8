package server

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/keyboxhq/keybox"
	"github.com/keyboxhq/keybox/internal/licensing"
)

// The public license API (SPEC §7): no JWT; the key is the credential.

var (
	successFalse = map[string]any{"success": false}
	validFalse   = map[string]any{"valid": false}
)

// decodeCheck reads a public API body. A member of the wrong type counts as
// absent (so a numeric key is "required"), as KeyBox's SDKs expect.
func decodeCheck(r *http.Request, c *licensing.Check) error {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return errBodyTooLarge
		}
		return errInvalidJSON
	}
	if strings.TrimSpace(string(body)) == "" {
		return nil
	}
	if err := json.Unmarshal(body, c); err != nil {
		var typeErr *json.UnmarshalTypeError
		if !errors.As(err, &typeErr) || typeErr.Field == "" {
			return errInvalidJSON
		}
	}
	return nil
}

func (s *Server) handleValidate(w http.ResponseWriter, r *http.Request) {
	ip := s.clientIP(r)
	if !s.admitPublic(w, ip) {
		return
	}
	var c licensing.Check
	if err := decodeCheck(r, &c); err != nil {
		s.failWith(w, r, err, validFalse)
		return
	}
	v, err := s.svc.Validate(r.Context(), c)
	if err != nil {
		s.failWith(w, r, err, validFalse)
		return
	}
	if v.Status == licensing.VerdictInvalid && v.Message == "Key does not exist" {
		s.guessed(ip)
	}
	s.metrics.validated(v.Status)
	buf := make([]byte, 0, 160)
	buf = append(v.AppendJSON(buf), '\n')
	h := w.Header()
	h["Content-Type"] = contentTypeJSON
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(buf)
}

func (s *Server) handleActivate(w http.ResponseWriter, r *http.Request) {
	ip := s.clientIP(r)
	if !s.admitPublic(w, ip) {
		return
	}
	var c licensing.Check
	if err := decodeCheck(r, &c); err != nil {
		s.failWith(w, r, err, successFalse)
		return
	}
	a, err := s.svc.Activate(r.Context(), c)
	if err != nil {
		if licensing.ErrUnknownKey(err) {
			s.guessed(ip)
		}
		s.failWith(w, r, err, successFalse)
		return
	}
	if a.Already {
		writeJSON(w, http.StatusOK, map[string]any{
			"success": true, "message": "License already activated on this machine",
			"activatedAt": a.Seat.ActivatedAt, "expiresAt": a.License.ExpiresAt,
		})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"success": true, "message": "License activated successfully",
		"machineId": keybox.NullString(a.Seat.MachineID), "instanceId": keybox.NullString(a.Seat.InstanceID),
		"activatedAt": a.Seat.ActivatedAt, "expiresAt": a.License.ExpiresAt,
	})
}

func (s *Server) handleDeactivate(w http.ResponseWriter, r *http.Request) {
	ip := s.clientIP(r)
	if !s.admitPublic(w, ip) {
		return
	}
	var c licensing.Check
	if err := decodeCheck(r, &c); err != nil {
		s.failWith(w, r, err, successFalse)
		return
	}
	if err := s.svc.Deactivate(r.Context(), c); err != nil {
		if licensing.ErrUnknownKey(err) {
			s.guessed(ip)
		}
		s.failWith(w, r, err, successFalse)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"success": true, "message": "License deactivated on this machine"})
}
