package licensing

import (
	"context"

	"github.com/keyboxhq/keybox"
)

// A project's policy holds the defaults its new licenses copy at creation;
// each license may then override them. Changing a policy does not reach
// back into licenses already issued: a customer's terms do not change under
// them.

// PolicyPatch is the body of PATCH /projects/:id/policy; absent members stay
// as they are.
type PolicyPatch struct {
	RequireMachineID *bool `json:"requireMachineId"`
}

// applyPolicy copies a project's defaults into a new license.
func applyPolicy(l *keybox.License, p keybox.Policy) {
	l.RequireMachineID = p.RequireMachineID
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
	var p keybox.Project
	err := s.update(ctx, func(tx keybox.Tx, ev *events) error {
		var err error
		if p, err = tx.Project(ctx, owner.ID, projectID); err != nil {
			return storeErr(err, errProjectNotFound, "update policy")
		}
		before := p.Policy
		if in.RequireMachineID != nil {
			p.Policy.RequireMachineID = *in.RequireMachineID
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
