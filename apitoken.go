package keybox

import "time"

// Scope is what an API token may do on its owner's behalf.
type Scope string

// Scopes of API tokens.
const (
	// ScopeRead reads: the calls that change nothing.
	ScopeRead Scope = "read"
	// ScopeWrite reads and changes clients, projects and licenses.
	ScopeWrite Scope = "write"
)

// Valid reports whether s is a known scope.
func (s Scope) Valid() bool { return s == ScopeRead || s == ScopeWrite }

// Permits reports whether a token of scope s may make a call that reads
// (write false) or one that changes something (write true). Neither scope
// ever permits account, user or token administration: that is for a
// person who logged in.
func (s Scope) Permits(write bool) bool {
	return s == ScopeWrite || (s == ScopeRead && !write)
}

// APITokenPrefix starts the secret of every API token: the server tells an
// API token from a login token by it, and secret scanners recognise one.
const APITokenPrefix = "kbx_"

// APIToken is a long-lived credential a developer makes for a script or an
// integration (a billing system that issues keys, a CI job). It acts as
// its owner within its scope. Its secret is shown once, when it is made;
// the store keeps only a hash of it, so a copy of the database holds no
// usable token.
type APIToken struct {
	ID      string `json:"_id"`
	OwnerID string `json:"owner"`
	Name    string `json:"name" doc:"What the token is for, as its owner named it (billing, ci)."`
	Scope   Scope  `json:"scope"`
	// Prefix is the start of the secret, enough to recognise a token in a
	// list or a log, far from enough to use it.
	Prefix string `json:"prefix" doc:"The first characters of the secret, to recognise it by (kbx_ and 8 more); the rest is never shown again."`
	// Hash is the hex SHA-256 of the whole secret.
	Hash      string `json:"-"`
	ExpiresAt Time   `json:"expiresAt" openapi:"nullable" doc:"When the token stops working; null: never."`
	// LastUsedAt is the last time the token authenticated a request, to
	// the minute: it is written at most once a minute.
	LastUsedAt Time `json:"lastUsedAt" openapi:"nullable" doc:"When the token was last used (kept to the minute: written at most once a minute); null: never."`
	CreatedAt  Time `json:"createdAt"`
	UpdatedAt  Time `json:"updatedAt"`
}

// Expired reports whether the token has expired at now.
func (t APIToken) Expired(now time.Time) bool {
	return !t.ExpiresAt.IsZero() && !now.Before(t.ExpiresAt.Time)
}
