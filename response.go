package keybox

import (
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"time"
)

// Signed answers: when a request to /validate or /validate/activate carries
// a nonce, the answer carries a header
//
//	KeyBox-Signature: v=2, keyId=kb-…, ts=<unix ms>, sig=<base64url Ed25519 signature>
//
// whose signature covers the request the answer is for (the endpoint, the
// key, machine, instance and product it sent, and its nonce), the signing
// time and the body's bytes: an answer obtained for another key or machine
// does not verify, even when a relay keeps the nonce. The exact bytes are
// described in docs/offline-licensing.md.

// SignatureHeader is the response header that carries the signature.
const SignatureHeader = "KeyBox-Signature"

// responseFormat is the version of signed answers, first in the signed bytes.
const (
	responseFormat  = "keybox-response-v2"
	responseVersion = "2"
)

// Actions: the public API endpoints whose answers are signed.
const (
	ActionValidate = "validate"
	ActionActivate = "activate"
)

// SignedRequest is what a signed answer is bound to: the endpoint asked and
// the members of the request as it sent them ("" for a member not sent).
type SignedRequest struct {
	Action      string
	Key         string
	MachineID   string
	InstanceID  string
	ProductName string
	Nonce       string
}

// Errors of response verification.
var (
	ErrResponseUnsigned   = errors.New("response: not signed")
	ErrResponseMalformed  = errors.New("response: malformed signature header")
	ErrResponseUnknown    = errors.New("response: signed by an unknown key")
	ErrResponseRevokedKey = errors.New("response: signed by a revoked key")
	ErrResponseRetiredKey = errors.New("response: signed after its key was retired")
	ErrResponseSignature  = errors.New("response: signature does not verify for this request and body")
	ErrResponseStale      = errors.New("response: signed too long ago or in the future")
)

// responseMessage returns the signed bytes: the format line, then each
// member as its length in bytes, a colon, the bytes and a newline (so that
// no two requests give the same bytes, whatever their members hold), then
// the body.
func responseMessage(req SignedRequest, ts int64, body []byte) []byte {
	b := make([]byte, 0, 160+len(body))
	b = append(b, responseFormat+"\n"...)
	for _, m := range [...]string{req.Action, strconv.FormatInt(ts, 10), req.Key, req.MachineID, req.InstanceID, req.ProductName, req.Nonce} {
		b = strconv.AppendInt(b, int64(len(m)), 10)
		b = append(b, ':')
		b = append(b, m...)
		b = append(b, '\n')
	}
	return append(b, body...)
}

// SignResponse returns the KeyBox-Signature header value for body sent at t
// in answer to req.
func SignResponse(k SigningKey, req SignedRequest, t time.Time, body []byte) string {
	ts := t.UnixMilli()
	sig := ed25519.Sign(k.PrivateKey, responseMessage(req, ts, body))
	return "v=" + responseVersion + ", keyId=" + k.ID + ", ts=" + strconv.FormatInt(ts, 10) +
		", sig=" + base64.RawURLEncoding.EncodeToString(sig)
}

// VerifyResponse checks the KeyBox-Signature header of an answer to req (the
// request as this application sent it): a trusted key that was not retired
// at the signing time signed this body for this very request, within maxAge
// of now (either way, for clock drift).
func VerifyResponse(header string, req SignedRequest, body []byte, keys PublicKeys, now time.Time, maxAge time.Duration) error {
	if header == "" {
		return ErrResponseUnsigned
	}
	fields := map[string]string{}
	for _, part := range strings.Split(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if _, dup := fields[k]; !ok || dup {
			return ErrResponseMalformed
		}
		fields[k] = v
	}
	if fields["v"] != responseVersion {
		return ErrResponseMalformed
	}
	ts, err := strconv.ParseInt(fields["ts"], 10, 64)
	if err != nil {
		return ErrResponseMalformed
	}
	sig, err := base64.RawURLEncoding.Strict().DecodeString(fields["sig"])
	if err != nil || len(sig) != ed25519.SignatureSize {
		return ErrResponseMalformed
	}
	pub, err := keys.lookup(fields["keyId"], keyErrors{ErrResponseUnknown, ErrResponseRevokedKey})
	if err != nil {
		return err
	}
	if !ed25519.Verify(pub.Key, responseMessage(req, ts, body), sig) {
		return ErrResponseSignature
	}
	signed := time.UnixMilli(ts)
	if pub.signedAfterRetirement(signed) {
		return ErrResponseRetiredKey
	}
	if d := now.Sub(signed); d > maxAge || d < -maxAge {
		return ErrResponseStale
	}
	return nil
}
