package licensing

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/keyboxhq/keybox"
)

// Answers of the public license API: KeyBox's exact sentences, which SDKs match on.
var (
	errKeyRequired     = fail(keybox.Invalid, "License key is required")
	errRevoked         = fail(keybox.Forbidden, "License has been revoked")
	errExpired         = fail(keybox.Forbidden, "License has expired")
	errWrongProduct    = fail(keybox.Forbidden, "License key is not valid for this product")
	errOtherMachine    = fail(keybox.Forbidden, "License already activated on another machine")
	errOtherInstance   = fail(keybox.Forbidden, "License already activated on another instance")
	errNotOnThisDevice = fail(keybox.NotFound, "License is not activated on this machine")
)

// ErrUnknownKey reports whether err is the answer for a key that does not
// exist, which the rate limiter counts as a guess.
func ErrUnknownKey(err error) bool { return errors.Is(err, errLicenseNotFound) }

// Check is what a shipped application sends: its key and, depending on the
// SDK's generation, any of machine, instance and product.
type Check struct {
	Key         string `json:"key"`
	MachineID   string `json:"machineId" doc:"The machine asking: KeyBox's SDKs send a hash of the machine's id."`
	InstanceID  string `json:"instanceId" doc:"The installation on that machine, when an application tells them apart."`
	ProductName string `json:"productName" doc:"The product asking; compared with the license's when both have one."`
	// Nonce, when sent, asks for a signed answer (see SignResponse).
	Nonce string `json:"nonce" openapi:"minLength=8,maxLength=256" doc:"Asks for a signed answer (KeyBox-Signature) bound to this request."`
	// Entitlements, on a validation, are the codes the application needs:
	// a license that lacks any of them is not valid for it.
	Entitlements json.RawMessage `json:"entitlements" openapi:"array=EntitlementCode,maxItems=64" doc:"On /validate: the codes the application needs; a license lacking any answers entitlements_missing, with them in missing."`
}

// Activation is a successful activation.
type Activation struct {
	// Already is true when this machine held a seat before (idempotent).
	Already bool
	Seat    keybox.Activation
	License keybox.License
	// LeaseExpiresAt is when the seat lapses unless renewed (zero for a
	// license without a lease).
	LeaseExpiresAt time.Time
}

// Activate binds the key to the caller's machine, taking a seat unless it
// already holds one. The license row is locked for the check and the
// insert, so concurrent activations never exceed maxMachines.
func (s *Service) Activate(ctx context.Context, c Check) (Activation, error) {
	if c.Key == "" {
		return Activation{}, errKeyRequired
	}
	if err := checkNonce(c.Nonce); err != nil {
		return Activation{}, err
	}
	var out Activation
	changed := false
	err := s.update(ctx, func(tx keybox.Tx, ev *events) error {
		out, changed = Activation{}, false
		l, err := tx.LicenseForUpdate(ctx, c.Key)
		if err != nil {
			return storeErr(err, errLicenseNotFound, "activate")
		}
		if machineMissing(l, c) {
			return errMachineRequired
		}
		now := s.now()
		switch statusAt(l, now.Time) {
		case keybox.StatusRevoked:
			return errRevoked
		case keybox.StatusExpired:
			return errExpired
		}
		if !sameProduct(string(l.ProductName), c.ProductName) {
			return errWrongProduct
		}
		all, err := tx.Activations(ctx, l.ID)
		if err != nil {
			return err
		}
		// Seats whose lease lapsed are removed first: they hold nothing,
		// and this machine's own lapsed seat is taken anew.
		acts, err := s.removeLapsed(ctx, tx, ev, l, all, now.Time)
		if err != nil {
			return err
		}
		if lease := leaseOf(&l); lease > 0 {
			out.LeaseExpiresAt = now.Add(lease)
		}
		i, closest := findSeat(acts, c, leaseCheck{})
		if i >= 0 {
			out.Already, out.Seat, out.License = true, acts[i], l
			s.counts.see(l.ID, acts[i].ID, now.Time) // renews the lease with the next batch
			if len(acts) == len(all) {
				return nil
			}
			showFirstBinding(&l, acts)
			l.UpdatedAt, out.License, changed = now, l, true
			return tx.UpdateLicense(ctx, l)
		}
		if len(acts) >= l.MaxMachines {
			if closest == otherInstance {
				return errOtherInstance
			}
			return errOtherMachine
		}
		seat := keybox.Activation{
			ID: s.newID(now), LicenseID: l.ID, MachineID: c.MachineID, InstanceID: c.InstanceID,
			ProductName: c.ProductName, ActivatedAt: now, CreatedAt: now, UpdatedAt: now,
		}
		if err := tx.CreateActivation(ctx, seat); err != nil {
			return err
		}
		var started *fromTo[keybox.Status]
		if l.Status == keybox.StatusPending {
			// The clock starts at the first activation, as KeyBox documents.
			l.Status, l.ActivatedAt, l.IssuedAt = keybox.StatusActive, now, now
			l.ExpiresAt = addMonths(now, l.Duration)
			started = &fromTo[keybox.Status]{From: keybox.StatusPending, To: l.Status}
		}
		if l.ProductName == "" {
			l.ProductName = keybox.NullString(c.ProductName)
		}
		showFirstBinding(&l, append(acts, seat))
		l.UpdatedAt = now
		out.Seat, out.License, changed = seat, l, true
		if err := tx.UpdateLicense(ctx, l); err != nil {
			return err
		}
		return ev.activationCreated(l, seat, s.applicationActor(c.Key), started)
	})
	if err != nil {
		return Activation{}, err
	}
	if changed {
		s.licensesChanged(c.Key)
	}
	return out, nil
}

// Deactivate releases this machine's seat; the license stays as it is. A
// request naming neither machine nor instance releases only a seat that
// names neither.
func (s *Service) Deactivate(ctx context.Context, c Check) error {
	if c.Key == "" {
		return errKeyRequired
	}
	err := s.update(ctx, func(tx keybox.Tx, ev *events) error {
		l, err := tx.LicenseForUpdate(ctx, c.Key)
		if err != nil {
			return storeErr(err, errLicenseNotFound, "deactivate")
		}
		if machineMissing(l, c) {
			return errMachineRequired
		}
		acts, err := tx.Activations(ctx, l.ID)
		if err != nil {
			return err
		}
		var kept []keybox.Activation
		released := 0
		lc := s.leaseCheck(&l, s.clock())
		for _, a := range acts {
			mine := matchSeat(a, c) == ownSeat
			if c.MachineID == "" && c.InstanceID == "" {
				mine = a.MachineID == "" && a.InstanceID == ""
			}
			if mine && lc.lapsed(&a) {
				mine = false // it holds nothing to release; the sweep removes it
			}
			if !mine {
				kept = append(kept, a)
				continue
			}
			if err := tx.DeleteActivation(ctx, l.ID, a.ID); err != nil {
				return err
			}
			if err := ev.activationDeleted(l, a, s.applicationActor(c.Key)); err != nil {
				return err
			}
			released++
		}
		if released == 0 {
			return errNotOnThisDevice
		}
		showFirstBinding(&l, kept)
		l.UpdatedAt = s.now()
		return tx.UpdateLicense(ctx, l)
	})
	if err != nil {
		return err
	}
	s.licensesChanged(c.Key)
	return nil
}

// Verdict is the answer to POST /validate.
type Verdict struct {
	Valid     bool
	Status    string // active, invalid, revoked, pending, expired, machine_mismatch, instance_mismatch, entitlements_missing
	Message   string
	Duration  int       // months, when valid
	ExpiresAt time.Time // when valid or expired
	// Entitlements are the license's codes, when valid (sorted).
	Entitlements []string
	// LeaseExpiresAt is when the seat lapses unless renewed, when valid and
	// the license has a lease.
	LeaseExpiresAt time.Time
	// Missing are the codes asked for that the license lacks
	// (entitlements_missing).
	Missing []string
}

// UnknownKey reports a verdict on a key that does not exist, which the rate
// limiter counts as a guess.
func (v Verdict) UnknownKey() bool { return v.Status == VerdictInvalid && v.Message == msgKeyUnknown }

const msgKeyUnknown = "Key does not exist"

// Validation statuses.
const (
	VerdictActive              = "active"
	VerdictInvalid             = "invalid"
	VerdictRevoked             = "revoked"
	VerdictPending             = "pending"
	VerdictExpired             = "expired"
	VerdictMachineMismatch     = "machine_mismatch"
	VerdictInstanceMismatch    = "instance_mismatch"
	VerdictEntitlementsMissing = "entitlements_missing"
)

// AppendJSON appends the verdict as KeyBox's SDKs read it (expiresAt in epoch
// milliseconds, which KeyBox SDKs depend on). It is the hot path's encoder:
// entitlement codes are of a few safe characters, so they are copied as
// they are.
func (v Verdict) AppendJSON(b []byte) []byte {
	if v.Valid {
		b = append(b, `{"valid":true,"status":"active","duration":"`...)
		b = strconv.AppendInt(b, int64(v.Duration), 10)
		b = append(b, ` months","expiresAt":`...)
		b = strconv.AppendInt(b, v.ExpiresAt.UnixMilli(), 10)
		b = append(b, `,"entitlements":`...)
		b = appendCodes(b, v.Entitlements)
		if !v.LeaseExpiresAt.IsZero() {
			b = append(b, `,"leaseExpiresAt":`...)
			b = strconv.AppendInt(b, v.LeaseExpiresAt.UnixMilli(), 10)
		}
		return append(b, '}')
	}
	b = append(b, `{"valid":false,"status":"`...)
	b = append(b, v.Status...)
	b = append(b, `","message":`...)
	b = keybox.AppendString(b, v.Message)
	switch v.Status {
	case VerdictExpired:
		b = append(b, `,"expiresAt":`...)
		b = strconv.AppendInt(b, v.ExpiresAt.UnixMilli(), 10)
	case VerdictEntitlementsMissing:
		b = append(b, `,"missing":`...)
		b = appendCodes(b, v.Missing)
	}
	return append(b, '}')
}

// appendCodes appends valid entitlement codes as a JSON array: they need no
// escaping.
func appendCodes(b []byte, codes []string) []byte {
	b = append(b, '[')
	for i, c := range codes {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '"')
		b = append(b, c...)
		b = append(b, '"')
	}
	return append(b, ']')
}

// errEntitlementsAsked refuses a validation whose "entitlements" is not a
// list of codes.
var errEntitlementsAsked = fail(keybox.Invalid, "Validation error").
	With("errors", map[string]string{"entitlements": reasonEntitlements}).
	With("details", "entitlements "+reasonEntitlements+".")

// Validate judges a key for the machine that sends it. It is the hot path:
// it reads through the service's cache and counts the validation in memory.
func (s *Service) Validate(ctx context.Context, c Check) (Verdict, error) {
	if c.Key == "" {
		return Verdict{}, errKeyRequired
	}
	if err := checkNonce(c.Nonce); err != nil {
		return Verdict{}, err
	}
	var asked []string
	if !absent(c.Entitlements) {
		var ok bool
		if asked, ok = parseEntitlements(c.Entitlements); !ok {
			return Verdict{}, errEntitlementsAsked
		}
	}
	e, err := s.cache.get(ctx, c.Key, s.load)
	if err != nil {
		return Verdict{}, fmt.Errorf("validate: %w", err)
	}
	if !e.found {
		return Verdict{Status: VerdictInvalid, Message: msgKeyUnknown}, nil
	}
	l := e.license()
	if machineMissing(l, c) {
		return Verdict{}, errMachineRequired
	}
	now := s.clock()
	var buf [4]keybox.Activation
	v, seat := judge(&l, e.activations(buf[:0]), c, now, s.leaseCheck(&l, now))
	if v.Valid && len(asked) > 0 {
		if missing := lacking(l.Entitlements, asked); len(missing) > 0 {
			v = Verdict{Status: VerdictEntitlementsMissing, Message: "License lacks required entitlements", Missing: missing}
		}
	}
	s.counts.add(l.ID, l.OwnerID, seat, now)
	return v, nil
}

// lacking returns the codes of asked (sorted) that held (sorted) lacks.
func lacking(held, asked []string) []string {
	var missing []string
	for _, a := range asked {
		if !keybox.HasEntitlement(held, a) {
			missing = append(missing, a)
		}
	}
	return missing
}

// judge checks a license and its seats in order: product, status, then
// whether the sender holds a seat, a lapsed seat (by lc) holding none. It
// returns the seat that answered for a valid check, whose lease the
// validation renews.
func judge(l *keybox.License, seats []keybox.Activation, c Check, now time.Time, lc leaseCheck) (Verdict, string) {
	if !sameProduct(string(l.ProductName), c.ProductName) {
		return Verdict{Status: VerdictInvalid, Message: "License key is not valid for this product"}, ""
	}
	switch statusAt(*l, now) {
	case keybox.StatusRevoked:
		return Verdict{Status: VerdictRevoked, Message: "License revoked by developer"}, ""
	case keybox.StatusPending:
		return Verdict{Status: VerdictPending, Message: "License has not been activated yet"}, ""
	case keybox.StatusExpired:
		return Verdict{Status: VerdictExpired, Message: "License has expired", ExpiresAt: l.ExpiresAt.Time}, ""
	}
	i, closest := findSeat(seats, c, lc)
	switch {
	case i < 0 && closest == otherInstance:
		return Verdict{Status: VerdictInstanceMismatch, Message: "License is not valid for this instance"}, ""
	case i < 0:
		return Verdict{Status: VerdictMachineMismatch, Message: "License is not valid for this machine"}, ""
	}
	v := Verdict{Valid: true, Status: VerdictActive, Duration: l.Duration, ExpiresAt: l.ExpiresAt.Time, Entitlements: l.Entitlements}
	if lease := leaseOf(l); lease > 0 {
		v.LeaseExpiresAt = now.Add(lease)
	}
	return v, seats[i].ID
}
