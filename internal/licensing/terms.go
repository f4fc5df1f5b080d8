package licensing

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/keyboxhq/keybox"
)

// The terms a license carries beyond its dates and seats: the features it
// unlocks (entitlements), data the developer keeps on it for the application
// (metadata), and how long a silent machine keeps its seat (lease).

// Bounds of entitlements, metadata and leases.
const (
	// MaxEntitlements bounds the codes of one license, and of one request.
	MaxEntitlements = 64
	// maxEntitlementLength bounds one code.
	maxEntitlementLength = 64
	// MaxMetadataBytes bounds a license's metadata, as compact JSON.
	MaxMetadataBytes = 4096
	// MinLeaseSeconds is the shortest lease. Seats are judged from times
	// that each server writes in batches (every DefaultFlushInterval) and
	// reads through its cache (DefaultCacheTTL), so another server may see
	// a machine's last sign of life up to about 6 seconds late: a lease
	// must be long enough that a machine renewing on time (the Go guard
	// sends a heartbeat every third of the lease) never looks silent.
	MinLeaseSeconds = 60
	// MaxLeaseSeconds is the longest lease: a year.
	MaxLeaseSeconds = 365 * 24 * 60 * 60
)

// Reasons of "Validation error" for the terms.
var (
	reasonEntitlements = fmt.Sprintf("must be an array of at most %d codes: a lower-case letter or digit, then up to %d of a-z, 0-9, '.', '_' and '-'",
		MaxEntitlements, maxEntitlementLength-1)
	reasonMetadata     = fmt.Sprintf("must be a JSON object of at most %d bytes", MaxMetadataBytes)
	reasonLeaseSeconds = fmt.Sprintf("must be 0 (no lease) or an integer from %d to %d", MinLeaseSeconds, MaxLeaseSeconds)
)

// validEntitlement reports whether code matches ^[a-z0-9][a-z0-9._-]{0,63}$.
func validEntitlement(code string) bool {
	if code == "" || len(code) > maxEntitlementLength {
		return false
	}
	for i := 0; i < len(code); i++ {
		c := code[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case i > 0 && (c == '.' || c == '_' || c == '-'):
		default:
			return false
		}
	}
	return true
}

// parseEntitlements reads an "entitlements" member: an array of valid codes,
// kept as a set (sorted, each once; nil when empty). ok is false for
// anything else, or for more than MaxEntitlements distinct codes.
func parseEntitlements(raw json.RawMessage) (codes []string, ok bool) {
	var list []string
	if err := json.Unmarshal(raw, &list); err != nil || list == nil {
		return nil, false
	}
	for _, c := range list {
		if !validEntitlement(c) {
			return nil, false
		}
	}
	slices.Sort(list)
	list = slices.Compact(list)
	if len(list) > MaxEntitlements {
		return nil, false
	}
	if len(list) == 0 {
		return nil, true
	}
	return list, true
}

// parseMetadata reads a "metadata" member: a JSON object, kept compact (nil
// for the empty object). ok is false for anything else, or when it is
// longer than MaxMetadataBytes compacted.
func parseMetadata(raw json.RawMessage) (json.RawMessage, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' || !json.Valid(raw) {
		return nil, false
	}
	var out bytes.Buffer
	if err := json.Compact(&out, raw); err != nil || out.Len() > MaxMetadataBytes {
		return nil, false
	}
	if out.String() == "{}" {
		return nil, true
	}
	return out.Bytes(), true
}

// validLease reports whether n is a lease this server keeps: none, or
// MinLeaseSeconds to MaxLeaseSeconds.
func validLease(n Int) bool {
	return n.Valid && (n.Value == 0 || n.In(MinLeaseSeconds, MaxLeaseSeconds))
}

// LicenseTerms are the members of a license body that set its terms; each is
// applied only when present.
type LicenseTerms struct {
	LeaseSeconds Int             `json:"leaseSeconds" doc:"0: seats are kept until freed; 60 to 31536000: a seat lapses when its machine is silent (no activation, validation or heartbeat) that long."`
	Entitlements json.RawMessage `json:"entitlements" openapi:"array=EntitlementCode,maxItems=64" doc:"The features the license unlocks (a set: sorted, each once)."`
	Metadata     json.RawMessage `json:"metadata" openapi:"object" doc:"A JSON object of at most 4096 bytes (compact), kept for the application to read."`
}

// termValues are LicenseTerms once checked.
type termValues struct {
	lease           int
	leaseSet        bool
	entitlements    []string
	entitlementsSet bool
	metadata        json.RawMessage
	metadataSet     bool
}

// apply sets the terms that were sent on l.
func (v termValues) apply(l *keybox.License) {
	if v.leaseSet {
		l.LeaseSeconds = v.lease
	}
	if v.entitlementsSet {
		l.Entitlements = v.entitlements
	}
	if v.metadataSet {
		l.Metadata = v.metadata
	}
}

// check reads the terms sent, adding a validation error for each that is
// wrong, under prefix (e.g. "policy.").
func (t LicenseTerms) check(fe *fieldErrors, prefix string) termValues {
	var v termValues
	if t.LeaseSeconds.Present {
		if !validLease(t.LeaseSeconds) {
			fe.add(prefix+"leaseSeconds", reasonLeaseSeconds)
		}
		v.lease, v.leaseSet = t.LeaseSeconds.Value, true
	}
	if !absent(t.Entitlements) {
		codes, ok := parseEntitlements(t.Entitlements)
		if !ok {
			fe.add(prefix+"entitlements", reasonEntitlements)
		}
		v.entitlements, v.entitlementsSet = codes, true
	}
	if !absent(t.Metadata) {
		m, ok := parseMetadata(t.Metadata)
		if !ok {
			fe.add(prefix+"metadata", reasonMetadata)
		}
		v.metadata, v.metadataSet = m, true
	}
	return v
}
