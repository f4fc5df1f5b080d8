package licensing

import (
	"context"
	"encoding/json"

	"github.com/keyboxhq/keybox"
)

// A project's policy holds the defaults its new licenses copy at creation;
// each license may then override them. Changing a policy does not reach
// back into licenses already issued: a customer's terms do not change under
// them.

// PolicyPatch is the body of PATCH /projects/:id/policy, and the "policy"
// member of POST /projects/createProject; absent members stay as they are
// (or take the defaults, for a new project).
type PolicyPatch struct {
	Duration         Int             `json:"duration" openapi:"min=0,max=12" doc:"Months a new license lasts; 0: each license names its own."`
	MaxMachines      Int             `json:"maxMachines" openapi:"min=1,max=1000" doc:"A new license's seats."`
	LeaseSeconds     Int             `json:"leaseSeconds" doc:"0: seats are kept until freed; 60 to 31536000: a seat lapses when its machine is silent (no activation, validation or heartbeat) that long."`
	RequireMachineID *bool           `json:"requireMachineId" doc:"Whether a new license's activations and validations must send a machineId."`
	Entitlements     json.RawMessage `json:"entitlements" openapi:"array=EntitlementCode,maxItems=64" doc:"The entitlement codes a new license holds (a set: sorted, each once)."`
}

// Reasons of "Validation error" for a policy's members.
const (
	reasonPolicyDuration    = "must be an integer from 1 to 12, or 0 to leave it to each license"
	reasonPolicyMaxMachines = "must be an integer from 1 to 1000"
)

// DefaultPolicy is a new project's policy: one seat, no lease, no
// entitlements, machine ids optional, and each license names its duration.
func DefaultPolicy() keybox.Policy { return keybox.Policy{MaxMachines: 1} }

// apply checks the members sent and sets them on p. Every wrong member is
// named, under prefix, in one "Validation error"; p changes only when all
// are right.
func (in PolicyPatch) apply(p *keybox.Policy, prefix string) error {
	var fe fieldErrors
	next := *p
	if in.Duration.Present {
		if !in.Duration.In(0, MaxDuration) {
			fe.add(prefix+"duration", reasonPolicyDuration)
		}
		next.Duration = in.Duration.Value
	}
	if in.MaxMachines.Present {
		if !in.MaxMachines.In(1, MaxMachinesCap) {
			fe.add(prefix+"maxMachines", reasonPolicyMaxMachines)
		}
		next.MaxMachines = in.MaxMachines.Value
	}
	t := LicenseTerms{LeaseSeconds: in.LeaseSeconds, Entitlements: in.Entitlements}.check(&fe, prefix)
	if t.leaseSet {
		next.LeaseSeconds = t.lease
	}
	if t.entitlementsSet {
		next.Entitlements = t.entitlements
	}
	if in.RequireMachineID != nil {
		next.RequireMachineID = *in.RequireMachineID
	}
	if err := fe.err(); err != nil {
		return err
	}
	*p = next
	return nil
}

// applyPolicy copies a project's defaults into a new license: the one place
// they are copied. The license's own members, sent when it is created, are
// applied after it.
func applyPolicy(l *keybox.License, p keybox.Policy) {
	if p.Duration > 0 {
		l.Duration = p.Duration
	}
	l.MaxMachines = max(p.MaxMachines, 1)
	l.LeaseSeconds = p.LeaseSeconds
	l.RequireMachineID = p.RequireMachineID
	l.Entitlements = p.Entitlements
}

// Policy returns the policy of one of the caller's projects.
func (s *Service) Policy(ctx context.Context, owner keybox.User, projectID string) (keybox.Policy, error) {
	p, err := s.Project(ctx, owner, projectID)
	if err != nil {
		return keybox.Policy{}, err
	}
	return p.Policy, nil
}

// PatchPolicy changes the defaults of one of the caller's projects.
func (s *Service) PatchPolicy(ctx context.Context, owner keybox.User, projectID string, in PolicyPatch) (keybox.Policy, error) {
	// Checked against a policy of the right shape first, so that a wrong
	// member is named whether or not the project exists.
	probe := DefaultPolicy()
	if err := in.apply(&probe, ""); err != nil {
		return keybox.Policy{}, err
	}
	var p keybox.Project
	err := s.update(ctx, func(tx keybox.Tx, ev *events) error {
		var err error
		if p, err = tx.Project(ctx, owner.ID, projectID); err != nil {
			return storeErr(err, errProjectNotFound, "update policy")
		}
		before := p.Policy
		if err := in.apply(&p.Policy, ""); err != nil {
			return err
		}
		p.UpdatedAt = s.now()
		if err := tx.UpdateProject(ctx, p); err != nil {
			return err
		}
		c := changes{}
		c.set("policy", before, p.Policy)
		return ev.projectUpdated(owner, p, c)
	})
	if err != nil {
		return keybox.Policy{}, err
	}
	return p.Policy, nil
}
