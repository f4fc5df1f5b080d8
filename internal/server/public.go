package server

import (
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/keyboxhq/keybox"
	"github.com/keyboxhq/keybox/internal/licensing"
)

// The public license API (SPEC §7): no JWT; the key is the credential.

var (
	successFalse = map[string]any{"success": false}
	validFalse   = map[string]any{"valid": false}
)

// answer sends a public API body, signed for the request req when it
// carried a nonce (a valid one: an invalid nonce is refused before anything
// is signed).
func (s *Server) answer(w http.ResponseWriter, r *http.Request, req keybox.SignedRequest, status int, body []byte) {
	h := w.Header()
	if req.Nonce != "" {
		sig, err := s.svc.SignResponse(r.Context(), req, body)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		h[keybox.SignatureHeader] = []string{sig}
	}
	h["Content-Type"] = contentTypeJSON
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// answerJSON encodes v and sends it as answer does.
func (s *Server) answerJSON(w http.ResponseWriter, r *http.Request, req keybox.SignedRequest, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.answer(w, r, req, status, append(body, '\n'))
}

// answerError sends err as the public API words it, signed like any answer.
func (s *Server) answerError(w http.ResponseWriter, r *http.Request, req keybox.SignedRequest, err error, extra map[string]any) {
	if licensing.IsInvalidNonce(err) {
		req = keybox.SignedRequest{} // never sign with a nonce that was refused
	}
	status, body := s.errorBody(w, r, err, extra)
	s.answerJSON(w, r, req, status, body)
}

// admitAndDecode applies the public API's limits to r and decodes its body
// into v. It returns the guess it holds for the lookup (release it when the
// handler ends; keep it for an unknown key), or false when it has answered.
func (s *Server) admitAndDecode(w http.ResponseWriter, r *http.Request, v any, envelope map[string]any) (held, bool) {
	guess, ok := s.admitPublic(w, r)
	if !ok {
		return nil, false
	}
	if err := decodePublic(r, v); err != nil {
		s.release(r, guess)
		s.failWith(w, r, err, envelope)
		return nil, false
	}
	return guess, true
}

// refusePublic answers a failed public call; an unknown key counts as a guess.
func (s *Server) refusePublic(w http.ResponseWriter, r *http.Request, guess held, req keybox.SignedRequest, err error) {
	if licensing.ErrUnknownKey(err) && !s.keep(w, r, guess) {
		return
	}
	s.answerError(w, r, req, err, successFalse)
}

func (s *Server) handleValidate(w http.ResponseWriter, r *http.Request) {
	var c licensing.Check
	guess, ok := s.admitAndDecode(w, r, &c, validFalse)
	if !ok {
		return
	}
	defer s.release(r, guess)
	v, err := s.svc.Validate(r.Context(), c)
	if err != nil {
		s.answerError(w, r, c.Signed(keybox.ActionValidate), err, validFalse)
		return
	}
	if v.UnknownKey() && !s.keep(w, r, guess) {
		return
	}
	s.metrics.validated(v.Status)
	buf := make([]byte, 0, 160)
	s.answer(w, r, c.Signed(keybox.ActionValidate), http.StatusOK, append(v.AppendJSON(buf), '\n'))
}

func (s *Server) handleActivate(w http.ResponseWriter, r *http.Request) {
	var c licensing.Check
	guess, ok := s.admitAndDecode(w, r, &c, successFalse)
	if !ok {
		return
	}
	defer s.release(r, guess)
	a, err := s.svc.Activate(s.withOrigin(w, r, keybox.Actor{}).Context(), c)
	signed := c.Signed(keybox.ActionActivate)
	if err != nil {
		s.refusePublic(w, r, guess, signed, err)
		return
	}
	body := map[string]any{
		"success": true, "message": "License activated successfully",
		"machineId": keybox.NullString(a.Seat.MachineID), "instanceId": keybox.NullString(a.Seat.InstanceID),
		"activatedAt": a.Seat.ActivatedAt, "expiresAt": a.License.ExpiresAt,
		"entitlements": codes(a.License.Entitlements), "metadata": metadata(a.License.Metadata),
	}
	if a.Already {
		body["message"] = "License already activated on this machine"
		delete(body, "machineId")
		delete(body, "instanceId")
	}
	if !a.LeaseExpiresAt.IsZero() {
		body["leaseExpiresAt"] = a.LeaseExpiresAt.UnixMilli()
	}
	s.answerJSON(w, r, signed, http.StatusOK, body)
}

// codes is a list of entitlements as the wire shows it: [] for none.
func codes(list []string) []string {
	if list == nil {
		return []string{}
	}
	return list
}

// metadata is a license's metadata as the wire shows it: {} for none.
func metadata(raw json.RawMessage) json.RawMessage {
	if len(raw) == 0 {
		return json.RawMessage("{}")
	}
	return raw
}

// handleHeartbeat renews the lease of the caller's seat: a floating seat
// stays taken while its machine sends these (or validates) more often
// than the lease.
func (s *Server) handleHeartbeat(w http.ResponseWriter, r *http.Request) {
	var c licensing.Check
	ip, ok := s.admitAndDecode(w, r, &c, successFalse)
	if !ok {
		return
	}
	h, err := s.svc.Heartbeat(r.Context(), c)
	if err != nil {
		s.refusePublic(w, r, ip, keybox.SignedRequest{}, err)
		return
	}
	body := make([]byte, 0, 64)
	body = append(body, `{"success":true,"leaseExpiresAt":`...)
	if h.LeaseExpiresAt.IsZero() {
		body = append(body, "null"...)
	} else {
		body = strconv.AppendInt(body, h.LeaseExpiresAt.UnixMilli(), 10)
	}
	s.answer(w, r, keybox.SignedRequest{}, http.StatusOK, append(body, "}\n"...))
}

func (s *Server) handleDeactivate(w http.ResponseWriter, r *http.Request) {
	var c licensing.Check
	guess, ok := s.admitAndDecode(w, r, &c, successFalse)
	if !ok {
		return
	}
	defer s.release(r, guess)
	if err := s.svc.Deactivate(s.withOrigin(w, r, keybox.Actor{}).Context(), c); err != nil {
		s.refusePublic(w, r, guess, keybox.SignedRequest{}, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"success": true, "message": "License deactivated on this machine"})
}

// handleCheckout issues a signed license file to a machine holding a seat.
func (s *Server) handleCheckout(w http.ResponseWriter, r *http.Request) {
	var in licensing.CheckoutInput
	guess, ok := s.admitAndDecode(w, r, &in, successFalse)
	if !ok {
		return
	}
	defer s.release(r, guess)
	file, f, err := s.svc.Checkout(r.Context(), in)
	if err != nil {
		s.refusePublic(w, r, guess, keybox.SignedRequest{}, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"success": true, "license": file, "keyId": f.KeyID, "issuedAt": f.IssuedAt, "expiresAt": f.ExpiresAt,
	})
}

// handlePublicKeys lists the keys that verify license files and responses.
func (s *Server) handlePublicKeys(w http.ResponseWriter, r *http.Request) {
	keys, err := s.svc.PublicKeys(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "public, max-age=300")
	writeJSON(w, http.StatusOK, map[string]any{"keys": keys})
}
