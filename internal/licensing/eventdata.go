package licensing

import "github.com/keyboxhq/keybox"

// What each event says about its subject. A license's events carry its key,
// which is how its owner names it everywhere else (the owner alone sees the
// events and receives the webhooks). No event carries a password, a hash or
// a secret.

// licenseEvent is the event a license change records.
type licenseEvent struct {
	typ  string
	data changes
}

func licenseSubject(l keybox.License) keybox.Subject       { return subject("license", l.ID) }
func activationSubject(a keybox.Activation) keybox.Subject { return subject("activation", a.ID) }
func clientSubject(id string) keybox.Subject               { return subject("client", id) }
func projectSubject(id string) keybox.Subject              { return subject("project", id) }
func userSubject(id string) keybox.Subject                 { return subject("user", id) }
func signingKeySubject(id string) keybox.Subject           { return subject("signing_key", id) }

func (ev *events) licenseCreated(owner keybox.User, l keybox.License) error {
	return ev.add(keybox.Event{OwnerID: l.OwnerID, Type: keybox.EventLicenseCreated, Actor: userActor(owner.ID),
		Subject: licenseSubject(l)}, map[string]any{
		"key": l.Key, "status": l.Status, "duration": l.Duration, "expiresAt": l.ExpiresAt, "services": l.Services,
		"maxMachines": l.MaxMachines, "client": l.ClientID, "project": l.ProjectID, "productName": l.ProductName,
		"requireMachineId": l.RequireMachineID, "leaseSeconds": l.LeaseSeconds, "entitlements": l.Entitlements,
	})
}

// seatData describes a seat: the license it belongs to, the machine and
// instance that hold it, and for the first activation the license's change
// of status. A struct rather than a map: seats are taken and freed often,
// and it encodes with a fraction of the work.
type seatData struct {
	License     string                 `json:"license"`
	Key         string                 `json:"key"`
	MachineID   string                 `json:"machineId"`
	InstanceID  string                 `json:"instanceId"`
	ProductName string                 `json:"productName"`
	Status      *fromTo[keybox.Status] `json:"status,omitempty"`
}

// fromTo is a change of one value.
type fromTo[T any] struct {
	From T `json:"from"`
	To   T `json:"to"`
}

func newSeatData(l keybox.License, a keybox.Activation) seatData {
	return seatData{License: l.ID, Key: l.Key, MachineID: a.MachineID, InstanceID: a.InstanceID, ProductName: a.ProductName}
}

// activationCreated records a seat taken; started is the license's change
// of status when the first activation started its clock (nil otherwise).
func (ev *events) activationCreated(l keybox.License, a keybox.Activation, by keybox.Actor, started *fromTo[keybox.Status]) error {
	data := newSeatData(l, a)
	data.Status = started
	return ev.add(keybox.Event{OwnerID: l.OwnerID, Type: keybox.EventActivationCreated, Actor: by,
		Subject: activationSubject(a)}, data)
}

func (ev *events) activationDeleted(l keybox.License, a keybox.Activation, by keybox.Actor) error {
	return ev.add(keybox.Event{OwnerID: l.OwnerID, Type: keybox.EventActivationDeleted, Actor: by,
		Subject: activationSubject(a)}, newSeatData(l, a))
}

// licensesDeleted records license.deleted for each license a cascade took.
func (ev *events) licensesDeleted(owner keybox.User, list []keybox.License) error {
	for _, l := range list {
		err := ev.add(keybox.Event{OwnerID: l.OwnerID, Type: keybox.EventLicenseDeleted, Actor: userActor(owner.ID),
			Subject: licenseSubject(l)}, map[string]any{"key": l.Key, "status": l.Status, "project": l.ProjectID, "cascade": true})
		if err != nil {
			return err
		}
	}
	return nil
}

func clientData(c keybox.Client) map[string]any {
	return map[string]any{"name": c.Name, "email": c.Email}
}

func projectData(p keybox.Project) map[string]any {
	return map[string]any{"name": p.Name, "client": p.ClientID, "policy": p.Policy}
}

func userData(u keybox.User) map[string]any {
	return map[string]any{"name": u.Name, "email": u.Email, "role": u.Role}
}
