package client

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
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

// LicenseClient calls the public license API (/validate…) for one key on this
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
	// Entitlements, on a validation, are the codes the application needs.
	Entitlements []string `json:"entitlements,omitempty"`
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
	// Entitlements are the license's feature codes, sorted.
	Entitlements []string `json:"entitlements"`
	// Metadata is the JSON object the developer keeps on the license, for
	// the application to read ({} when none).
	Metadata json.RawMessage `json:"metadata"`
	// LeaseExpiresAt, for a license with a lease (floating seats), is when
	// this machine's seat lapses unless it validates or sends a heartbeat
	// first; Lease is the lease's length.
	LeaseExpiresAt keybox.Time   `json:"-"`
	Lease          time.Duration `json:"-"`
}

// Already reports whether this machine held its seat before the call.
func (a Activation) Already() bool { return a.Message == MessageAlreadyActivated }

// Has reports whether the license holds the entitlement code.
func (a Activation) Has(code string) bool { return keybox.HasEntitlement(a.Entitlements, code) }

// leaseAnswer is the lease members of an answer: epoch milliseconds.
type leaseAnswer struct {
	LeaseExpiresAt *int64 `json:"leaseExpiresAt"`
}

// lease reads a lease's end and works out its length from the server's
// time at the answer (to the second, as the lease is whole seconds).
func (a leaseAnswer) lease(serverNow time.Time) (keybox.Time, time.Duration) {
	if a.LeaseExpiresAt == nil {
		return keybox.Time{}, 0
	}
	end := keybox.TimeFromMillis(*a.LeaseExpiresAt)
	return end, max(end.Sub(serverNow).Truncate(time.Second), 0)
}

// Activate takes a seat on the license for this machine (and instance); a
// PENDING license becomes ACTIVE and its clock starts. Calling it again on a
// machine that holds a seat is harmless (and renews its lease). A refusal
// (revoked, expired, wrong product, all seats taken) is an *APIError with
// status 403.
func (l *LicenseClient) Activate(ctx context.Context) (Activation, error) {
	var out struct {
		Activation
		leaseAnswer
	}
	at, err := l.callAt(ctx, "/validate/activate", keybox.ActionActivate, l.body, &out)
	a := out.Activation
	a.LeaseExpiresAt, a.Lease = out.lease(at)
	return a, err
}

// ValidationStatus is the status of a validation, in lower case as on the wire.
type ValidationStatus string

// Validation statuses: the status member of a /validate answer.
const (
	ValidationActive           ValidationStatus = "active"
	ValidationInvalid          ValidationStatus = "invalid"
	ValidationRevoked          ValidationStatus = "revoked"
	ValidationPending          ValidationStatus = "pending"
	ValidationExpired          ValidationStatus = "expired"
	ValidationMachineMismatch  ValidationStatus = "machine_mismatch"
	ValidationInstanceMismatch ValidationStatus = "instance_mismatch"
	// ValidationEntitlementsMissing: the license is valid, but lacks codes
	// the validation asked for (Validation.Missing).
	ValidationEntitlementsMissing ValidationStatus = "entitlements_missing"
)

// MessageEntitlementsMissing is the message of ValidationEntitlementsMissing.
const MessageEntitlementsMissing = "License lacks required entitlements"

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
	// Entitlements are the license's feature codes, sorted, when valid.
	Entitlements []string
	// Missing are the codes asked for that the license lacks
	// (ValidationEntitlementsMissing).
	Missing []string
	// LeaseExpiresAt, when valid and the license has a lease (floating
	// seats), is when this machine's seat lapses unless it validates or
	// sends a heartbeat first; Lease is the lease's length, so renew well
	// within it (the guard does at a third of it).
	LeaseExpiresAt keybox.Time
	Lease          time.Duration
}

// Has reports whether a valid license holds the entitlement code.
func (v Validation) Has(code string) bool {
	return v.Valid && keybox.HasEntitlement(v.Entitlements, code)
}

// UnmarshalJSON reads expiresAt as the epoch milliseconds /validate sends.
func (v *Validation) UnmarshalJSON(b []byte) error {
	var w struct {
		Valid        bool             `json:"valid"`
		Status       ValidationStatus `json:"status"`
		Message      string           `json:"message"`
		Duration     string           `json:"duration"`
		ExpiresAt    *int64           `json:"expiresAt"`
		Entitlements []string         `json:"entitlements"`
		Missing      []string         `json:"missing"`
		leaseAnswer
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*v = Validation{Valid: w.Valid, Status: w.Status, Message: w.Message, Duration: w.Duration,
		Entitlements: w.Entitlements, Missing: w.Missing}
	if w.ExpiresAt != nil {
		v.ExpiresAt = keybox.TimeFromMillis(*w.ExpiresAt)
	}
	if w.LeaseExpiresAt != nil {
		v.LeaseExpiresAt = keybox.TimeFromMillis(*w.LeaseExpiresAt)
	}
	return nil
}

// Validate asks whether the key is valid for this machine now and, with
// required codes, whether the license holds each of them: a license that
// lacks any is not valid (ValidationEntitlementsMissing, with Missing). The
// codes are checked again here against the entitlements of a valid answer,
// which is signed when public keys are set, because the request's codes
// are not: a relay that drops them cannot pass a license without them off
// as one with them.
func (l *LicenseClient) Validate(ctx context.Context, required ...string) (Validation, error) {
	body := l.body
	body.Entitlements = required
	var v Validation
	at, err := l.callAt(ctx, "/validate", keybox.ActionValidate, body, &v)
	if err != nil {
		return v, err
	}
	if v.Valid {
		if !v.LeaseExpiresAt.IsZero() {
			v.Lease = max(v.LeaseExpiresAt.Sub(at).Truncate(time.Second), 0)
		}
		if missing := lacking(v.Entitlements, required); len(missing) > 0 {
			v = Validation{Status: ValidationEntitlementsMissing, Message: MessageEntitlementsMissing, Missing: missing,
				Duration: v.Duration, ExpiresAt: v.ExpiresAt, Entitlements: v.Entitlements}
		}
	}
	return v, nil
}

// lacking returns the codes of required that held lacks, sorted, each once.
func lacking(held, required []string) []string {
	var missing []string
	for _, c := range required {
		if !slices.Contains(held, c) && !slices.Contains(missing, c) {
			missing = append(missing, c)
		}
	}
	slices.Sort(missing)
	return missing
}

// Heartbeat is the answer to a heartbeat.
type Heartbeat struct {
	// LeaseExpiresAt is when the seat now lapses (zero for a license
	// without a lease, whose seats never do); Lease is the lease's length.
	LeaseExpiresAt keybox.Time
	Lease          time.Duration
}

// Heartbeat renews this machine's lease on a license with a lease (floating
// seats) without counting a validation. A machine whose seat lapsed (or
// was freed) gets an *APIError with status 404: it must activate again.
func (l *LicenseClient) Heartbeat(ctx context.Context) (Heartbeat, error) {
	var out leaseAnswer
	at, err := l.callAt(ctx, "/validate/heartbeat", "", l.body, &out)
	if err != nil {
		return Heartbeat{}, err
	}
	var h Heartbeat
	h.LeaseExpiresAt, h.Lease = out.lease(at)
	return h, nil
}

// Deactivate releases this machine's seat (an uninstall, a move to a new
// laptop); the license itself stays as it is. A machine without a seat is an
// *APIError with status 404.
func (l *LicenseClient) Deactivate(ctx context.Context) error {
	return l.call(ctx, "/validate/deactivate", "", l.body, nil)
}
