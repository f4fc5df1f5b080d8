package licensing

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/keyboxhq/keybox"
)

// Messages of licenses: KeyBox's exact sentences.
var (
	errClientProjectRequired = fail(keybox.Invalid, "Client & Project required")
	errLicenseNotFound       = fail(keybox.NotFound, "License not found")
	errKeyTaken              = fail(keybox.Conflict, "License key already exists").With("field", "key")
	errInvalidKey            = fail(keybox.Invalid, "Invalid license key: use 4 to 128 printable characters without spaces")
	errInvalidMaxMachines    = fail(keybox.Invalid, "Invalid maxMachines: use an integer from 1 to 1000")
	errSeatsInUse            = fail(keybox.Conflict, "maxMachines is below the seats in use; free a seat first").With("field", "maxMachines")
	errExpiredToggle         = fail(keybox.Conflict, "Expired license cannot be toggled; renew it instead")
	errActivationNotFound    = fail(keybox.NotFound, "Activation not found")
	errInvalidStatus         = fail(keybox.Invalid, "Invalid status: use PENDING, ACTIVE, EXPIRED or REVOKED")
	errInvalidProductName    = fail(keybox.Invalid, "Invalid productName: use a string of at most 200 characters")
)

// newLicense returns a PENDING license for project p. Its clock has not
// started: issuedAt and expiresAt are provisional until the first activation.
func (s *Service) newLicense(p keybox.Project, duration int, services []keybox.Service, seats int, now keybox.Time) keybox.License {
	return keybox.License{
		ID: s.newID(now), Duration: duration, IssuedAt: now, ExpiresAt: addMonths(now, duration),
		Status: keybox.StatusPending, Services: services, OwnerID: p.OwnerID, ClientID: p.ClientID, ProjectID: p.ID,
		MaxMachines: seats, CreatedAt: now, UpdatedAt: now,
	}
}

// withNewKey runs create in a transaction after giving l a fresh key (unless
// it already has an imported one). A generated key that collides, which 100
// random bits make all but impossible, is drawn again.
func (s *Service) withNewKey(ctx context.Context, l *keybox.License, create func(keybox.Tx, *events) error) error {
	imported := l.Key != ""
	for attempt := 0; ; attempt++ {
		if !imported {
			key, err := newKey(s.random)
			if err != nil {
				return err
			}
			l.Key = key
		}
		err := s.update(ctx, create)
		if errors.Is(err, keybox.ErrDuplicate) {
			if imported {
				return errKeyTaken
			}
			if attempt < 3 {
				continue
			}
		}
		if err != nil {
			return fmt.Errorf("create license: %w", err)
		}
		return nil
	}
}

// IsKeyTaken reports an imported key refused because a license has it:
// the answer that tells whether a key exists, which the rate limiter counts.
func IsKeyTaken(err error) bool { return errors.Is(err, errKeyTaken) }

// NewLicense is the body of POST /license/create. Members that are absent
// take the project's policy.
type NewLicense struct {
	Duration    Int             `json:"duration" openapi:"min=1,max=12" doc:"Months the license runs, from its first activation; the project's policy's when absent (Invalid duration when it has none)."`
	ClientID    Text            `json:"clientId"`
	ProjectID   Text            `json:"projectId"`
	Services    json.RawMessage `json:"services" openapi:"arrayOrOne=Service" doc:"What the license covers: a list of services, or one service as a string; [\"Hosting\"] when absent."`
	MaxMachines Int             `json:"maxMachines" openapi:"min=1,max=1000" doc:"Seats: the machines that may hold the key at once; the project's policy's when absent."`
	Key         Text            `json:"key" openapi:"minLength=4,maxLength=128" doc:"A key to import; generated when absent."`
	ProductName Text            `json:"productName" openapi:"maxLength=200" doc:"The product the key is for; otherwise the first activation that names one binds it."`
	// RequireMachineID overrides the project's policy when present.
	RequireMachineID *bool `json:"requireMachineId" doc:"Whether every activation and validation must send a machineId; the project's policy when absent."`
	LicenseTerms
}

func absent(raw json.RawMessage) bool { return len(raw) == 0 || string(raw) == "null" }

// CreateLicense issues a PENDING license for one of the caller's projects.
// It copies the project's policy, then applies the members sent.
func (s *Service) CreateLicense(ctx context.Context, owner keybox.User, in NewLicense) (keybox.License, error) {
	// Without a duration of its own, a license takes its project's; with
	// no project named there is none to take.
	if in.Duration.Present || in.ClientID.Blank() || in.ProjectID.Blank() {
		if !in.Duration.In(MinDuration, MaxDuration) {
			return keybox.License{}, errInvalidDuration
		}
	}
	if in.ClientID.Blank() || in.ProjectID.Blank() {
		return keybox.License{}, errClientProjectRequired
	}
	services := []keybox.Service{keybox.ServiceHosting}
	if !absent(in.Services) {
		var ok bool
		if services, ok = parseServices(in.Services); !ok {
			return keybox.License{}, errServicesRequired
		}
	}
	if in.MaxMachines.Present && !in.MaxMachines.In(1, MaxMachinesCap) {
		return keybox.License{}, errInvalidMaxMachines
	}
	if in.Key.Present && (in.Key.WrongType || !validImportedKey(in.Key.Value)) {
		return keybox.License{}, errInvalidKey
	}
	product, err := checkProductName(in.ProductName)
	if err != nil {
		return keybox.License{}, err
	}
	var fe fieldErrors
	own := in.LicenseTerms.check(&fe, "")
	if err := fe.err(); err != nil {
		return keybox.License{}, err
	}
	now := s.now()
	p := keybox.Project{ID: in.ProjectID.Value, ClientID: in.ClientID.Value, OwnerID: owner.ID}
	l := s.newLicense(p, in.Duration.Value, services, 1, now)
	l.Key, l.ProductName = in.Key.Value, keybox.NullString(product)
	err = s.withNewKey(ctx, &l, func(tx keybox.Tx, ev *events) error {
		if _, err := tx.Client(ctx, owner.ID, p.ClientID); err != nil {
			return storeErr(err, errClientNotFound, "create license")
		}
		project, err := tx.Project(ctx, owner.ID, p.ID)
		if err != nil {
			return storeErr(err, errProjectNotFound, "create license")
		}
		if project.ClientID != p.ClientID {
			return errProjectNotFound
		}
		applyPolicy(&l, project.Policy)
		if in.Duration.Present {
			l.Duration = in.Duration.Value
		}
		if l.Duration < MinDuration {
			return errInvalidDuration // neither the license nor its project's policy says how long
		}
		l.ExpiresAt = addMonths(l.IssuedAt, l.Duration)
		if in.MaxMachines.Present {
			l.MaxMachines = in.MaxMachines.Value
		}
		if in.RequireMachineID != nil {
			l.RequireMachineID = *in.RequireMachineID
		}
		own.apply(&l)
		if err := tx.CreateLicense(ctx, l); err != nil {
			return err
		}
		return ev.licenseCreated(owner, l)
	})
	if err != nil {
		return keybox.License{}, err
	}
	s.licensesChanged(l.Key) // a key deleted and imported again must not be served from memory
	return l, nil
}

func checkProductName(t Text) (string, error) {
	if t.WrongType || tooLong(t.Trimmed()) {
		return "", errInvalidProductName
	}
	return t.Trimmed(), nil
}

// LicenseList is GET /license's query.
type LicenseList struct {
	ListInput
	ClientID  string
	ProjectID string
	Status    string
	Sort      string // createdAt, expiresAt or status; newest first when empty
	Order     string // asc or desc; by default desc for createdAt, else asc
}

// Refusals of a list's order.
var (
	errInvalidSort  = fail(keybox.Invalid, "Invalid sort: use createdAt, expiresAt or status").With("field", "sort")
	errInvalidOrder = fail(keybox.Invalid, "Invalid order: use asc or desc").With("field", "order")
)

// licenseOrder reads a list's sort and order.
func licenseOrder(in LicenseList) (keybox.LicenseSort, bool, error) {
	sort := keybox.LicenseSort(strings.TrimSpace(in.Sort))
	switch sort {
	case "", keybox.SortCreated, keybox.SortExpires, keybox.SortStatus:
	default:
		return "", false, errInvalidSort
	}
	switch strings.ToLower(strings.TrimSpace(in.Order)) {
	case "":
		return sort, sort == keybox.SortCreated, nil
	case "asc", "desc":
		if sort == "" {
			sort = keybox.SortCreated
		}
		return sort, strings.EqualFold(strings.TrimSpace(in.Order), "desc"), nil
	}
	return "", false, errInvalidOrder
}

// Licenses lists the caller's licenses, newest first or in the order asked,
// with their status and the seats each holds at now.
func (s *Service) Licenses(ctx context.Context, owner keybox.User, in LicenseList) ([]keybox.License, int, ListInput, error) {
	p, err := in.page()
	if err != nil {
		return nil, 0, in.ListInput, err
	}
	status := keybox.Status(strings.ToUpper(strings.TrimSpace(in.Status)))
	if status != "" && !status.Valid() {
		return nil, 0, in.ListInput, errInvalidStatus
	}
	sort, desc, err := licenseOrder(in)
	if err != nil {
		return nil, 0, in.ListInput, err
	}
	now := s.clock()
	list, total, err := s.store.Licenses(ctx, keybox.LicenseFilter{
		OwnerID: owner.ID, ClientID: in.ClientID, ProjectID: in.ProjectID, Status: status, Now: now,
		Query: strings.TrimSpace(in.Query), Sort: sort, Descending: desc, Page: p,
	})
	if err != nil {
		return nil, 0, in.ListInput, fmt.Errorf("licenses: %w", err)
	}
	ids := make([]string, len(list))
	for i := range list {
		ids[i] = list[i].ID
	}
	if err := s.countSeats(ctx, keybox.ActivationFilter{OwnerID: owner.ID, LicenseIDs: ids}, list, now); err != nil {
		return nil, 0, in.ListInput, err
	}
	return presentAll(list, now), total, in.ListInput, nil
}

// ownLicense returns a license by key if the caller owns it; a foreign key
// looks missing.
func ownLicense(ctx context.Context, q keybox.Queries, owner keybox.User, key string) (keybox.License, error) {
	l, err := q.License(ctx, key)
	if err != nil {
		return keybox.License{}, storeErr(err, errLicenseNotFound, "license")
	}
	if l.OwnerID != owner.ID {
		return keybox.License{}, errLicenseNotFound
	}
	return l, nil
}

// ownLicenseForUpdate is ownLicense with the row locked for the transaction.
func ownLicenseForUpdate(ctx context.Context, tx keybox.Tx, owner keybox.User, key string) (keybox.License, error) {
	l, err := tx.LicenseForUpdate(ctx, key)
	if err != nil {
		return keybox.License{}, storeErr(err, errLicenseNotFound, "license")
	}
	if l.OwnerID != owner.ID {
		return keybox.License{}, errLicenseNotFound
	}
	return l, nil
}

// LicenseView is a license as its owner sees it: with its seats, each with
// its lease's expiry, and how many of them hold a seat now (a seat whose
// lease lapsed is listed until the sweep removes it, but holds nothing).
type LicenseView struct {
	License     keybox.License
	Activations []keybox.Activation
	SeatsInUse  int
}

// License returns one of the caller's licenses and its activations.
func (s *Service) License(ctx context.Context, owner keybox.User, key string) (LicenseView, error) {
	l, err := ownLicense(ctx, s.store, owner, key)
	if err != nil {
		return LicenseView{}, err
	}
	acts, err := s.store.Activations(ctx, l.ID)
	if err != nil {
		return LicenseView{}, fmt.Errorf("license activations: %w", err)
	}
	now := s.clock()
	s.showLeases(&l, acts)
	return LicenseView{License: present(l, now), Activations: acts, SeatsInUse: s.seatsInUse(&l, acts, now)}, nil
}

// updateLicense runs change on the caller's license, locked, and stores the
// result with the event change returns (none when its type is "").
func (s *Service) updateLicense(ctx context.Context, owner keybox.User, key string,
	change func(tx keybox.Tx, ev *events, l *keybox.License) (licenseEvent, error)) (keybox.License, error) {
	var l keybox.License
	err := s.update(ctx, func(tx keybox.Tx, ev *events) error {
		var err error
		if l, err = ownLicenseForUpdate(ctx, tx, owner, key); err != nil {
			return err
		}
		e, err := change(tx, ev, &l)
		if err != nil {
			return err
		}
		l.UpdatedAt = s.now()
		if err := tx.UpdateLicense(ctx, l); err != nil {
			return err
		}
		if e.typ == "" {
			return nil
		}
		return ev.add(keybox.Event{OwnerID: l.OwnerID, Type: e.typ, Actor: userActor(owner.ID), Subject: licenseSubject(l)},
			e.data.with("key", l.Key))
	})
	if err != nil {
		return keybox.License{}, err
	}
	s.licensesChanged(key)
	return present(l, s.clock()), nil
}

// ToggleRevoke revokes or restores: ACTIVE or PENDING → REVOKED; REVOKED →
// ACTIVE if it was ever activated, else PENDING; an EXPIRED license must be
// renewed instead.
func (s *Service) ToggleRevoke(ctx context.Context, owner keybox.User, key string) (keybox.License, error) {
	return s.updateLicense(ctx, owner, key, func(_ keybox.Tx, _ *events, l *keybox.License) (licenseEvent, error) {
		from := l.Status
		e := licenseEvent{typ: keybox.EventLicenseRevoked, data: changes{}}
		switch statusAt(*l, s.clock()) {
		case keybox.StatusExpired:
			return e, errExpiredToggle
		case keybox.StatusRevoked:
			e.typ = keybox.EventLicenseRestored
			l.Status = keybox.StatusPending
			if clockStarted(*l) {
				l.Status = keybox.StatusActive
			}
		default:
			l.Status = keybox.StatusRevoked
		}
		e.data.set("status", from, l.Status)
		return e, nil
	})
}

// Renewal is the body of POST (or PATCH) /license/renew/:key.
type Renewal struct {
	// Duration is the months to add; when absent, the license's own
	// duration, at most MaxDuration.
	Duration Int `json:"duration" openapi:"min=1,max=12" doc:"Months to add; the license's own duration when absent."`
}

// Renew adds months to a license. Once its clock has started, expiry moves
// to max(now, expiresAt) + n months and an EXPIRED license is ACTIVE again;
// before, the months are added to its duration. Either way duration counts
// every month sold, so a renewal without a duration repeats the original
// term only until the first renewal: after it, it adds the total so far
// (still at most MaxDuration).
func (s *Service) Renew(ctx context.Context, owner keybox.User, key string, in Renewal) (keybox.License, error) {
	if in.Duration.Present && !in.Duration.In(MinDuration, MaxDuration) {
		return keybox.License{}, errInvalidDuration
	}
	return s.updateLicense(ctx, owner, key, func(_ keybox.Tx, _ *events, l *keybox.License) (licenseEvent, error) {
		before := *l
		e := licenseEvent{typ: keybox.EventLicenseRenewed, data: changes{}}
		n := in.Duration.Value
		if !in.Duration.Present {
			n = min(l.Duration, MaxDuration)
		}
		if n < MinDuration {
			return e, errInvalidDuration // nothing to repeat (an imported license): send a duration
		}
		l.Duration += n
		if !clockStarted(*l) {
			l.ExpiresAt = addMonths(l.IssuedAt, l.Duration)
		} else {
			from := l.ExpiresAt
			if now := s.now(); now.After(from.Time) {
				from = now
			}
			l.ExpiresAt = addMonths(from, n)
			if l.Status == keybox.StatusExpired || l.Status == keybox.StatusActive {
				l.Status = keybox.StatusActive
			}
		}
		e.data.set("duration", before.Duration, l.Duration)
		e.data.set("expiresAt", before.ExpiresAt, l.ExpiresAt)
		e.data.set("status", before.Status, l.Status)
		return e, nil
	})
}

// LicensePatch is the body of PATCH /license/:key; absent members stay as
// they are. Each overrides, for this license, what its project's policy
// gave it.
type LicensePatch struct {
	Duration    Int             `json:"duration" openapi:"min=1,max=12" doc:"Only before the first activation (409 after: renew instead)."`
	MaxMachines Int             `json:"maxMachines" openapi:"min=1,max=1000" doc:"Seats; never below the seats in use."`
	Services    json.RawMessage `json:"services" openapi:"arrayOrOne=Service" doc:"What the license covers: a list of services, or one service as a string."`
	ProductName Text            `json:"productName" openapi:"maxLength=200"`
	// RequireMachineID, when present, replaces the license's own setting
	// (whatever its project's policy says).
	RequireMachineID *bool `json:"requireMachineId" doc:"Whether every activation and validation must send a machineId; replaces the license's setting."`
	LicenseTerms
}

// errDurationStarted refuses to set the duration of a license whose clock
// has started: its expiry moves by renewal.
var errDurationStarted = fail(keybox.Conflict, "License has been activated; renew it to change its duration").With("field", "duration")

// PatchLicense changes a license's duration (before its first activation),
// seats, services, product, machine id requirement, lease, entitlements or
// metadata. Seats cannot go below those in use.
func (s *Service) PatchLicense(ctx context.Context, owner keybox.User, key string, in LicensePatch) (keybox.License, error) {
	if in.Duration.Present && !in.Duration.In(MinDuration, MaxDuration) {
		return keybox.License{}, errInvalidDuration
	}
	if in.MaxMachines.Present && !in.MaxMachines.In(1, MaxMachinesCap) {
		return keybox.License{}, errInvalidMaxMachines
	}
	var services []keybox.Service
	if !absent(in.Services) {
		var ok bool
		if services, ok = parseServices(in.Services); !ok {
			return keybox.License{}, errServicesRequired
		}
	}
	product, err := checkProductName(in.ProductName)
	if err != nil {
		return keybox.License{}, err
	}
	var fe fieldErrors
	own := in.LicenseTerms.check(&fe, "")
	if err := fe.err(); err != nil {
		return keybox.License{}, err
	}
	return s.updateLicense(ctx, owner, key, func(tx keybox.Tx, _ *events, l *keybox.License) (licenseEvent, error) {
		before := *l
		e := licenseEvent{typ: keybox.EventLicenseUpdated, data: changes{}}
		if in.Duration.Present && in.Duration.Value != l.Duration {
			if clockStarted(*l) {
				return e, errDurationStarted
			}
			l.Duration, l.ExpiresAt = in.Duration.Value, addMonths(l.IssuedAt, in.Duration.Value)
		}
		own.apply(l)
		if in.MaxMachines.Present {
			acts, err := tx.Activations(ctx, l.ID)
			if err != nil {
				return e, err
			}
			if in.MaxMachines.Value < s.seatsInUse(l, acts, s.clock()) {
				return e, errSeatsInUse
			}
			l.MaxMachines = in.MaxMachines.Value
		}
		if services != nil {
			l.Services = services
		}
		if in.ProductName.Present {
			l.ProductName = keybox.NullString(product)
		}
		if in.RequireMachineID != nil {
			l.RequireMachineID = *in.RequireMachineID
		}
		e.data.set("duration", before.Duration, l.Duration)
		e.data.set("expiresAt", before.ExpiresAt, l.ExpiresAt)
		e.data.set("maxMachines", before.MaxMachines, l.MaxMachines)
		e.data.set("leaseSeconds", before.LeaseSeconds, l.LeaseSeconds)
		e.data.set("entitlements", before.Entitlements, l.Entitlements)
		e.data.set("metadata", before.Metadata, l.Metadata)
		e.data.set("services", before.Services, l.Services)
		e.data.set("productName", before.ProductName, l.ProductName)
		e.data.set("requireMachineId", before.RequireMachineID, l.RequireMachineID)
		return e, nil
	})
}

// RemoveActivation frees a seat (a customer's lost laptop). The license's
// machineId/instanceId keep showing its oldest remaining binding.
func (s *Service) RemoveActivation(ctx context.Context, owner keybox.User, key, activationID string) error {
	_, err := s.updateLicense(ctx, owner, key, func(tx keybox.Tx, ev *events, l *keybox.License) (licenseEvent, error) {
		acts, err := tx.Activations(ctx, l.ID)
		if err != nil {
			return licenseEvent{}, err
		}
		i := slices.IndexFunc(acts, func(a keybox.Activation) bool { return a.ID == activationID })
		if i < 0 {
			return licenseEvent{}, errActivationNotFound
		}
		if err := tx.DeleteActivation(ctx, l.ID, activationID); err != nil {
			return licenseEvent{}, storeErr(err, errActivationNotFound, "remove activation")
		}
		seat := acts[i]
		showFirstBinding(l, slices.Delete(acts, i, i+1))
		return licenseEvent{}, ev.activationDeleted(*l, seat, userActor(owner.ID))
	})
	return err
}

// showFirstBinding sets the license's machineId/instanceId, kept for KeyBox
// compatibility, to its oldest seat (or null when it has none).
func showFirstBinding(l *keybox.License, acts []keybox.Activation) {
	l.MachineID, l.InstanceID = "", ""
	if len(acts) > 0 {
		l.MachineID, l.InstanceID = keybox.NullString(acts[0].MachineID), keybox.NullString(acts[0].InstanceID)
	}
}

// UserLicenses is KeyBox's user view: an account and how many licenses it owns.
func (s *Service) UserLicenses(ctx context.Context, caller keybox.User, id string) (keybox.User, int, error) {
	u, err := s.User(ctx, caller, id)
	if err != nil {
		return keybox.User{}, 0, err
	}
	_, n, err := s.store.Licenses(ctx, keybox.LicenseFilter{OwnerID: u.ID, Page: keybox.Page{Limit: 1}})
	if err != nil {
		return keybox.User{}, 0, fmt.Errorf("count licenses: %w", err)
	}
	return u, n, nil
}
