package keybox

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Offline licensing: a license file is a signed statement that a key is
// ACTIVE on one machine until a given time, which an application verifies
// with the installation's public keys and no network. The format is
// described for other SDKs in docs/offline-licensing.md.
//
//	-----BEGIN KEYBOX LICENSE-----
//	base64url(payload JSON) "." base64url(Ed25519 signature of the payload bytes),
//	in lines of 64 characters
//	-----END KEYBOX LICENSE-----

// LicenseFileFormat names the format inside every payload. Version 2 binds
// a file to one license key and one machine: both are required, and a
// verifier compares them with its own.
const LicenseFileFormat = "keybox-license-v2"

const (
	fileBegin = "-----BEGIN KEYBOX LICENSE-----"
	fileEnd   = "-----END KEYBOX LICENSE-----"
)

// MaxClockDrift is how far in the future a file's issue time may be before
// it is refused: clocks of air-gapped machines drift.
const MaxClockDrift = 5 * time.Minute

// LicenseFile is the signed payload of a license file.
type LicenseFile struct {
	Format           string    `json:"format"`
	KeyID            string    `json:"keyId"`
	Key              string    `json:"key"`
	Status           Status    `json:"status"`
	Services         []Service `json:"services"`
	LicenseExpiresAt Time      `json:"licenseExpiresAt"`
	MachineID        string    `json:"machineId"`
	InstanceID       string    `json:"instanceId"`
	ProductName      string    `json:"productName"`
	// Entitlements are the license's feature codes, sorted ([] for none).
	Entitlements []string `json:"entitlements"`
	// Metadata is the JSON object the developer keeps on the license ({}
	// for none).
	Metadata json.RawMessage `json:"metadata"`
	// IssuedAt is when the file was signed: a key retired before then
	// cannot have signed it.
	IssuedAt  Time `json:"issuedAt"`
	ExpiresAt Time `json:"expiresAt"`
}

// Has reports whether the file grants the entitlement code.
func (f LicenseFile) Has(code string) bool { return HasEntitlement(f.Entitlements, code) }

// Errors of license file and response verification. Each failure has its
// own, so that an application can tell a tampered file from an old one.
var (
	ErrFileMalformed    = errors.New("license file: malformed")
	ErrFileUnknownKey   = errors.New("license file: signed by an unknown key")
	ErrFileRevokedKey   = errors.New("license file: signed by a revoked key")
	ErrFileRetiredKey   = errors.New("license file: signed after its key was retired")
	ErrFileSignature    = errors.New("license file: signature does not verify")
	ErrFileExpired      = errors.New("license file: expired")
	ErrFileNotYetValid  = errors.New("license file: issued in the future")
	ErrFileWrongKey     = errors.New("license file: issued for another license key")
	ErrFileWrongMachine = errors.New("license file: issued for another machine")
	ErrFileInactive     = errors.New("license file: license not active")
)

// KeyID names a public key: "kb-" and the first 8 bytes of its SHA-256, in hex.
func KeyID(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return "kb-" + hex.EncodeToString(sum[:8])
}

// PublicKey is a signing key as a verifier knows it: its public half and the
// times that say what it may have signed.
type PublicKey struct {
	ID        string
	Key       ed25519.PublicKey
	CreatedAt Time
	// RetiredAt, once set, ends the key's signing: what it signed at or
	// after that instant is refused; what it signed before still verifies.
	RetiredAt Time
	// RevokedAt, once set, says the private key may have leaked: nothing it
	// signed verifies, whenever it claims to have been signed.
	RevokedAt Time
}

// PublicKeys are the keys a verifier trusts, by key id.
type PublicKeys map[string]PublicKey

// Public returns the key as a verifier knows it.
func (k SigningKey) Public() PublicKey {
	return PublicKey{ID: k.ID, Key: k.PublicKey, CreatedAt: k.CreatedAt, RetiredAt: k.RetiredAt, RevokedAt: k.RevokedAt}
}

// keyErrors are the answers of a key lookup, for files or for responses.
type keyErrors struct{ unknown, revoked error }

// lookup returns the key named id, refusing a revoked one.
func (ks PublicKeys) lookup(id string, errs keyErrors) (PublicKey, error) {
	k, ok := ks[id]
	if !ok || len(k.Key) != ed25519.PublicKeySize {
		return PublicKey{}, errs.unknown
	}
	if !k.RevokedAt.IsZero() {
		return PublicKey{}, errs.revoked
	}
	return k, nil
}

// signedAfterRetirement reports whether the key could not have signed at t.
func (k PublicKey) signedAfterRetirement(t time.Time) bool {
	return !k.RetiredAt.IsZero() && !t.Before(k.RetiredAt.Time)
}

// SignLicenseFile signs f with priv (whose id f.KeyID must be) and returns
// the armored file.
func SignLicenseFile(f LicenseFile, priv ed25519.PrivateKey) (string, error) {
	f.Format = LicenseFileFormat
	if f.Key == "" || f.MachineID == "" {
		return "", errors.New("license file: a key and a machine id are required")
	}
	if f.Services == nil {
		f.Services = []Service{}
	}
	if f.Entitlements == nil {
		f.Entitlements = []string{}
	}
	if len(f.Metadata) == 0 {
		f.Metadata = json.RawMessage("{}")
	}
	// Without HTML escaping: the payload carries the developer's metadata
	// as it was stored, and nothing renders it as HTML.
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(f); err != nil {
		return "", fmt.Errorf("license file: %w", err)
	}
	payload := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	sig := ed25519.Sign(priv, payload)
	body := base64.RawURLEncoding.EncodeToString(payload) + "." + base64.RawURLEncoding.EncodeToString(sig)
	var b strings.Builder
	b.WriteString(fileBegin + "\n")
	for len(body) > 64 {
		b.WriteString(body[:64] + "\n")
		body = body[64:]
	}
	b.WriteString(body + "\n" + fileEnd + "\n")
	return b.String(), nil
}

// ParseLicenseFile reads an armored file without verifying it: the payload,
// its exact bytes and the signature. A file of another format version, or
// without a key id, license key or machine id, is malformed.
func ParseLicenseFile(text string) (f LicenseFile, payload, sig []byte, err error) {
	_, rest, ok := strings.Cut(text, fileBegin)
	if !ok {
		return f, nil, nil, ErrFileMalformed
	}
	armored, _, ok := strings.Cut(rest, fileEnd)
	if !ok {
		return f, nil, nil, ErrFileMalformed
	}
	body := strings.Join(strings.Fields(armored), "")
	p64, s64, ok := strings.Cut(body, ".")
	if !ok {
		return f, nil, nil, ErrFileMalformed
	}
	if payload, err = base64.RawURLEncoding.Strict().DecodeString(p64); err != nil {
		return f, nil, nil, ErrFileMalformed
	}
	if sig, err = base64.RawURLEncoding.Strict().DecodeString(s64); err != nil || len(sig) != ed25519.SignatureSize {
		return f, nil, nil, ErrFileMalformed
	}
	if err := json.Unmarshal(payload, &f); err != nil || f.Format != LicenseFileFormat || f.KeyID == "" || f.Key == "" || f.MachineID == "" {
		return LicenseFile{}, nil, nil, ErrFileMalformed
	}
	return f, payload, sig, nil
}

// VerifyLicenseFile checks a license file against the public keys a verifier
// trusts (by key id), for the license key and machine it runs as, at now.
// Neither key nor machineID is a wildcard: an empty one matches no file.
func VerifyLicenseFile(text string, keys PublicKeys, key, machineID string, now time.Time) (LicenseFile, error) {
	f, payload, sig, err := ParseLicenseFile(text)
	if err != nil {
		return LicenseFile{}, err
	}
	pub, err := keys.lookup(f.KeyID, keyErrors{ErrFileUnknownKey, ErrFileRevokedKey})
	if err != nil {
		return LicenseFile{}, err
	}
	if !ed25519.Verify(pub.Key, payload, sig) {
		return LicenseFile{}, ErrFileSignature
	}
	switch {
	case pub.signedAfterRetirement(f.IssuedAt.Time):
		return f, ErrFileRetiredKey
	case f.IssuedAt.After(now.Add(MaxClockDrift)):
		return f, ErrFileNotYetValid
	case !now.Before(f.ExpiresAt.Time):
		return f, ErrFileExpired
	case f.Key != key:
		return f, ErrFileWrongKey
	case f.MachineID != machineID:
		return f, ErrFileWrongMachine
	case f.Status != StatusActive:
		return f, ErrFileInactive
	}
	return f, nil
}
