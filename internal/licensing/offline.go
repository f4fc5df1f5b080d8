package licensing

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/keyboxhq/keybox"
)

// Offline licensing (signed license files and signed responses).

var (
	errMachineRequired = fail(keybox.Invalid, "Machine ID is required")
	errInvalidTTL      = fail(keybox.Invalid, "Invalid ttl: use whole seconds from 60 to 31536000")
	errInvalidNonce    = fail(keybox.Invalid, "Invalid nonce: use 8 to 256 printable characters")
)

// Checkout bounds.
const (
	DefaultFileTTL = 30 * 24 * time.Hour
	minFileTTL     = time.Minute
	maxFileTTL     = 365 * 24 * time.Hour
)

// IsInvalidNonce reports the answer to a nonce that is refused: nothing is
// signed for it.
func IsInvalidNonce(err error) bool { return errors.Is(err, errInvalidNonce) }

// checkNonce accepts 8 to 256 printable ASCII characters, or none.
func checkNonce(n string) error {
	if n == "" {
		return nil
	}
	if len(n) < 8 || len(n) > 256 {
		return errInvalidNonce
	}
	for i := 0; i < len(n); i++ {
		if n[i] < 0x20 || n[i] > 0x7e {
			return errInvalidNonce
		}
	}
	return nil
}

// Signed returns what an answer to c, at the endpoint action
// (keybox.ActionValidate or keybox.ActionActivate), is bound to: the
// members as the request sent them.
func (c Check) Signed(action string) keybox.SignedRequest {
	return keybox.SignedRequest{Action: action, Key: c.Key, MachineID: c.MachineID, InstanceID: c.InstanceID,
		ProductName: c.ProductName, Nonce: c.Nonce}
}

// SignResponse returns the KeyBox-Signature header for body, sent in answer
// to req, signed now with the active key.
func (s *Service) SignResponse(ctx context.Context, req keybox.SignedRequest, body []byte) (string, error) {
	k, err := s.activeKey(ctx)
	if err != nil {
		return "", fmt.Errorf("sign response: %w", err)
	}
	return keybox.SignResponse(k, req, s.clock(), body), nil
}

// CheckoutInput is the body of POST /validate/checkout.
type CheckoutInput struct {
	Check
	// TTL is the file's lifetime in seconds (DefaultFileTTL when absent).
	TTL Int `json:"ttl" openapi:"min=60,max=31536000" doc:"The file's lifetime in seconds; 30 days when absent, never past the license."`
}

// Checkout issues a license file to a machine that holds a seat: a signed
// statement that the key is ACTIVE there until the file expires, which is
// the TTL from now or the license's own expiry, whichever comes first. The
// file names the license key and the machine it was issued to, which a
// verifier compares with its own, and carries the license's entitlements
// and metadata. For a license with a lease, a checkout renews the seat's
// lease and the file ends with it: a floating seat cannot be taken offline
// for longer than its machine may stay silent, or a lapsed seat would run
// on two machines.
func (s *Service) Checkout(ctx context.Context, in CheckoutInput) (string, keybox.LicenseFile, error) {
	c := in.Check
	if c.Key == "" {
		return "", keybox.LicenseFile{}, errKeyRequired
	}
	if c.MachineID == "" {
		return "", keybox.LicenseFile{}, errMachineRequired
	}
	ttl := DefaultFileTTL
	if in.TTL.Present {
		if !in.TTL.In(int(minFileTTL/time.Second), int(maxFileTTL/time.Second)) {
			return "", keybox.LicenseFile{}, errInvalidTTL
		}
		ttl = time.Duration(in.TTL.Value) * time.Second
	}
	l, err := s.store.License(ctx, c.Key)
	if err != nil {
		return "", keybox.LicenseFile{}, storeErr(err, errLicenseNotFound, "checkout")
	}
	now := s.now()
	switch statusAt(l, now.Time) {
	case keybox.StatusRevoked:
		return "", keybox.LicenseFile{}, errRevoked
	case keybox.StatusExpired:
		return "", keybox.LicenseFile{}, errExpired
	case keybox.StatusPending:
		return "", keybox.LicenseFile{}, errNotOnThisDevice
	}
	if !sameProduct(string(l.ProductName), c.ProductName) {
		return "", keybox.LicenseFile{}, errWrongProduct
	}
	seats, err := s.store.Activations(ctx, l.ID)
	if err != nil {
		return "", keybox.LicenseFile{}, fmt.Errorf("checkout: %w", err)
	}
	i, _ := findSeat(seats, c, s.leaseCheck(&l, now.Time))
	if i < 0 {
		return "", keybox.LicenseFile{}, errNotOnThisDevice
	}
	seat := &seats[i]
	k, err := s.activeKey(ctx)
	if err != nil {
		return "", keybox.LicenseFile{}, fmt.Errorf("checkout: %w", err)
	}
	expires := keybox.NewTime(now.Add(ttl))
	if lease := leaseOf(&l); lease > 0 && lease < ttl {
		expires = keybox.NewTime(now.Add(lease))
	}
	if l.ExpiresAt.Before(expires.Time) {
		expires = l.ExpiresAt
	}
	instance := c.InstanceID
	if instance == "" {
		instance = seat.InstanceID
	}
	f := keybox.LicenseFile{
		KeyID: k.ID, Key: l.Key, Status: keybox.StatusActive, Services: l.Services, LicenseExpiresAt: l.ExpiresAt,
		MachineID: c.MachineID, InstanceID: instance, ProductName: string(l.ProductName), IssuedAt: now, ExpiresAt: expires,
		Entitlements: l.Entitlements, Metadata: l.Metadata,
	}
	text, err := keybox.SignLicenseFile(f, k.PrivateKey)
	if err != nil {
		return "", keybox.LicenseFile{}, err
	}
	s.counts.see(l.ID, seat.ID, now.Time) // a sign of life: the lease runs from now
	f.Format = keybox.LicenseFileFormat
	return text, f, nil
}
