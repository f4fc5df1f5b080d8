// Package keybox holds the domain of KeyBox, a self-hosted software licensing
// server: the nouns every other package speaks (users, clients, projects,
// licenses, activations), the error type that carries KeyBox's message strings,
// and the Store contract that every storage engine implements.
//
// A developer (User) records the customers they sell to (Client), the products
// each bought (Project) and the keys issued for them (License). A shipped
// application binds its key to a machine (Activation) and validates it
// periodically through the public license API.
package keybox

import (
	"crypto/ed25519"
	"encoding/json"
	"slices"
)

// Role is a user's role. The first user of an installation is an ADMIN.
type Role string

// Roles.
const (
	RoleAdmin     Role = "ADMIN"
	RoleDeveloper Role = "DEVELOPER"
)

// Valid reports whether r is a known role.
func (r Role) Valid() bool { return r == RoleAdmin || r == RoleDeveloper }

// User is a developer account: the owner of clients, projects and licenses.
type User struct {
	ID           string `json:"_id"`
	Name         string `json:"name"`
	Email        string `json:"email"`
	Role         Role   `json:"role"`
	PasswordHash string `json:"-"`
	// SessionVersion advances each time the user's login tokens are all
	// ended (a password or role change, logging out everywhere); a token
	// issued at an earlier version is refused.
	SessionVersion int64 `json:"-"`
	CreatedAt      Time  `json:"createdAt"`
	UpdatedAt      Time  `json:"updatedAt"`
}

// Identity links an account to the subject a sign-in provider knows it by
// (Google's user id, an OpenID Connect "sub"): a user who signs in through
// the provider is found by (Provider, Subject), never by email.
type Identity struct {
	Provider  string
	Subject   string
	UserID    string
	Email     string // the address the provider gave when the link was made
	CreatedAt Time
}

// SignInCode is a one-time code that hands a sign-in through a provider over
// to the dashboard, which exchanges it for a login token. Only the code's
// hash is stored, so a copy of the database holds no usable code.
type SignInCode struct {
	Hash      string // hex SHA-256 of the code
	UserID    string
	ExpiresAt Time
	CreatedAt Time
}

// Client is a developer's customer. Its email is unique per owner.
type Client struct {
	ID        string `json:"_id"`
	Name      string `json:"name"`
	Email     string `json:"email"`
	OwnerID   string `json:"owner"`
	CreatedAt Time   `json:"createdAt"`
	UpdatedAt Time   `json:"updatedAt"`
}

// Project is a product sold to one client.
type Project struct {
	ID        string `json:"_id"`
	Name      string `json:"name"`
	ClientID  string `json:"client"`
	OwnerID   string `json:"-"`
	CreatedAt Time   `json:"createdAt"`
	UpdatedAt Time   `json:"updatedAt"`
	// Policy is shown by its own endpoint, not in the project object.
	Policy Policy `json:"-"`
}

// Policy holds a project's defaults for the licenses created in it. A new
// license copies them and may override each; changing a policy later leaves
// existing licenses as they are.
type Policy struct {
	// Duration is the months a new license lasts; 0 leaves it to each
	// license (POST /license/create must then send one).
	Duration int `json:"duration" openapi:"min=0,max=12" doc:"Months a new license lasts; 0: each license names its own."`
	// MaxMachines is a new license's seats (1 unless set).
	MaxMachines int `json:"maxMachines" openapi:"min=1,max=1000"`
	// LeaseSeconds, when above 0, makes a seat lapse when its machine has
	// been silent that long (floating licenses); 0 keeps seats until freed.
	LeaseSeconds int `json:"leaseSeconds" doc:"0: seats are kept until freed; 60 to 31536000: a seat lapses when its machine is silent (no activation, validation or heartbeat) that long."`
	// RequireMachineID refuses public API requests that send no machine id.
	RequireMachineID bool `json:"requireMachineId" doc:"Refuse license API requests that send no machineId (400 Machine ID is required)."`
	// Entitlements are the feature codes a new license holds, sorted.
	Entitlements []string `json:"entitlements" openapi:"array=EntitlementCode,maxItems=64" doc:"The entitlement codes a new license holds (a set: sorted, each once)."`
}

// Status is a license's lifecycle state.
type Status string

// License states.
const (
	StatusPending Status = "PENDING"
	StatusActive  Status = "ACTIVE"
	StatusExpired Status = "EXPIRED"
	StatusRevoked Status = "REVOKED"
)

// Valid reports whether s is a known status.
func (s Status) Valid() bool {
	switch s {
	case StatusPending, StatusActive, StatusExpired, StatusRevoked:
		return true
	}
	return false
}

// Service is something a license covers.
type Service string

// Services a license may cover.
const (
	ServiceHosting Service = "Hosting"
	ServiceDomain  Service = "Domain"
)

// License is a key issued for a project. Its owner is the developer (the
// "user" field on the wire, kept for KeyBox compatibility).
type License struct {
	ID          string     `json:"_id"`
	Key         string     `json:"key"`
	Duration    int        `json:"duration"`
	IssuedAt    Time       `json:"issuedAt"`
	ExpiresAt   Time       `json:"expiresAt"`
	Status      Status     `json:"status"`
	Services    []Service  `json:"services"`
	OwnerID     string     `json:"user"`
	ClientID    string     `json:"client"`
	ProjectID   string     `json:"project"`
	MaxMachines int        `json:"maxMachines"`
	MachineID   NullString `json:"machineId"`
	InstanceID  NullString `json:"instanceId"`
	ProductName NullString `json:"productName"`
	ActivatedAt Time       `json:"activatedAt" openapi:"nullable"`
	CreatedAt   Time       `json:"createdAt"`
	UpdatedAt   Time       `json:"updatedAt"`
	// RequireMachineID refuses activations, validations, deactivations and
	// checkouts that send no machine id.
	RequireMachineID bool `json:"requireMachineId" doc:"Activations, validations, deactivations and checkouts must send a machineId (400 Machine ID is required)."`
	// LeaseSeconds, when above 0, makes a seat lapse when its machine has not
	// validated, activated or sent a heartbeat for that long.
	LeaseSeconds int `json:"leaseSeconds" doc:"0: seats are kept until freed; 60 to 31536000: a seat lapses when its machine is silent (no activation, validation or heartbeat) that long."`
	// Entitlements are the feature codes the license unlocks, sorted, each
	// once ("pro", "export").
	Entitlements []string `json:"entitlements" openapi:"array=EntitlementCode,maxItems=64" doc:"The features the license unlocks (a set: sorted, each once)."`
	// Metadata is a JSON object the developer keeps on the license for the
	// application to read (compact; "{}" when none).
	Metadata json.RawMessage `json:"metadata" openapi:"object" doc:"A JSON object of at most 4096 bytes (compact), kept for the application to read."`
	// SeatsInUse is the number of seats held now (seats whose lease has not
	// lapsed), where a list or a tree shows it; nil elsewhere.
	SeatsInUse *int `json:"seatsInUse,omitempty" doc:"In lists and in the dashboard's tree: the seats held now (activations whose lease has not lapsed)."`
}

// Has reports whether the license holds the entitlement code.
func (l License) Has(code string) bool { return HasEntitlement(l.Entitlements, code) }

// HasEntitlement reports whether the sorted list of codes holds code.
func HasEntitlement(sorted []string, code string) bool {
	_, found := slices.BinarySearch(sorted, code)
	return found
}

// Activation is a seat: a machine (and optionally an instance) a license is bound to.
type Activation struct {
	ID          string `json:"_id"`
	LicenseID   string `json:"license"`
	MachineID   string `json:"machineId"`
	InstanceID  string `json:"instanceId"`
	ProductName string `json:"productName"`
	ActivatedAt Time   `json:"activatedAt"`
	// LastValidatedAt is the last time the machine validated or sent a
	// heartbeat (written in batches, a few seconds late).
	LastValidatedAt Time `json:"lastValidatedAt" openapi:"nullable" doc:"The last validation or heartbeat (written in batches, a few seconds late)."`
	CreatedAt       Time `json:"createdAt"`
	UpdatedAt       Time `json:"updatedAt"`
	// LeaseExpiresAt is when the seat lapses unless its machine is heard
	// from, for a license with a lease; it is worked out when the seat is
	// shown, never stored.
	LeaseExpiresAt Time `json:"leaseExpiresAt" openapi:"nullable" doc:"When the seat lapses unless its machine is heard from; null without a lease. A lapsed seat holds nothing and is removed by the sweep."`
}

// NullString is a string that is encoded as JSON null when empty.
type NullString string

// MarshalJSON encodes an empty string as null.
func (s NullString) MarshalJSON() ([]byte, error) { return s.AppendJSON(nil), nil }

// UnmarshalJSON decodes null as the empty string.
func (s *NullString) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*s = ""
		return nil
	}
	var v string
	if err := unmarshalString(b, &v); err != nil {
		return err
	}
	*s = NullString(v)
	return nil
}

// SigningKey is an Ed25519 key pair of the installation. The newest key that
// is neither retired nor revoked signs license files and responses; retired
// keys are still published, so that what they signed before their retirement
// verifies until it expires; revoked keys verify nothing.
//
// The private key never reaches the database as it is: the store keeps
// Sealed, the private key encrypted with a key derived from the server's
// secret, and PrivateKey is only ever filled in memory. A key read from a
// database made before encryption has PrivateKey and no Sealed, until the
// server seals it at start.
type SigningKey struct {
	ID         string
	PublicKey  ed25519.PublicKey
	PrivateKey ed25519.PrivateKey
	Sealed     []byte
	CreatedAt  Time
	RetiredAt  Time
	RevokedAt  Time
}
