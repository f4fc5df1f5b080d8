package licensing

import (
	"strings"
	"unicode/utf8"

	"github.com/keyboxhq/keybox"
	"github.com/keyboxhq/keybox/internal/extjson"
)

func (r *exportReader) license(at record, d extjson.Doc) error {
	if i, dup := r.licenses[at.id]; dup {
		return at.fail("_id is already used by %s", r.plan.licenses[i].at)
	}
	l := keybox.License{ID: at.id, MaxMachines: 1}
	var err error
	if l.Key, err = d.String("key"); err != nil {
		return at.fail("%v", err)
	}
	if !validImportedKey(l.Key) {
		return at.fail("key: %q is not 4 to 128 printable characters without spaces", l.Key)
	}
	if i, dup := r.keys[l.Key]; dup {
		return at.fail("key %s is already used by %s", l.Key, r.plan.licenses[i].at)
	}
	if err := r.owners(at, d, &l); err != nil {
		return err
	}
	if err := terms(at, d, &l); err != nil {
		return err
	}
	seat, err := binding(at, d, &l)
	if err != nil {
		return err
	}
	r.licenses[at.id], r.keys[l.Key] = len(r.plan.licenses), len(r.plan.licenses)
	r.plan.licenses = append(r.plan.licenses, importLicense{at: at, license: l, seat: seat})
	return nil
}

// owners reads a license's user, client and project, which must be in the
// export and agree with each other.
func (r *exportReader) owners(at record, d extjson.Doc, l *keybox.License) error {
	refs := []struct {
		member string
		dst    *string
	}{{"user", &l.OwnerID}, {"client", &l.ClientID}, {"project", &l.ProjectID}}
	for _, ref := range refs {
		id, err := d.ObjectID(ref.member)
		if err != nil {
			return at.fail("%v", err)
		}
		if id == "" {
			return at.fail("%s: missing", ref.member)
		}
		*ref.dst = id
	}
	pi, ok := r.projects[l.ProjectID]
	if !ok {
		return at.fail("project %s is not in %s", l.ProjectID, projectsFile)
	}
	p := r.plan.projects[pi].project
	if p.ClientID != l.ClientID {
		return at.fail("client %s is not the client of project %s (%s)", l.ClientID, p.ID, p.ClientID)
	}
	if p.OwnerID != l.OwnerID {
		return at.fail("user %s does not own client %s (%s does)", l.OwnerID, l.ClientID, p.OwnerID)
	}
	return nil
}

// terms reads what was sold: duration, services, status, seats and dates.
func terms(at record, d extjson.Doc, l *keybox.License) error {
	n, present, err := d.Int("duration")
	if err != nil {
		return at.fail("%v", err)
	}
	if !present || n < 1 || n > maxImportedDuration {
		return at.fail("duration: want a number of months from 1 to %d", maxImportedDuration)
	}
	l.Duration = int(n)
	names, err := d.Strings("services")
	if err != nil {
		return at.fail("%v", err)
	}
	l.Services = []keybox.Service{keybox.ServiceHosting} // the default, also KeyBox's
	if len(names) > 0 {
		l.Services = l.Services[:0]
		for _, s := range names {
			svc := keybox.Service(s)
			if svc != keybox.ServiceHosting && svc != keybox.ServiceDomain {
				return at.fail("services: %q is not Hosting or Domain", s)
			}
			if !containsService(l.Services, svc) {
				l.Services = append(l.Services, svc)
			}
		}
	}
	status, err := d.String("status")
	if err != nil {
		return at.fail("%v", err)
	}
	if l.Status = keybox.Status(status); !l.Status.Valid() {
		return at.fail("status: %q is not PENDING, ACTIVE, EXPIRED or REVOKED", status)
	}
	if seats, present, err := d.Int("maxMachines"); err != nil {
		return at.fail("%v", err)
	} else if present {
		if seats < 1 || seats > MaxMachinesCap {
			return at.fail("maxMachines: want 1 to %d", MaxMachinesCap)
		}
		l.MaxMachines = int(seats)
	}
	if l.CreatedAt, l.UpdatedAt, err = times(at, d); err != nil {
		return err
	}
	dates := []struct {
		member string
		dst    *keybox.Time
	}{{"issuedAt", &l.IssuedAt}, {"expiresAt", &l.ExpiresAt}, {"activatedAt", &l.ActivatedAt}}
	for _, dt := range dates {
		t, err := d.Date(dt.member)
		if err != nil {
			return at.fail("%v", err)
		}
		*dt.dst = keybox.NewTime(t)
	}
	if l.IssuedAt.IsZero() {
		l.IssuedAt = l.CreatedAt
	}
	if l.ExpiresAt.IsZero() {
		l.ExpiresAt = addMonths(l.IssuedAt, l.Duration)
	}
	return nil
}

func containsService(list []keybox.Service, s keybox.Service) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// binding reads the machine and instance a KeyBox license was bound to: a
// seat here. KeyBox started a license's clock when it bound it, so a bound
// or ACTIVE or EXPIRED license counts as activated at its issue time unless
// the export says when.
func binding(at record, d extjson.Doc, l *keybox.License) (*keybox.Activation, error) {
	var machine, instance, product string
	members := []struct {
		member string
		dst    *string
		max    int
	}{{"machineId", &machine, maxImportedID}, {"instanceId", &instance, maxImportedID}, {"productName", &product, maxFieldLength}}
	for _, m := range members {
		s, err := d.String(m.member)
		if err != nil {
			return nil, at.fail("%v", err)
		}
		if utf8.RuneCountInString(s) > m.max {
			return nil, at.fail("%s: longer than %d characters", m.member, m.max)
		}
		*m.dst = s
	}
	l.ProductName = keybox.NullString(strings.TrimSpace(product))
	bound := machine != "" || instance != ""
	switch l.Status {
	case keybox.StatusPending:
		if bound {
			return nil, at.fail("a PENDING license with a machineId or instanceId: KeyBox makes a license ACTIVE when it binds it; correct its status")
		}
		l.ActivatedAt = keybox.Time{} // the clock starts at the first activation
	case keybox.StatusActive, keybox.StatusExpired:
		if l.ActivatedAt.IsZero() {
			l.ActivatedAt = l.IssuedAt
		}
	case keybox.StatusRevoked:
		if l.ActivatedAt.IsZero() && bound {
			l.ActivatedAt = l.IssuedAt
		}
	}
	if !bound {
		return nil, nil
	}
	l.MachineID, l.InstanceID = keybox.NullString(machine), keybox.NullString(instance)
	return &keybox.Activation{
		LicenseID: l.ID, MachineID: machine, InstanceID: instance, ProductName: string(l.ProductName),
		ActivatedAt: l.ActivatedAt, CreatedAt: l.ActivatedAt, UpdatedAt: l.ActivatedAt,
	}, nil
}
