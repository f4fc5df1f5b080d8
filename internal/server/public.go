package server

import (
	"encoding/json"
	"net/http"
	"strconv"
	"sync"

	"github.com/keyboxhq/keybox"
	"github.com/keyboxhq/keybox/internal/licensing"
)

// The public license API: called by shipped applications with no login
// token; the license key is the credential. KeyBox's SDKs read a member
// besides the message in every refusal: "valid": false from /validate,
// "success": false from the others.

// envelope is what a route's error answers carry besides their message.
type envelope int

const (
	bare envelope = iota
	validFalse
	successFalse
)

var envelopeMembers = [...]map[string]any{
	bare:         nil,
	validFalse:   {"valid": false},
	successFalse: {"success": false},
}

func (e envelope) members() map[string]any { return envelopeMembers[e] }

// publicError is a refusal of the public license API that is answered as
// its successes are: signed, bound to the request, when it carried a nonce.
type publicError struct {
	req keybox.SignedRequest
	err error
}

func (e *publicError) Error() string { return e.err.Error() }
func (e *publicError) Unwrap() error { return e.err }

// refused returns err to be answered as the public API's refusal, signed
// for req; an unknown key counts as a guess (the one the request holds is
// kept).
func (s *Server) refused(r *http.Request, guess held, req keybox.SignedRequest, err error) error {
	if licensing.ErrUnknownKey(err) {
		if err := s.keep(r, guess); err != nil {
			return err
		}
	}
	return &publicError{req: req, err: err}
}

// answerRefusal sends a public API refusal, signed like any of its answers
// unless the nonce itself was refused: nothing is signed for that one.
func (s *Server) answerRefusal(w http.ResponseWriter, r *http.Request, e *publicError, env envelope) {
	req := e.req
	if licensing.IsInvalidNonce(e.err) {
		req = keybox.SignedRequest{}
	}
	status, body := s.errorBody(w, r, e.err, env.members())
	if err := s.answerJSON(w, r, req, status, body); err != nil {
		s.answerError(w, r, bare, err)
	}
}

// answer sends a public API body, signed for the request req when it
// carried a nonce (a valid one: an invalid nonce is refused before anything
// is signed).
func (s *Server) answer(w http.ResponseWriter, r *http.Request, req keybox.SignedRequest, status int, body []byte) error {
	h := w.Header()
	if req.Nonce != "" {
		sig, err := s.svc.SignResponse(r.Context(), req, body)
		if err != nil {
			return err
		}
		h[keybox.SignatureHeader] = []string{sig}
	}
	h["Content-Type"] = contentTypeJSON
	w.WriteHeader(status)
	_, _ = w.Write(body)
	return nil
}

// answerJSON encodes v and sends it as answer does.
func (s *Server) answerJSON(w http.ResponseWriter, r *http.Request, req keybox.SignedRequest, status int, v any) error {
	body, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return s.answer(w, r, req, status, append(body, '\n'))
}

// admitAndDecode applies the public API's limits to r and decodes its body
// into v. It returns the guess it holds for the lookup: release it when the
// handler ends (deferred), keep it for an unknown key.
func (s *Server) admitAndDecode(w http.ResponseWriter, r *http.Request, v any) (held, error) {
	guess, err := s.admitPublic(w, r)
	if err != nil {
		return nil, err
	}
	if err := decodePublic(r, v); err != nil {
		s.release(r, guess)
		return nil, err
	}
	return guess, nil
}

// verdict is the shape of /validate's answer, which
// licensing.Verdict encodes by hand on the hot path.
type verdict struct {
	Valid          bool          `json:"valid"`
	Status         verdictStatus `json:"status"`
	Message        string        `json:"message,omitempty" doc:"Why the key is not valid; absent when it is."`
	Duration       string        `json:"duration,omitempty" doc:"The months the license runs, as \"<n> months\"; present when valid."`
	ExpiresAt      int64         `json:"expiresAt,omitempty" doc:"When the license expires, in Unix epoch milliseconds (KeyBox's SDKs read a number); present when valid or expired."`
	Entitlements   []string      `json:"entitlements,omitempty" openapi:"array=EntitlementCode,maxItems=64" doc:"The license's entitlements; present when valid."`
	LeaseExpiresAt int64         `json:"leaseExpiresAt,omitempty" doc:"Unix epoch milliseconds: when the seat lapses unless renewed; present when valid and the license has a lease."`
	Missing        []string      `json:"missing,omitempty" openapi:"array=EntitlementCode,maxItems=64" doc:"The codes asked for that the license lacks; present with entitlements_missing."`
}

// verdictStatus is the judgement of /validate.
type verdictStatus string

func (s *Server) handleValidate(w http.ResponseWriter, r *http.Request, _ keybox.User) error {
	var c licensing.Check
	guess, err := s.admitAndDecode(w, r, &c)
	if err != nil {
		return err
	}
	defer s.release(r, guess)
	v, err := s.svc.Validate(r.Context(), c)
	if err != nil {
		return &publicError{req: c.Signed(keybox.ActionValidate), err: err}
	}
	if v.UnknownKey() {
		if err := s.keep(r, guess); err != nil {
			return err
		}
	}
	s.metrics.validated(v.Status)
	buf := answerBuffers.Get().(*[]byte)
	body := append(v.AppendJSON((*buf)[:0]), '\n')
	err = s.answer(w, r, c.Signed(keybox.ActionValidate), http.StatusOK, body)
	if cap(body) <= 4<<10 {
		*buf = body
		answerBuffers.Put(buf)
	}
	return err
}

// answerBuffers hold /validate's answers while they are written: net/http
// copies what it is given, so a buffer is free again when Write returns.
var answerBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 256); return &b }}

// activateAnswer is the answer of /validate/activate. A machine that already
// held a seat gets neither machineId nor instanceId.
type activateAnswer struct {
	ActivatedAt    keybox.Time        `json:"activatedAt"`
	Entitlements   []string           `json:"entitlements" openapi:"array=EntitlementCode,maxItems=64" doc:"The features the license unlocks."`
	ExpiresAt      keybox.Time        `json:"expiresAt"`
	InstanceID     *keybox.NullString `json:"instanceId,omitempty"`
	LeaseExpiresAt int64              `json:"leaseExpiresAt,omitempty" doc:"Unix epoch milliseconds: when the seat lapses unless renewed (a license with a lease)."`
	MachineID      *keybox.NullString `json:"machineId,omitempty"`
	Message        string             `json:"message"`
	Metadata       json.RawMessage    `json:"metadata" openapi:"object" doc:"The license's metadata, for the application to read."`
	Success        bool               `json:"success"`
}

func (s *Server) handleActivate(w http.ResponseWriter, r *http.Request, _ keybox.User) error {
	var c licensing.Check
	guess, err := s.admitAndDecode(w, r, &c)
	if err != nil {
		return err
	}
	defer s.release(r, guess)
	a, err := s.svc.Activate(r.Context(), c)
	signed := c.Signed(keybox.ActionActivate)
	if err != nil {
		return s.refused(r, guess, signed, err)
	}
	out := activateAnswer{ActivatedAt: a.Seat.ActivatedAt, ExpiresAt: a.License.ExpiresAt, Success: true,
		Message:      "License already activated on this machine",
		Entitlements: codes(a.License.Entitlements), Metadata: metadata(a.License.Metadata)}
	if !a.Already {
		machine, instance := keybox.NullString(a.Seat.MachineID), keybox.NullString(a.Seat.InstanceID)
		out.Message, out.MachineID, out.InstanceID = "License activated successfully", &machine, &instance
	}
	if !a.LeaseExpiresAt.IsZero() {
		out.LeaseExpiresAt = a.LeaseExpiresAt.UnixMilli()
	}
	return s.answerJSON(w, r, signed, http.StatusOK, out)
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

// heartbeatAnswer is the shape of /validate/heartbeat's answer, encoded by
// hand.
type heartbeatAnswer struct {
	Success        bool   `json:"success"`
	LeaseExpiresAt *int64 `json:"leaseExpiresAt" doc:"Unix epoch milliseconds: when the seat now lapses; null for a license without a lease."`
}

// handleHeartbeat renews the lease of the caller's seat: a floating seat
// stays taken while its machine sends these (or validates) more often
// than the lease.
func (s *Server) handleHeartbeat(w http.ResponseWriter, r *http.Request, _ keybox.User) error {
	var c licensing.Check
	guess, err := s.admitAndDecode(w, r, &c)
	if err != nil {
		return err
	}
	defer s.release(r, guess)
	h, err := s.svc.Heartbeat(r.Context(), c)
	if err != nil {
		return s.refused(r, guess, keybox.SignedRequest{}, err)
	}
	body := make([]byte, 0, 64)
	body = append(body, `{"success":true,"leaseExpiresAt":`...)
	if h.LeaseExpiresAt.IsZero() {
		body = append(body, "null"...)
	} else {
		body = strconv.AppendInt(body, h.LeaseExpiresAt.UnixMilli(), 10)
	}
	return s.answer(w, r, keybox.SignedRequest{}, http.StatusOK, append(body, "}\n"...))
}

// publicConfirmation is a success of the public API that says only what was done.
type publicConfirmation struct {
	Message string `json:"message"`
	Success bool   `json:"success"`
}

func (s *Server) handleDeactivate(w http.ResponseWriter, r *http.Request, _ keybox.User) error {
	var c licensing.Check
	guess, err := s.admitAndDecode(w, r, &c)
	if err != nil {
		return err
	}
	defer s.release(r, guess)
	if err := s.svc.Deactivate(r.Context(), c); err != nil {
		return s.refused(r, guess, keybox.SignedRequest{}, err)
	}
	writeJSON(w, http.StatusOK, publicConfirmation{Message: "License deactivated on this machine", Success: true})
	return nil
}

// checkoutAnswer carries a signed license file.
type checkoutAnswer struct {
	ExpiresAt keybox.Time `json:"expiresAt" doc:"When the file stops being valid: its ttl from now, never past the license."`
	IssuedAt  keybox.Time `json:"issuedAt"`
	KeyID     string      `json:"keyId" doc:"The signing key, as GET /validate/public-keys lists it."`
	License   string      `json:"license" doc:"The license file, from -----BEGIN KEYBOX LICENSE----- to its end line."`
	Success   bool        `json:"success"`
}

// handleCheckout issues a signed license file to a machine holding a seat.
func (s *Server) handleCheckout(w http.ResponseWriter, r *http.Request, _ keybox.User) error {
	var in licensing.CheckoutInput
	guess, err := s.admitAndDecode(w, r, &in)
	if err != nil {
		return err
	}
	defer s.release(r, guess)
	file, f, err := s.svc.Checkout(r.Context(), in)
	if err != nil {
		return s.refused(r, guess, keybox.SignedRequest{}, err)
	}
	writeJSON(w, http.StatusOK, checkoutAnswer{License: file, KeyID: f.KeyID, IssuedAt: f.IssuedAt, ExpiresAt: f.ExpiresAt, Success: true})
	return nil
}

// publicKeys lists the keys that verify license files and signed answers.
type publicKeys struct {
	Keys []licensing.PublicKey `json:"keys"`
}

// handlePublicKeys lists the keys that verify license files and responses.
func (s *Server) handlePublicKeys(w http.ResponseWriter, r *http.Request, _ keybox.User) error {
	keys, err := s.svc.PublicKeys(r.Context())
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "public, max-age=300")
	writeJSON(w, http.StatusOK, publicKeys{Keys: keys})
	return nil
}
