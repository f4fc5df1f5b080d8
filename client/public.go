package client

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/keyboxhq/keybox"
)

// LicenseOptions configure a LicenseClient: who is asking, and how.
type LicenseOptions struct {
	// HTTPClient sends the requests (a DefaultTimeout client when nil).
	HTTPClient *http.Client
	// MachineID identifies this machine; MachineID() when empty, which
	// itself honours KEYBOX_MACHINE_ID.
	MachineID string
	// InstanceID identifies this installation on the machine. When empty,
	// and InstanceIDFile is set, it is kept in that file; otherwise none is
	// sent and the seat is the machine's.
	InstanceID     string
	InstanceIDFile string
	// ProductName binds the key to this product on its first activation, and
	// is checked by every later call.
	ProductName string
	// UserAgent is sent as User-Agent ("keybox-go" when empty).
	UserAgent string
	// PublicKeys, when set, are the installation's keys (see ParsePublicKeys):
	// Activate and Validate then send a fresh nonce and accept only answers
	// signed for it and for this key, machine, instance and product, and
	// Checkout verifies the file it gets.
	PublicKeys PublicKeys
	// Now is the clock for signatures and license files (time.Now when nil).
	Now func() time.Time
}

// LicenseClient calls the public license API (SPEC §7) for one key on this
// machine: the calls a shipped application makes. It holds no state between
// calls and is safe for concurrent use.
type LicenseClient struct {
	base *url.URL
	http *http.Client
	ua   string
	body check
	keys PublicKeys
	now  func() time.Time
}

// check is the body of every public call: KeyBox SDKs of every generation
// send a different subset, and the server compares a member only when both
// sides have one.
type check struct {
	Key         string `json:"key"`
	MachineID   string `json:"machineId,omitempty"`
	InstanceID  string `json:"instanceId,omitempty"`
	ProductName string `json:"productName,omitempty"`
}

// NewLicenseClient returns a LicenseClient for key on the server at baseURL.
// It fails when no machine id can be found: set LicenseOptions.MachineID or
// KEYBOX_MACHINE_ID where /etc/machine-id is missing (many containers).
func NewLicenseClient(baseURL, key string, opts LicenseOptions) (*LicenseClient, error) {
	base, err := parseBase(baseURL)
	if err != nil {
		return nil, err
	}
	key = strings.TrimSpace(key)
	if key == "" {
		return nil, fmt.Errorf("client: a license key is required")
	}
	l := &LicenseClient{base: base, http: httpClient(opts.HTTPClient), ua: orDefault(opts.UserAgent, userAgent),
		body: check{Key: key, MachineID: opts.MachineID, InstanceID: opts.InstanceID, ProductName: opts.ProductName},
		keys: opts.PublicKeys, now: opts.Now}
	if l.now == nil {
		l.now = time.Now
	}
	if l.body.MachineID == "" {
		if l.body.MachineID, err = MachineID(); err != nil {
			return nil, err
		}
	}
	if l.body.InstanceID == "" && opts.InstanceIDFile != "" {
		if l.body.InstanceID, err = InstanceID(opts.InstanceIDFile); err != nil {
			return nil, err
		}
	}
	return l, nil
}

// Key returns the license key.
func (l *LicenseClient) Key() string { return l.body.Key }

// MachineID returns the machine id sent with every call.
func (l *LicenseClient) MachineID() string { return l.body.MachineID }

// InstanceID returns the instance id sent with every call ("" for none).
func (l *LicenseClient) InstanceID() string { return l.body.InstanceID }

// Verifies reports whether answers and files are checked against public keys.
func (l *LicenseClient) Verifies() bool { return l.keys != nil }

// Message of an activation that found this machine already holding a seat.
const MessageAlreadyActivated = "License already activated on this machine"

// Activation is a successful activation. Its times are ISO strings on the
// wire, unlike Validation's.
type Activation struct {
	Success bool   `json:"success"`
	Message string `json:"message"`
	// MachineID and InstanceID are those of the seat taken; an activation
	// that found its seat already taken (Already) does not repeat them.
	MachineID   keybox.NullString `json:"machineId"`
	InstanceID  keybox.NullString `json:"instanceId"`
	ActivatedAt keybox.Time       `json:"activatedAt"`
	ExpiresAt   keybox.Time       `json:"expiresAt"`
}

// Already reports whether this machine held its seat before the call.
func (a Activation) Already() bool { return a.Message == MessageAlreadyActivated }

// Activate takes a seat on the license for this machine (and instance); a
// PENDING license becomes ACTIVE and its clock starts. Calling it again on a
// machine that holds a seat is harmless. A refusal (revoked, expired, wrong
// product, all seats taken) is an *APIError with status 403.
func (l *LicenseClient) Activate(ctx context.Context) (Activation, error) {
	var out Activation
	err := l.call(ctx, "/validate/activate", keybox.ActionActivate, l.body, &out)
	return out, err
}

// ValidationStatus is the status of a validation, in lower case as on the wire.
type ValidationStatus string

// Validation statuses (SPEC §7).
const (
	ValidationActive           ValidationStatus = "active"
	ValidationInvalid          ValidationStatus = "invalid"
	ValidationRevoked          ValidationStatus = "revoked"
	ValidationPending          ValidationStatus = "pending"
	ValidationExpired          ValidationStatus = "expired"
	ValidationMachineMismatch  ValidationStatus = "machine_mismatch"
	ValidationInstanceMismatch ValidationStatus = "instance_mismatch"
)

// Validation is the server's judgement of the key for this machine. A key
// that is not valid is an answer, not an error.
type Validation struct {
	Valid   bool
	Status  ValidationStatus
	Message string
	// Duration is the license's length as KeyBox words it ("12 months").
	Duration string
	// ExpiresAt is set when the license is active or expired.
	ExpiresAt keybox.Time
}

// UnmarshalJSON reads expiresAt as the epoch milliseconds /validate sends.
func (v *Validation) UnmarshalJSON(b []byte) error {
	var w struct {
		Valid     bool             `json:"valid"`
		Status    ValidationStatus `json:"status"`
		Message   string           `json:"message"`
		Duration  string           `json:"duration"`
		ExpiresAt *int64           `json:"expiresAt"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*v = Validation{Valid: w.Valid, Status: w.Status, Message: w.Message, Duration: w.Duration}
	if w.ExpiresAt != nil {
		v.ExpiresAt = keybox.TimeFromMillis(*w.ExpiresAt)
	}
	return nil
}

// Validate asks whether the key is valid for this machine now.
func (l *LicenseClient) Validate(ctx context.Context) (Validation, error) {
	var out Validation
	err := l.call(ctx, "/validate", keybox.ActionValidate, l.body, &out)
	return out, err
}

// Deactivate releases this machine's seat (an uninstall, a move to a new
// laptop); the license itself stays as it is. A machine without a seat is an
// *APIError with status 404.
func (l *LicenseClient) Deactivate(ctx context.Context) error {
	return l.call(ctx, "/validate/deactivate", "", l.body, nil)
}
