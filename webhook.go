package keybox

import "time"

// Webhook is an endpoint of a developer's that receives their events.
//
// Its signing secret is kept sealed (encrypted with a key derived from the
// server's secret), so that a copy of the database cannot sign deliveries;
// Secret is only ever filled in memory.
type Webhook struct {
	ID          string   `json:"_id"`
	OwnerID     string   `json:"owner"`
	URL         string   `json:"url"`
	Events      []string `json:"events" openapi:"array=EventType" doc:"The event types it receives, or [\"*\"] for every type."`
	Description string   `json:"description"`
	Enabled     bool     `json:"enabled"`
	// FailingSince is when deliveries to it began failing without a success
	// since (zero while it succeeds).
	FailingSince Time `json:"failingSince" openapi:"nullable" doc:"Since when its deliveries fail without a success; 3 days of it disable the webhook."`
	// DisabledAt is when it was disabled, by its owner or after failing for
	// too long (zero while enabled).
	DisabledAt Time   `json:"disabledAt" openapi:"nullable" doc:"When it was turned off, by its owner or after 3 days of failures."`
	Sealed     []byte `json:"-"`
	Secret     []byte `json:"-"`
	CreatedAt  Time   `json:"createdAt"`
	UpdatedAt  Time   `json:"updatedAt"`
}

// AllEvents in a webhook's Events subscribes it to every event type.
const AllEvents = "*"

// Delivery states.
const (
	DeliveryPending   = "pending"   // due at NextAttemptAt
	DeliveryDelivered = "delivered" // an endpoint answered 2xx
	DeliveryFailed    = "failed"    // given up: retried for too long, or its webhook was disabled
)

// Delivery is one message to one webhook: an event, or a test. Its id is the
// message id the endpoint sees (the same on every retry), and Payload the
// body it is sent, kept as it was when the delivery was made.
type Delivery struct {
	ID            string            `json:"_id"`
	WebhookID     string            `json:"webhook"`
	OwnerID       string            `json:"-"`
	EventID       NullString        `json:"event" doc:"The event it carries; null for a test."`
	EventType     string            `json:"type" doc:"The event's type, or webhook.test."`
	Payload       []byte            `json:"-"`
	Status        string            `json:"status" openapi:"ref=DeliveryStatus"`
	Attempts      int               `json:"attempts"`
	NextAttemptAt Time              `json:"nextAttemptAt" openapi:"nullable" doc:"When it is tried next, while pending and not in flight."`
	CreatedAt     Time              `json:"createdAt"`
	UpdatedAt     Time              `json:"updatedAt"`
	Log           []DeliveryAttempt `json:"log" doc:"Every attempt, oldest first."`
	// Lease is set while a server is attempting it.
	Lease string `json:"-"`
}

// DeliveryAttempt is one try of a delivery.
type DeliveryAttempt struct {
	DeliveryID string     `json:"-"`
	At         Time       `json:"at"`
	Success    bool       `json:"success"`
	StatusCode int        `json:"statusCode" doc:"The answer's status; 0 when no answer came."`
	DurationMS int64      `json:"durationMs"`
	Response   string     `json:"response" doc:"The first 1024 bytes of the answer's body."`
	Error      NullString `json:"error" doc:"Why no answer came (refused, timed out), or null."`
}

// DeliveryJob is a delivery claimed for an attempt, with its webhook.
type DeliveryJob struct {
	Delivery Delivery
	Webhook  Webhook
}

// DeliveryFilter selects a webhook's deliveries, newest first.
type DeliveryFilter struct {
	OwnerID   string
	WebhookID string
	// ID, when set, selects that one delivery.
	ID string
	Page
}

// DeliveryClaim asks for due deliveries: pending, due at Now, and not leased
// by another server. Each one claimed is leased until LeaseUntil under the
// token Lease.
type DeliveryClaim struct {
	Now        time.Time
	LeaseUntil time.Time
	Lease      string
	Limit      int
}

// OutboxStats describes the pending webhook deliveries at one instant.
type OutboxStats struct {
	// Pending counts the deliveries not yet delivered nor given up: due,
	// in flight or waiting for a retry.
	Pending int
	// Due counts those due and not in flight: waiting for a worker.
	Due int
	// OldestDue is when the one due longest ago fell due (zero when none is).
	OldestDue time.Time
}
