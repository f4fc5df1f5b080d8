package signin

import "errors"

// Reasons a sign-in fails. They are short, fixed codes: the server sends one
// to the login page, which shows its own sentence for it, so nothing a
// provider or an attacker wrote ever reaches the page.
const (
	// Cancelled: the person declined at the provider (error=access_denied).
	Cancelled = "cancelled"
	// Refused: the provider answered with another error, or would not
	// redeem the code (expired, used, or not issued to this client).
	Refused = "refused"
	// Expired: the flow is older than FlowTTL, or this browser has none.
	Expired = "expired"
	// State: the redirect does not belong to the flow this browser began.
	State = "state"
	// Token: the ID token does not verify (signature, issuer, audience,
	// expiry, nonce).
	Token = "token"
	// Unavailable: the provider cannot be reached.
	Unavailable = "unavailable"
	// NotConfigured: no such provider is configured.
	NotConfigured = "not_configured"
)

// Error is a failed sign-in: a Reason for the person, the cause for the log.
type Error struct {
	Reason string
	Err    error
}

func (e *Error) Error() string { return "sign-in " + e.Reason + ": " + e.Err.Error() }

func (e *Error) Unwrap() error { return e.Err }

// ReasonOf returns the Reason of a sign-in error, or "" for another error.
func ReasonOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Reason
	}
	return ""
}
