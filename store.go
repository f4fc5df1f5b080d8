package keybox

import (
	"context"
	"time"
)

// Store is the one persistence contract, implemented by every storage engine
// (internal/sqlite, internal/postgres) and checked by internal/storetest.
//
// A Store holds no business rules: it reads and writes what it is given.
// Missing rows are reported as NotFound, unique and foreign-key violations as
// Conflict; the licensing service turns them into KeyBox's messages. Owner
// scoping is part of every lookup that takes an owner, so another developer's
// object is indistinguishable from a missing one.
type Store interface {
	Queries

	// Update runs fn in one read-write transaction. If fn returns an error the
	// transaction is rolled back and that error is returned.
	Update(ctx context.Context, fn func(Tx) error) error

	// RecordValidations adds counted validations and the last time each
	// activation was seen. It is called in batches, off the hot path.
	RecordValidations(ctx context.Context, counts []ValidationCount, seen []ActivationSeen) error

	// ClaimDeliveries leases due webhook deliveries, with their webhooks, to
	// the caller: each is claimed by exactly one caller, however many
	// servers share the database, until its lease runs out.
	ClaimDeliveries(ctx context.Context, c DeliveryClaim) ([]DeliveryJob, error)
	// Outbox counts the pending webhook deliveries at now, for metrics.
	Outbox(ctx context.Context, now time.Time) (OutboxStats, error)

	// TakeRate counts one event for key in its current window, opening a
	// window of length per at now when none is open, but only while fewer
	// than limit (at least 1) events are counted in it. It reports whether it
	// counted this one, and the window as it stands. It is atomic, so servers
	// sharing the database share the limit exactly.
	TakeRate(ctx context.Context, key string, limit int, per time.Duration, now time.Time) (RateWindow, bool, error)
	// GiveBackRate uncounts one event of key's window that closes at ends;
	// it does nothing when that window has closed since.
	GiveBackRate(ctx context.Context, key string, ends time.Time) error
	// PruneRates deletes the windows closed at now and returns how many.
	PruneRates(ctx context.Context, now time.Time) (int, error)
	// TouchAPIToken sets the token's LastUsedAt to at, only when it was
	// last used before ifBefore (or never): of several servers marking the
	// same token within a minute, one writes.
	TouchAPIToken(ctx context.Context, id string, at, ifBefore time.Time) error
	// LapsedLeases returns, in key order, the keys of at most limit licenses
	// with a lease (LeaseSeconds > 0) that hold a seat whose machine was
	// last heard from (ActivatedAt or LastValidatedAt, the later) at least
	// LeaseSeconds before now. The lease sweep removes those seats.
	LapsedLeases(ctx context.Context, now time.Time, limit int) ([]string, error)

	// LicenseWithSeats returns the license with this key, whoever owns it,
	// and its seats, oldest first, in one read: all a validation needs.
	LicenseWithSeats(ctx context.Context, key string) (License, []Activation, error)
	// WatchLicenses reports, until ctx ends, which licenses any server
	// sharing the database creates, changes or deletes, their seats
	// included (but not a seat's last-validated time, which only moves
	// forward). It works in rounds: it calls round as a round begins, then
	// passes what the round found to the function round returned, which
	// means that every change committed before the round began has been
	// reported. When it cannot tell which licenses changed (at first, after
	// losing its connection, or having fallen behind) it reports all. While
	// the database cannot be reached no round ends. It returns nil when ctx
	// ends.
	WatchLicenses(ctx context.Context, round func() LicenseChanges) error

	// Ping checks that the database answers and its schema is current.
	Ping(ctx context.Context) error

	// Stats describes the connection pools and the statements run, for metrics.
	Stats() StoreStats

	// Close releases the database.
	Close() error

	// DashboardLicenses returns all of the owner's licenses, only clientID's
	// when it is set, newest first, as Licenses would list them without a
	// status filter, their SeatsInUse nil. Licenses with the same services
	// may share one Services list: callers must not modify it.
	DashboardLicenses(ctx context.Context, ownerID, clientID string) ([]License, error)
}

// Queries are the reads, usable both inside and outside a transaction.
type Queries interface {
	UserByID(ctx context.Context, id string) (User, error)
	UserByEmail(ctx context.Context, email string) (User, error)
	Users(ctx context.Context) ([]User, error)
	CountUsers(ctx context.Context) (int, error)
	// UserByIdentity returns the account linked to a provider's subject.
	UserByIdentity(ctx context.Context, provider, subject string) (User, error)
	// Identities returns the provider links of an account, oldest first.
	Identities(ctx context.Context, userID string) ([]Identity, error)

	Client(ctx context.Context, ownerID, id string) (Client, error)
	// Clients returns one page of the owner's clients, newest first, and the
	// number of clients matching the filter.
	Clients(ctx context.Context, f ClientFilter) ([]Client, int, error)

	Project(ctx context.Context, ownerID, id string) (Project, error)
	Projects(ctx context.Context, f ProjectFilter) ([]Project, int, error)

	// License returns the license with this key, whoever owns it.
	License(ctx context.Context, key string) (License, error)
	Licenses(ctx context.Context, f LicenseFilter) ([]License, int, error)
	// LicenseCounts counts the owner's licenses by their status at now (an
	// ACTIVE license past its expiry counts as EXPIRED).
	LicenseCounts(ctx context.Context, ownerID string, now time.Time) (map[Status]int, error)

	// Activations returns the seats of a license, oldest first.
	Activations(ctx context.Context, licenseID string) ([]Activation, error)
	// ActivationsOf returns the seats of an owner's licenses that f selects,
	// in one read (the seats in use of a list or a tree), oldest first.
	ActivationsOf(ctx context.Context, f ActivationFilter) ([]Activation, error)

	// Validations returns the owner's validations per day for days in [from, to].
	Validations(ctx context.Context, ownerID string, from, to Day) ([]DailyCount, error)

	// SigningKeys returns every signing key, oldest first.
	SigningKeys(ctx context.Context) ([]SigningKey, error)

	// Events returns one page of events, newest first, and how many match.
	Events(ctx context.Context, f EventFilter) ([]Event, int, error)
	// EventChains returns the state of every chain of events.
	EventChains(ctx context.Context) ([]EventChain, error)
	// ChainEvents returns up to limit events of one owner's chain with a
	// sequence number above after, in order.
	ChainEvents(ctx context.Context, ownerID string, after int64, limit int) ([]Event, error)

	// Webhook returns one of the owner's webhooks.
	Webhook(ctx context.Context, ownerID, id string) (Webhook, error)
	// Webhooks returns the owner's webhooks, oldest first.
	Webhooks(ctx context.Context, ownerID string) ([]Webhook, error)
	// Deliveries returns one page of a webhook's deliveries, newest first,
	// each with its attempts, and how many there are.
	Deliveries(ctx context.Context, f DeliveryFilter) ([]Delivery, int, error)
	// APITokenByHash returns the API token whose secret has this hash, and
	// its owner, in one indexed read; NotFound when there is none.
	APITokenByHash(ctx context.Context, hash string) (APIToken, User, error)
	// APITokens returns the owner's API tokens, newest first.
	APITokens(ctx context.Context, ownerID string) ([]APIToken, error)
}

// Tx is a read-write transaction.
type Tx interface {
	Queries

	// Lock serialises transactions that take the same named lock until this
	// one ends (an advisory lock on PostgreSQL; SQLite already runs one writer
	// at a time).
	Lock(ctx context.Context, name string) error
	// LicenseForUpdate reads a license and locks its row until the transaction ends.
	LicenseForUpdate(ctx context.Context, key string) (License, error)

	CreateUser(ctx context.Context, u User) error
	// UpdateUser writes a user's fields, all but SessionVersion.
	UpdateUser(ctx context.Context, u User) error
	// EndSessions advances the user's SessionVersion by one, atomically, so
	// that no concurrent update can bring an earlier version back.
	EndSessions(ctx context.Context, userID string) error
	// DeleteUser deletes an account and its daily validation counts.
	// Without cascade it fails with Conflict while the user owns clients;
	// with cascade it deletes their clients, projects, licenses and
	// activations too.
	DeleteUser(ctx context.Context, id string, cascade bool) error
	// CreateIdentity links an account to a provider's subject; a subject
	// already linked is a Conflict. Deleting the account deletes its links.
	CreateIdentity(ctx context.Context, i Identity) error
	// CreateSignInCode stores a one-time sign-in code.
	CreateSignInCode(ctx context.Context, c SignInCode) error
	// TakeSignInCode deletes the code with this hash and returns it, so that
	// of several servers taking it at once only one gets it; NotFound when
	// there is none (never stored, or already taken).
	TakeSignInCode(ctx context.Context, hash string) (SignInCode, error)
	// DeleteSignInCodes deletes the codes that expired before t.
	DeleteSignInCodes(ctx context.Context, expiredBefore time.Time) error

	CreateClient(ctx context.Context, c Client) error
	UpdateClient(ctx context.Context, c Client) error
	// DeleteClient deletes a client. Without cascade it fails with Conflict
	// while the client has projects; with cascade it deletes its projects,
	// their licenses and their activations too.
	DeleteClient(ctx context.Context, ownerID, id string, cascade bool) error

	CreateProject(ctx context.Context, p Project) error
	// UpdateProject writes a project's name and policy.
	UpdateProject(ctx context.Context, p Project) error
	// DeleteProject is DeleteClient's rule one level down: licenses and activations.
	DeleteProject(ctx context.Context, ownerID, id string, cascade bool) error

	CreateLicense(ctx context.Context, l License) error
	UpdateLicense(ctx context.Context, l License) error

	CreateActivation(ctx context.Context, a Activation) error
	DeleteActivation(ctx context.Context, licenseID, id string) error

	// CreateSigningKey stores a key with its Sealed private key; it refuses
	// a key without one (a private key is never stored as it is).
	CreateSigningKey(ctx context.Context, k SigningKey) error
	// RetireSigningKey marks a key as no longer signing, from at.
	RetireSigningKey(ctx context.Context, id string, at Time) error
	// RevokeSigningKey marks a key as trusted for nothing, from at.
	RevokeSigningKey(ctx context.Context, id string, at Time) error
	// SealSigningKey stores a key's sealed private key in place of the
	// plain one a database made before encryption holds.
	SealSigningKey(ctx context.Context, id string, sealed []byte) error

	// ExpireLicenses persists EXPIRED on up to limit ACTIVE licenses whose
	// expiry is before now and returns them as they now are. A license
	// another transaction expired first is not returned, so several servers
	// sharing one database may run it at once.
	ExpireLicenses(ctx context.Context, now time.Time, limit int) ([]License, error)

	// NextInChain advances the owner's chain of events by one and returns
	// where the new event goes. The chain stays locked until the
	// transaction ends, so each chain grows one event at a time.
	NextInChain(ctx context.Context, ownerID string) (ChainLink, error)
	// AppendEvent stores an event whose Seq came from NextInChain and makes
	// its Hash the head of its chain.
	AppendEvent(ctx context.Context, e Event) error
	// PruneEvents deletes the owner's events up to and including sequence
	// number through and records that event's hash as where the chain now
	// starts. It returns how many it deleted.
	PruneEvents(ctx context.Context, ownerID string, through int64) (int, error)
	// PruneDeliveries deletes the deliveries (and their attempts) that are
	// no longer pending and were created before before; it returns how many.
	PruneDeliveries(ctx context.Context, before time.Time) (int, error)
	// LastEventBefore returns the sequence number of the owner's last event
	// created before t, or 0 when there is none.
	LastEventBefore(ctx context.Context, ownerID string, t time.Time) (int64, error)

	// CreateWebhook stores a webhook and counts it in its owner's chain.
	CreateWebhook(ctx context.Context, w Webhook) error
	// UpdateWebhook writes a webhook's mutable fields.
	UpdateWebhook(ctx context.Context, w Webhook) error
	// DeleteWebhook deletes one of the owner's webhooks and its deliveries,
	// and uncounts it.
	DeleteWebhook(ctx context.Context, ownerID, id string) error

	CreateDelivery(ctx context.Context, d Delivery) error
	// FinishAttempt records an attempt of a delivery and, if the delivery
	// is still leased under d.Lease, stores its new Status, Attempts and
	// NextAttemptAt and ends the lease. It reports whether the lease held.
	FinishAttempt(ctx context.Context, d Delivery, a DeliveryAttempt) (bool, error)
	// FailDeliveries gives up the pending deliveries of a webhook.
	FailDeliveries(ctx context.Context, webhookID string, at Time) error
	// RequeueDelivery makes a delivery pending, due at at, with no lease,
	// provided its status, lease and next attempt are still those of d (as
	// read earlier); it reports whether it did. A delivery claimed or
	// finished meanwhile is left as it is.
	RequeueDelivery(ctx context.Context, d Delivery, at Time) (bool, error)
	// CreateAPIToken stores an API token (its hash, never its secret); a
	// hash already stored is a Conflict. Deleting the owner deletes it.
	CreateAPIToken(ctx context.Context, t APIToken) error
	// DeleteAPIToken deletes one of the owner's API tokens; NotFound when
	// the owner has none with this id.
	DeleteAPIToken(ctx context.Context, ownerID, id string) error
	// DeleteAPITokens deletes every API token of the owner and returns how many.
	DeleteAPITokens(ctx context.Context, ownerID string) (int, error)
}

// LicenseChanges ends one round of Store.WatchLicenses: the keys of the
// licenses changed since the round before, or all when any may have.
type LicenseChanges func(keys []string, all bool)

// Page selects a window of a list. A zero Limit means every row.
type Page struct {
	Offset int
	Limit  int
}

// ClientFilter selects an owner's clients.
type ClientFilter struct {
	OwnerID string
	ID      string // only this client, when set
	Query   string // substring of name or email, case-insensitive
	Page
}

// ProjectFilter selects an owner's projects.
type ProjectFilter struct {
	OwnerID  string
	ClientID string
	Query    string // substring of the name, case-insensitive
	Page
}

// LicenseFilter selects an owner's licenses.
type LicenseFilter struct {
	OwnerID   string
	ClientID  string
	ProjectID string
	Status    Status    // status at Now, when set
	Now       time.Time // the instant Status is judged at
	Query     string    // substring of the key, case-insensitive
	// ExpiresBefore keeps licenses whose expiry is before it, when set.
	ExpiresBefore time.Time
	// SoonestFirst orders by expiry instead of newest first.
	SoonestFirst bool
	// Sort orders by a field instead of newest first, ascending unless
	// Descending; ties are newest first.
	Sort       LicenseSort
	Descending bool
	Page
}

// LicenseSort is a field a list of licenses is ordered by.
type LicenseSort string

// The orders of a list of licenses. By expiry, the licenses never activated
// (whose expiry is not set yet) come last either way; by status, the status
// at Now, alphabetically.
const (
	SortCreated LicenseSort = "createdAt"
	SortExpires LicenseSort = "expiresAt"
	SortStatus  LicenseSort = "status"
)

// ActivationFilter selects the seats of an owner's licenses.
type ActivationFilter struct {
	OwnerID    string
	ClientID   string   // only the seats of this client's licenses, when set
	LicenseIDs []string // only the seats of these licenses, when not nil
}

// Day is a calendar day in UTC, counted from the Unix epoch.
type Day int

// DayOf returns the UTC day of t.
func DayOf(t time.Time) Day { return Day(t.Unix() / 86400) }

// Time returns the start of the day.
func (d Day) Time() time.Time { return time.Unix(int64(d)*86400, 0).UTC() }

// String formats the day as YYYY-MM-DD.
func (d Day) String() string { return d.Time().Format("2006-01-02") }

// ValidationCount is a number of validations of one license on one day.
type ValidationCount struct {
	LicenseID string
	OwnerID   string
	Day       Day
	Count     int
}

// ActivationSeen records the last time a seat was validated.
type ActivationSeen struct {
	ActivationID string
	At           time.Time
}

// DailyCount is a number of validations on one day.
type DailyCount struct {
	Day   Day
	Count int
}

// RateWindow is a rate counter's window: the events counted in it and the
// instant it closes (millisecond precision).
type RateWindow struct {
	Count int
	Ends  time.Time
}

// StoreStats describes a store's connections and work, for metrics.
type StoreStats struct {
	Engine          string
	OpenConnections int
	InUse           int
	Idle            int
	WaitCount       int64
	WaitDuration    time.Duration
	Queries         int64
}
