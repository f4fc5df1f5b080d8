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

// PublicKeys are the installation's public keys by key id, as
// GET /validate/public-keys lists them. Ship them with the application.
type PublicKeys map[string]ed25519.PublicKey

// ParsePublicKeys reads the JSON answer of GET /validate/public-keys (which an
// application can embed as it is).
func ParsePublicKeys(data []byte) (PublicKeys, error) {
	var body struct {
		Keys []struct {
			KeyID     string `json:"keyId"`
			Algorithm string `json:"algorithm"`
			PublicKey string `json:"publicKey"`
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
		keys[k.KeyID] = raw
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
// keys, for this machine, at now. Each failure is a distinct error of the
// root package: keybox.ErrFileSignature, ErrFileExpired, ErrFileWrongMachine,
// ErrFileUnknownKey, ErrFileNotYetValid, ErrFileMalformed, ErrFileInactive.
func VerifyLicenseFile(file string, publicKeys PublicKeys, machineID string, now time.Time) (keybox.LicenseFile, error) {
	return keybox.VerifyLicenseFile(file, publicKeys, machineID, now)
}

// VerifyResponse checks the KeyBox-Signature header of an answer to a request
// that carried nonce (see LicenseOptions.PublicKeys, which does it for you).
func VerifyResponse(header, nonce string, body []byte, publicKeys PublicKeys, now time.Time) error {
	return keybox.VerifyResponse(header, nonce, body, publicKeys, now, ResponseMaxAge)
}

func newNonce() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("client: nonce: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}

// call sends a public API request. With public keys configured it sends a
// fresh nonce and refuses, with ErrUntrusted, any answer whose signature
// does not verify, refusals included: a fake server can neither grant nor
// revoke.
func (l *LicenseClient) call(ctx context.Context, path string, signed bool, in any, out any) error {
	nonce := ""
	if signed && l.keys != nil {
		var err error
		if nonce, err = newNonce(); err != nil {
			return err
		}
		in = withNonce{in, nonce}
	}
	a, err := exchange(ctx, l.http, l.ua, "", "POST", endpoint(l.base, path, nil), in)
	if err != nil {
		return err
	}
	if nonce != "" {
		if err := VerifyResponse(a.resp.Header.Get(keybox.SignatureHeader), nonce, a.raw, l.keys, l.now()); err != nil {
			return fmt.Errorf("%w: POST %s: %w", ErrUntrusted, path, err)
		}
	}
	return a.decode(out)
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
// never past the license's own expiry. With public keys configured, the file
// is verified before it is returned.
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
	if err := l.call(ctx, "/validate/checkout", false, body, &out); err != nil {
		return "", keybox.LicenseFile{}, err
	}
	if l.keys == nil {
		f, _, _, err := keybox.ParseLicenseFile(out.License)
		return out.License, f, err
	}
	f, err := VerifyLicenseFile(out.License, l.keys, l.body.MachineID, l.now())
	if err != nil {
		return "", keybox.LicenseFile{}, fmt.Errorf("%w: checkout: %w", ErrUntrusted, err)
	}
	return out.License, f, nil
}
