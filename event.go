package keybox

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"time"
)

// Event types: every change of state is recorded as one of these, in the
// same transaction as the change. Validations are counted, not recorded.
const (
	EventClientCreated  = "client.created"
	EventClientUpdated  = "client.updated"
	EventClientDeleted  = "client.deleted"
	EventProjectCreated = "project.created"
	EventProjectUpdated = "project.updated"
	EventProjectDeleted = "project.deleted"

	EventLicenseCreated  = "license.created"
	EventLicenseUpdated  = "license.updated"
	EventLicenseRevoked  = "license.revoked"
	EventLicenseRestored = "license.restored"
	EventLicenseRenewed  = "license.renewed"
	EventLicenseExpired  = "license.expired"
	EventLicenseDeleted  = "license.deleted"

	EventActivationCreated = "activation.created"
	EventActivationDeleted = "activation.deleted"
	EventActivationExpired = "activation.expired"

	EventTokenCreated = "token.created"
	EventTokenRevoked = "token.revoked"

	EventUserCreated         = "user.created"
	EventUserUpdated         = "user.updated"
	EventUserPasswordChanged = "user.password_changed"
	EventUserDeleted         = "user.deleted"

	EventSigningKeyRotated = "signing_key.rotated"
	EventSigningKeyRevoked = "signing_key.revoked"

	EventWebhookCreated = "webhook.created"
	EventWebhookUpdated = "webhook.updated"
	EventWebhookDeleted = "webhook.deleted"
)

// EventTypes lists every event type, for filters and their validation.
var EventTypes = []string{
	EventClientCreated, EventClientUpdated, EventClientDeleted,
	EventProjectCreated, EventProjectUpdated, EventProjectDeleted,
	EventLicenseCreated, EventLicenseUpdated, EventLicenseRevoked, EventLicenseRestored,
	EventLicenseRenewed, EventLicenseExpired, EventLicenseDeleted,
	EventActivationCreated, EventActivationDeleted, EventActivationExpired,
	EventTokenCreated, EventTokenRevoked,
	EventUserCreated, EventUserUpdated, EventUserPasswordChanged, EventUserDeleted,
	EventSigningKeyRotated, EventSigningKeyRevoked,
	EventWebhookCreated, EventWebhookUpdated, EventWebhookDeleted,
}

// Actor types: who made a change.
const (
	ActorUser        = "user"        // a developer logged in; ID is the user's id
	ActorToken       = "token"       // an API token; ID is the token's id
	ActorApplication = "application" // a shipped application; ID is its license key's fingerprint
	ActorSystem      = "system"      // the server itself (the expiry sweep, the webhook worker, the CLI on the database)
)

// Actor is who made a change.
type Actor struct {
	Type string `json:"type" openapi:"ref=ActorType"`
	ID   string `json:"id,omitempty" doc:"The user's or API token's id, or the license key's fingerprint for an application; absent for the system (\"cli\" for commands run on the database)."`
}

// Subject is what an event is about: a type ("license", "client", …) and its id.
type Subject struct {
	Type string `json:"type" doc:"client, project, license, activation, token, user, signing_key or webhook."`
	ID   string `json:"id"`
}

// Event records one change of state. Events belong to the developer whose
// objects changed (OwnerID), or to the installation (OwnerID "") for what
// no developer owns, such as the signing keys.
//
// The events of one owner form a chain: each has the next sequence number
// and a hash covering the previous event's hash and its own fields, so that
// editing, inserting or deleting a stored event breaks the chain where it
// was done (see ChainHash).
type Event struct {
	ID        string          `json:"_id"`
	OwnerID   string          `json:"-"`
	Type      string          `json:"type" openapi:"ref=EventType"`
	Actor     Actor           `json:"actor" doc:"Who made the change."`
	Subject   Subject         `json:"subject" doc:"What the change was made to."`
	Data      json.RawMessage `json:"data" openapi:"object" doc:"What changed: each changed member as {\"from\", \"to\"}, and what names the subject (a license's key). Never a password, a hash or a secret."`
	IP        NullString      `json:"ip" doc:"The client address of the request that made the change; null for background work."`
	RequestID NullString      `json:"requestId" doc:"The request's id (its X-Request-Id); null for background work."`
	CreatedAt Time            `json:"createdAt"`

	Seq      int64  `json:"-"` // position in the owner's chain, from 1
	PrevHash string `json:"-"` // hex; "" for the first event of a chain
	Hash     string `json:"-"` // hex SHA-256, see ChainHash
}

// eventHashLabel starts every hashed encoding, so that a hash of this
// format cannot be mistaken for one of any other.
const eventHashLabel = "keybox event v1"

// ChainHash returns the hash that links e into its chain after the event
// whose hash is prev (hex, "" for none): SHA-256, in hex, over an encoding
// in which each field is its length (4 bytes, big-endian) followed by its
// bytes, in this order: the label "keybox event v1", prev, the sequence
// number and the creation time (each as 8 big-endian bytes in a 8-byte
// field), the id, the owner, the type, the actor's type and id, the
// subject's type and id, the data exactly as stored, the IP and the request
// id. No two different events encode alike, whatever their fields contain.
func (e Event) ChainHash(prev string) string {
	h := sha256.New()
	var n [4]byte
	field := func(b []byte) {
		binary.BigEndian.PutUint32(n[:], uint32(len(b)))
		h.Write(n[:])
		h.Write(b)
	}
	var num [8]byte
	field([]byte(eventHashLabel))
	field([]byte(prev))
	binary.BigEndian.PutUint64(num[:], uint64(e.Seq))
	field(num[:])
	binary.BigEndian.PutUint64(num[:], uint64(e.CreatedAt.Millis()))
	field(num[:])
	for _, s := range []string{e.ID, e.OwnerID, e.Type, e.Actor.Type, e.Actor.ID, e.Subject.Type, e.Subject.ID} {
		field([]byte(s))
	}
	field(e.Data)
	field([]byte(e.IP))
	field([]byte(e.RequestID))
	return hex.EncodeToString(h.Sum(nil))
}

// ChainLink is where an owner's next event goes: its sequence number, the
// hash it follows ("" for a chain's first), and how many webhooks the owner
// has (none: no delivery to look for).
type ChainLink struct {
	Seq      int64
	PrevHash string
	Webhooks int
}

// EventChain is the state of one owner's chain: its last event (Seq, Hash)
// and the last event removed by retention (PrunedSeq, PrunedHash), from
// which the events still stored continue.
type EventChain struct {
	OwnerID    string
	Seq        int64
	Hash       string
	PrunedSeq  int64
	PrunedHash string
}

// EventFilter selects events of one owner, newest first.
type EventFilter struct {
	OwnerID string
	// Installation adds the installation's events (those of no owner).
	Installation bool
	// Types keeps events of these types, when set.
	Types []string
	// SubjectID keeps events about this object, when set.
	SubjectID string
	// Since keeps events created at or after it, when set.
	Since time.Time
	Page
}
