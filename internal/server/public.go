package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"sync"

	"github.com/keyboxhq/keybox"
	"github.com/keyboxhq/keybox/internal/licensing"
)

// The public license API (SPEC §7): no JWT; the key is the credential.

var (
	successFalse = map[string]any{"success": false}
	validFalse   = map[string]any{"valid": false}
)

// bodyBuffers are reused by the public API, which reads small bodies very often.
var bodyBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// decodeCheck reads a public API body. A member of the wrong type counts as
// absent (so a numeric key is "required"), as KeyBox's SDKs expect.
func decodeCheck(r *http.Request, c *licensing.Check) error {
	buf := bodyBuffers.Get().(*bytes.Buffer)
	defer func() {
		if buf.Cap() <= 64<<10 {
			buf.Reset()
			bodyBuffers.Put(buf)
		}
	}()
	if _, err := buf.ReadFrom(r.Body); err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return errBodyTooLarge
		}
		return errInvalidJSON
	}
	body := bytes.TrimSpace(buf.Bytes())
	if len(body) == 0 {
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
