package client

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/keyboxhq/keybox"
)

// Offline licensing (docs/offline-licensing.md): license files that let an
// application run without the network until they expire, and signed answers
// that a fake or replaying server cannot produce.

// ResponseMaxAge is how far a signed answer's time may be from this
// machine's clock.
const ResponseMaxAge = 5 * time.Minute

// ErrUntrusted wraps every failure to verify an answer's signature: a fake
// server, a replayed answer, a key this application does not know.
var ErrUntrusted = errors.New("client: the answer is not signed by a trusted key")

// PublicKeys are the installation's public keys by key id, with the times
// that say what each may have signed, as GET /validate/public-keys lists
// them. Ship them with the application, and ship the list again after a key
// is revoked.
type PublicKeys = keybox.PublicKeys

// ParsePublicKeys reads the JSON answer of GET /validate/public-keys (which an
// application can embed as it is). A key's retiredAt and revokedAt are
// honoured: what a key signed at or after its retirement is refused, and
// nothing a revoked key signed is trusted.
func ParsePublicKeys(data []byte) (PublicKeys, error) {
	var body struct {
		Keys []struct {
			KeyID     string      `json:"keyId"`
			Algorithm string      `json:"algorithm"`
			PublicKey string      `json:"publicKey"`
			CreatedAt keybox.Time `json:"createdAt"`
			RetiredAt keybox.Time `json:"retiredAt"`
			RevokedAt keybox.Time `json:"revokedAt"`
		} `json:"keys"`
	}
	if err := json.Unmarshal(data, &body); err != nil {
		return nil, fmt.Errorf("client: public keys: %w", err)
	}
	keys := PublicKeys{}
	for _, k := range body.Keys {
		raw, err := base64.StdEncoding.DecodeString(k.PublicKey)
		if err != nil || len(raw) != ed25519.PublicKeySize || k.Algorithm != "Ed25519" {
			return nil, fmt.Errorf("client: public key %q is not a base64 Ed25519 key", k.KeyID)
		}
		if id := keybox.KeyID(raw); id != k.KeyID {
			return nil, fmt.Errorf("client: public key %q has the id %q", k.KeyID, id)
		}
		keys[k.KeyID] = keybox.PublicKey{ID: k.KeyID, Key: raw, CreatedAt: k.CreatedAt, RetiredAt: k.RetiredAt, RevokedAt: k.RevokedAt}
	}
	if len(keys) == 0 {
		return nil, errors.New("client: no public keys")
	}
	return keys, nil
}

// FetchPublicKeys asks the server at baseURL for its public keys. Only do so
// over a channel you trust (once, at build or install time): keys fetched
// from the server whose answers they check prove nothing.
func FetchPublicKeys(ctx context.Context, baseURL string, hc *http.Client) (PublicKeys, error) {
	base, err := parseBase(baseURL)
	if err != nil {
		return nil, err
	}
	a, err := exchange(ctx, httpClient(hc), userAgent, "", "GET", endpoint(base, "/validate/public-keys", nil), nil)
	if err != nil {
		return nil, err
	}
	if err := a.decode(nil); err != nil {
		return nil, err
	}
	return ParsePublicKeys(a.raw)
}

// VerifyLicenseFile checks a license file against the installation's public
// keys, for this license key and this machine, at now. Each failure is a
// distinct error of the root package: keybox.ErrFileSignature,
// ErrFileExpired, ErrFileWrongKey, ErrFileWrongMachine, ErrFileUnknownKey,
// ErrFileRevokedKey, ErrFileRetiredKey, ErrFileNotYetValid,
// ErrFileMalformed, ErrFileInactive.
func VerifyLicenseFile(file string, publicKeys PublicKeys, key, machineID string, now time.Time) (keybox.LicenseFile, error) {
	return keybox.VerifyLicenseFile(file, publicKeys, key, machineID, now)
}

// VerifyLicenseFile checks a license file for this client's key and machine
// with its public keys, at its clock's now.
func (l *LicenseClient) VerifyLicenseFile(file string) (keybox.LicenseFile, error) {
	if l.keys == nil {
		return keybox.LicenseFile{}, fmt.Errorf("%w: no public keys to verify the license file with", ErrUntrusted)
	}
	return VerifyLicenseFile(file, l.keys, l.body.Key, l.body.MachineID, l.now())
}

// VerifyResponse checks the KeyBox-Signature header of an answer to the
// request req, as this application sent it (see LicenseOptions.PublicKeys,
// which does it for you). An answer the server gave to another request (a
// relay that changed the key, machine, instance or product, or replayed an
// old answer) does not verify.
func VerifyResponse(header string, req keybox.SignedRequest, body []byte, publicKeys PublicKeys, now time.Time) error {
	return keybox.VerifyResponse(header, req, body, publicKeys, now, ResponseMaxAge)
}

func newNonce() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("client: nonce: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}

// call sends a public API request. For an action whose answers are signed
// (keybox.ActionValidate, keybox.ActionActivate; "" for none), with public
// keys configured, it sends a fresh nonce and refuses, with ErrUntrusted,
// any answer whose signature does not verify for this very request,
// refusals included: a fake server or a relay can neither grant nor revoke.
func (l *LicenseClient) call(ctx context.Context, path, action string, in any, out any) error {
	_, err := l.callAt(ctx, path, action, in, out)
	return err
}

// callAt is call that also returns the server's time at the answer: its
// Date header (to the second), or this machine's clock when it has none.
// Leases are worked out from it, whatever this machine's clock says.
func (l *LicenseClient) callAt(ctx context.Context, path, action string, in any, out any) (time.Time, error) {
	var req keybox.SignedRequest
	if action != "" && l.keys != nil {
		nonce, err := newNonce()
		if err != nil {
			return time.Time{}, err
		}
		req = keybox.SignedRequest{Action: action, Key: l.body.Key, MachineID: l.body.MachineID,
			InstanceID: l.body.InstanceID, ProductName: l.body.ProductName, Nonce: nonce}
		in = withNonce{in, nonce}
	}
	a, err := exchange(ctx, l.http, l.ua, "", "POST", endpoint(l.base, path, nil), in)
	if err != nil {
		return time.Time{}, err
	}
	if req.Nonce != "" {
		if err := VerifyResponse(a.resp.Header.Get(keybox.SignatureHeader), req, a.raw, l.keys, l.now()); err != nil {
			return time.Time{}, fmt.Errorf("%w: POST %s: %w", ErrUntrusted, path, err)
		}
	}
	at, err := http.ParseTime(a.resp.Header.Get("Date"))
	if err != nil {
		at = l.now()
	}
	return at, a.decode(out)
}

// withNonce adds a nonce to a request body.
type withNonce struct {
	body  any
	nonce string
}

func (w withNonce) MarshalJSON() ([]byte, error) {
	b, err := json.Marshal(w.body)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	m["nonce"] = w.nonce
	return json.Marshal(m)
}

// Checkout asks for a license file for this machine, which must hold a seat:
// a signed statement that the key is active here for ttl (30 days when 0),
// never past the license's own expiry. A file for another license key or
// machine is refused. With public keys configured, the file is verified
// before it is returned, and a failure wraps ErrUntrusted.
func (l *LicenseClient) Checkout(ctx context.Context, ttl time.Duration) (string, keybox.LicenseFile, error) {
	body := map[string]any{"key": l.body.Key, "machineId": l.body.MachineID}
	if l.body.InstanceID != "" {
		body["instanceId"] = l.body.InstanceID
	}
	if l.body.ProductName != "" {
		body["productName"] = l.body.ProductName
	}
	if ttl > 0 {
		body["ttl"] = int64(ttl / time.Second)
	}
	var out struct {
		License string `json:"license"`
	}
	if err := l.call(ctx, "/validate/checkout", "", body, &out); err != nil {
		return "", keybox.LicenseFile{}, err
	}
	if l.keys == nil {
		f, _, _, err := keybox.ParseLicenseFile(out.License)
		switch {
		case err != nil:
			return "", keybox.LicenseFile{}, err
		case f.Key != l.body.Key:
			return "", keybox.LicenseFile{}, keybox.ErrFileWrongKey
		case f.MachineID != l.body.MachineID:
			return "", keybox.LicenseFile{}, keybox.ErrFileWrongMachine
		}
		return out.License, f, nil
	}
	f, err := l.VerifyLicenseFile(out.License)
	if err != nil {
		return "", keybox.LicenseFile{}, fmt.Errorf("%w: checkout: %w", ErrUntrusted, err)
	}
	return out.License, f, nil
}
