package server

import (
	"encoding/json"
	"net/http"

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
// its successes are: signed when the request carried a nonce.
type publicError struct {
	nonce string
	err   error
}

func (e *publicError) Error() string { return e.err.Error() }
func (e *publicError) Unwrap() error { return e.err }

// refused returns err to be answered as the public API's refusal signed for
// nonce; an unknown key counts as a guess against ip.
func (s *Server) refused(ip, nonce string, err error) error {
	if licensing.ErrUnknownKey(err) {
		s.guessed(ip)
	}
	return &publicError{nonce: nonce, err: err}
}

// answerRefusal sends a public API refusal, signed like any of its answers
// unless the nonce itself was refused: nothing is signed for that one.
func (s *Server) answerRefusal(w http.ResponseWriter, r *http.Request, e *publicError, env envelope) {
	nonce := e.nonce
	if licensing.IsInvalidNonce(e.err) {
		nonce = ""
	}
	status, body := s.errorBody(w, r, e.err, env.members())
	if err := s.answerJSON(w, r, nonce, status, body); err != nil {
		s.answerError(w, r, bare, err)
	}
}

// answer sends a public API body, signed when the request carried a nonce
// (a valid one: an invalid nonce is refused before anything is signed).
func (s *Server) answer(w http.ResponseWriter, r *http.Request, nonce string, status int, body []byte) error {
	h := w.Header()
	if nonce != "" {
		sig, err := s.svc.SignResponse(r.Context(), nonce, body)
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
func (s *Server) answerJSON(w http.ResponseWriter, r *http.Request, nonce string, status int, v any) error {
	body, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return s.answer(w, r, nonce, status, append(body, '\n'))
}

// admitAndDecode applies the public API's limits to r and decodes its body
// into v. It returns the client's address.
func (s *Server) admitAndDecode(w http.ResponseWriter, r *http.Request, v any) (string, error) {
	ip := s.clientIP(r)
	if err := s.admitPublic(w, ip); err != nil {
		return ip, err
	}
	return ip, decodePublic(r, v)
}

// verdict is the shape of /validate's answer, which
// licensing.Verdict encodes by hand on the hot path.
type verdict struct {
	Valid     bool          `json:"valid"`
	Status    verdictStatus `json:"status"`
	Message   string        `json:"message,omitempty" doc:"Why the key is not valid; absent when it is."`
	Duration  string        `json:"duration,omitempty" doc:"The months the license runs, as \"<n> months\"; present when valid."`
	ExpiresAt int64         `json:"expiresAt,omitempty" doc:"When the license expires, in Unix epoch milliseconds (KeyBox's SDKs read a number); present when valid or expired."`
}

// verdictStatus is the judgement of /validate.
type verdictStatus string

func (s *Server) handleValidate(w http.ResponseWriter, r *http.Request, _ keybox.User) error {
	var c licensing.Check
	ip, err := s.admitAndDecode(w, r, &c)
	if err != nil {
		return err
	}
	v, err := s.svc.Validate(r.Context(), c)
	if err != nil {
		return &publicError{nonce: c.Nonce, err: err}
	}
	if v.UnknownKey() {
		s.guessed(ip)
	}
	s.metrics.validated(v.Status)
	buf := make([]byte, 0, 160)
	return s.answer(w, r, c.Nonce, http.StatusOK, append(v.AppendJSON(buf), '\n'))
}

// activateAnswer is the answer of /validate/activate. A machine that already
// held a seat gets neither machineId nor instanceId.
type activateAnswer struct {
	ActivatedAt keybox.Time        `json:"activatedAt"`
	ExpiresAt   keybox.Time        `json:"expiresAt"`
	InstanceID  *keybox.NullString `json:"instanceId,omitempty"`
	MachineID   *keybox.NullString `json:"machineId,omitempty"`
	Message     string             `json:"message"`
	Success     bool               `json:"success"`
}

func (s *Server) handleActivate(w http.ResponseWriter, r *http.Request, _ keybox.User) error {
	var c licensing.Check
	ip, err := s.admitAndDecode(w, r, &c)
	if err != nil {
		return err
	}
	a, err := s.svc.Activate(r.Context(), c)
	if err != nil {
		return s.refused(ip, c.Nonce, err)
	}
	out := activateAnswer{ActivatedAt: a.Seat.ActivatedAt, ExpiresAt: a.License.ExpiresAt, Success: true,
		Message: "License already activated on this machine"}
	if !a.Already {
		machine, instance := keybox.NullString(a.Seat.MachineID), keybox.NullString(a.Seat.InstanceID)
		out.Message, out.MachineID, out.InstanceID = "License activated successfully", &machine, &instance
	}
	return s.answerJSON(w, r, c.Nonce, http.StatusOK, out)
}

// publicConfirmation is a success of the public API that says only what was done.
type publicConfirmation struct {
	Message string `json:"message"`
	Success bool   `json:"success"`
}

func (s *Server) handleDeactivate(w http.ResponseWriter, r *http.Request, _ keybox.User) error {
	var c licensing.Check
	ip, err := s.admitAndDecode(w, r, &c)
	if err != nil {
		return err
	}
	if err := s.svc.Deactivate(r.Context(), c); err != nil {
		return s.refused(ip, "", err)
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
	ip, err := s.admitAndDecode(w, r, &in)
	if err != nil {
		return err
	}
	file, f, err := s.svc.Checkout(r.Context(), in)
	if err != nil {
		return s.refused(ip, "", err)
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
