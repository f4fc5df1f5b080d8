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
	"strconv"
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

// LicenseFileFormat names the format inside every payload.
const LicenseFileFormat = "keybox-license-v1"

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
	IssuedAt         Time      `json:"issuedAt"`
	ExpiresAt        Time      `json:"expiresAt"`
}

// Errors of license file and response verification. Each failure has its
// own, so that an application can tell a tampered file from an old one.
var (
	ErrFileMalformed    = errors.New("license file: malformed")
	ErrFileUnknownKey   = errors.New("license file: signed by an unknown key")
	ErrFileSignature    = errors.New("license file: signature does not verify")
	ErrFileExpired      = errors.New("license file: expired")
	ErrFileNotYetValid  = errors.New("license file: issued in the future")
	ErrFileWrongMachine = errors.New("license file: issued for another machine")
	ErrFileInactive     = errors.New("license file: license not active")
)

// KeyID names a public key: "kb-" and the first 8 bytes of its SHA-256, in hex.
func KeyID(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return "kb-" + hex.EncodeToString(sum[:8])
}

// SignLicenseFile signs f with priv (whose id f.KeyID must be) and returns
// the armored file.
func SignLicenseFile(f LicenseFile, priv ed25519.PrivateKey) (string, error) {
	f.Format = LicenseFileFormat
	if f.Services == nil {
		f.Services = []Service{}
	}
	payload, err := json.Marshal(f)
	if err != nil {
		return "", fmt.Errorf("license file: %w", err)
	}
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
// its exact bytes and the signature.
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
	if err := json.Unmarshal(payload, &f); err != nil || f.Format != LicenseFileFormat || f.KeyID == "" || f.Key == "" {
		return LicenseFile{}, nil, nil, ErrFileMalformed
	}
	return f, payload, sig, nil
}

// VerifyLicenseFile checks a license file against the installation's public
// keys (by key id) for this machine at now. machineID "" skips the machine
// check (a file bound to no machine).
func VerifyLicenseFile(text string, keys map[string]ed25519.PublicKey, machineID string, now time.Time) (LicenseFile, error) {
	f, payload, sig, err := ParseLicenseFile(text)
	if err != nil {
		return LicenseFile{}, err
	}
	pub, ok := keys[f.KeyID]
	if !ok {
		return LicenseFile{}, ErrFileUnknownKey
	}
	if !ed25519.Verify(pub, payload, sig) {
		return LicenseFile{}, ErrFileSignature
	}
	switch {
	case f.IssuedAt.After(now.Add(MaxClockDrift)):
		return f, ErrFileNotYetValid
	case !now.Before(f.ExpiresAt.Time):
		return f, ErrFileExpired
	case f.MachineID != "" && f.MachineID != machineID:
		return f, ErrFileWrongMachine
	case f.Status != StatusActive:
		return f, ErrFileInactive
	}
	return f, nil
}

// Signed responses: when a request to /validate or /validate/activate
// carries a nonce, the answer carries a KeyBox-Signature header:
//
//	KeyBox-Signature: keyId=kb-…, ts=<unix ms>, sig=<base64url Ed25519 signature>
//
// over "keybox-response-v1\n" + nonce + "\n" + ts + "\n" + the body's bytes.

// SignatureHeader is the response header that carries the signature.
const SignatureHeader = "KeyBox-Signature"

// Errors of response verification.
var (
	ErrResponseUnsigned  = errors.New("response: not signed")
	ErrResponseMalformed = errors.New("response: malformed signature header")
	ErrResponseUnknown   = errors.New("response: signed by an unknown key")
	ErrResponseSignature = errors.New("response: signature does not verify for this body and nonce")
	ErrResponseStale     = errors.New("response: signed too long ago or in the future")
)

func responseMessage(nonce string, ts int64, body []byte) []byte {
	var b bytes.Buffer
	b.WriteString("keybox-response-v1\n")
	b.WriteString(nonce)
	b.WriteByte('\n')
	b.WriteString(strconv.FormatInt(ts, 10))
	b.WriteByte('\n')
	b.Write(body)
	return b.Bytes()
}

// SignResponse returns the KeyBox-Signature header value for body sent in
// answer to nonce at t.
func SignResponse(k SigningKey, nonce string, t time.Time, body []byte) string {
	ts := t.UnixMilli()
	sig := ed25519.Sign(k.PrivateKey, responseMessage(nonce, ts, body))
	return "keyId=" + k.ID + ", ts=" + strconv.FormatInt(ts, 10) + ", sig=" + base64.RawURLEncoding.EncodeToString(sig)
}

// VerifyResponse checks the KeyBox-Signature header of an answer to a
// request that sent nonce: the right key signed this body for this nonce,
// within maxAge of now (either way, for clock drift).
func VerifyResponse(header, nonce string, body []byte, keys map[string]ed25519.PublicKey, now time.Time, maxAge time.Duration) error {
	if header == "" {
		return ErrResponseUnsigned
	}
	fields := map[string]string{}
	for _, part := range strings.Split(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return ErrResponseMalformed
		}
		fields[k] = v
	}
	ts, err := strconv.ParseInt(fields["ts"], 10, 64)
	if err != nil {
		return ErrResponseMalformed
	}
	sig, err := base64.RawURLEncoding.Strict().DecodeString(fields["sig"])
	if err != nil || len(sig) != ed25519.SignatureSize {
		return ErrResponseMalformed
	}
	pub, ok := keys[fields["keyId"]]
	if !ok {
		return ErrResponseUnknown
	}
	if !ed25519.Verify(pub, responseMessage(nonce, ts, body), sig) {
		return ErrResponseSignature
	}
	if d := now.Sub(time.UnixMilli(ts)); d > maxAge || d < -maxAge {
		return ErrResponseStale
	}
	return nil
}
