package licensing

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/keyboxhq/keybox"
)

// Messages of projects: KeyBox's exact sentences.
var (
	errProjectInputRequired = fail(keybox.Invalid, "Client ID & Project name required")
	errInvalidDuration      = fail(keybox.Invalid, "Invalid duration")
	errServicesRequired     = fail(keybox.Invalid, "At least one service is required")
	errProjectNotFound      = fail(keybox.NotFound, "Project not found")
	errProjectHasLicenses   = fail(keybox.Conflict, "Project has licenses; delete them first or pass ?cascade=true")
	errProjectNameRequired  = fail(keybox.Invalid, "Project name required")
)

// NewProjectWithLicense is the body of POST /projects/createProject.
type NewProjectWithLicense struct {
	ClientID    Text            `json:"clientId"`
	ProjectName Text            `json:"projectName"`
	Duration    Int             `json:"duration" openapi:"min=1,max=12" doc:"Months the first license runs, from its first activation; may be left out when policy.duration is set."`
	Services    json.RawMessage `json:"services" openapi:"arrayOrOne=Service" doc:"What the license covers: a list of services, or one service as a string (\"Hosting\")."`
	// Policy, when sent, is the new project's policy (members not sent take
	// the defaults); the first license is issued under it. Its duration
	// stands in for a duration the body does not send.
	Policy *PolicyPatch `json:"policy" doc:"The new project's policy (members not sent take the defaults); the first license is issued under it."`
}

// CreateProjectWithLicense creates a project and its first license in one
// transaction: when any step fails, neither exists.
func (s *Service) CreateProjectWithLicense(ctx context.Context, owner keybox.User, in NewProjectWithLicense) (keybox.Project, keybox.License, error) {
	if in.ClientID.Blank() || in.ProjectName.Blank() || in.ProjectName.WrongType {
		return keybox.Project{}, keybox.License{}, errProjectInputRequired
	}
	duration := in.Duration
	if !duration.Present && in.Policy != nil {
		duration = in.Policy.Duration
	}
	if !duration.In(MinDuration, MaxDuration) {
		return keybox.Project{}, keybox.License{}, errInvalidDuration
	}
	services, ok := parseServices(in.Services)
	if !ok {
		return keybox.Project{}, keybox.License{}, errServicesRequired
	}
	name, err := checkProjectName(in.ProjectName)
	if err != nil {
		return keybox.Project{}, keybox.License{}, err
	}
	policy := DefaultPolicy()
	if in.Policy != nil {
		if err := in.Policy.apply(&policy, "policy."); err != nil {
			return keybox.Project{}, keybox.License{}, err
		}
	}
	now := s.now()
	p := keybox.Project{ID: s.newID(now), Name: name, ClientID: in.ClientID.Value, OwnerID: owner.ID, CreatedAt: now, UpdatedAt: now,
		Policy: policy}
	l := s.newLicense(p, duration.Value, services, 1, now)
	applyPolicy(&l, p.Policy)
	l.Duration, l.ExpiresAt = duration.Value, addMonths(now, duration.Value)
	err = s.withNewKey(ctx, &l, func(tx keybox.Tx, ev *events) error {
		if _, err := tx.Client(ctx, owner.ID, in.ClientID.Value); err != nil {
			return storeErr(err, errClientNotFound, "create project")
		}
		if err := tx.CreateProject(ctx, p); err != nil {
			return err
		}
		if err := tx.CreateLicense(ctx, l); err != nil {
			return err
		}
		if err := ev.projectCreated(owner, p); err != nil {
			return err
		}
		return ev.licenseCreated(owner, l)
	})
	if err != nil {
		return keybox.Project{}, keybox.License{}, err
	}
	s.licensesChanged(l.Key) // a key looked up before may be remembered as unknown
	return p, l, nil
}

// checkProjectName applies the length rule to a present, non-blank name.
func checkProjectName(t Text) (string, error) {
	var fe fieldErrors
	fe.checkText("name", t)
	return t.Trimmed(), fe.err()
}

// NewProject is the body of POST /projects.
type NewProject struct {
	ClientID Text `json:"clientId"`
	Name     Text `json:"name"`
}

// CreateProject creates a project without a license.
func (s *Service) CreateProject(ctx context.Context, owner keybox.User, in NewProject) (keybox.Project, error) {
	if in.ClientID.Blank() || in.Name.Blank() {
		return keybox.Project{}, errProjectInputRequired
	}
	name, err := checkProjectName(in.Name)
	if err != nil {
		return keybox.Project{}, err
	}
	now := s.now()
	p := keybox.Project{ID: s.newID(now), Name: name, ClientID: in.ClientID.Value, OwnerID: owner.ID, CreatedAt: now, UpdatedAt: now,
		Policy: DefaultPolicy()}
	err = s.update(ctx, func(tx keybox.Tx, ev *events) error {
		if _, err := tx.Client(ctx, owner.ID, p.ClientID); err != nil {
			return storeErr(err, errClientNotFound, "create project")
		}
		if err := tx.CreateProject(ctx, p); err != nil {
			return err
		}
		return ev.projectCreated(owner, p)
	})
	if err != nil {
		return keybox.Project{}, err
	}
	return p, nil
}

// ProjectList is GET /projects' query.
type ProjectList struct {
	ListInput
	ClientID string
}

// Projects lists the caller's projects, newest first.
func (s *Service) Projects(ctx context.Context, owner keybox.User, in ProjectList) ([]keybox.Project, int, ListInput, error) {
	p, err := in.page()
	if err != nil {
		return nil, 0, in.ListInput, err
	}
	list, total, err := s.store.Projects(ctx, keybox.ProjectFilter{
		OwnerID: owner.ID, ClientID: in.ClientID, Query: strings.TrimSpace(in.Query), Page: p,
	})
	if err != nil {
		return nil, 0, in.ListInput, fmt.Errorf("projects: %w", err)
	}
	return list, total, in.ListInput, nil
}

// Project returns one of the caller's projects.
func (s *Service) Project(ctx context.Context, owner keybox.User, id string) (keybox.Project, error) {
	p, err := s.store.Project(ctx, owner.ID, id)
	if err != nil {
		return keybox.Project{}, storeErr(err, errProjectNotFound, "project")
	}
	return p, nil
}

// ProjectPatch is the body of PATCH /projects/:id.
type ProjectPatch struct {
	Name Text `json:"name"`
}

// RenameProject changes a project's name.
func (s *Service) RenameProject(ctx context.Context, owner keybox.User, id string, in ProjectPatch) (keybox.Project, error) {
	if in.Name.Blank() {
		return keybox.Project{}, errProjectNameRequired
	}
	name, err := checkProjectName(in.Name)
	if err != nil {
		return keybox.Project{}, err
	}
	var p keybox.Project
	err = s.update(ctx, func(tx keybox.Tx, ev *events) error {
		var err error
		if p, err = tx.Project(ctx, owner.ID, id); err != nil {
			return storeErr(err, errProjectNotFound, "rename project")
		}
		c := changes{}
		c.set("name", p.Name, name)
		p.Name, p.UpdatedAt = name, s.now()
		if err := tx.UpdateProject(ctx, p); err != nil {
			return err
		}
		return ev.projectUpdated(owner, p, c)
	})
	if err != nil {
		return keybox.Project{}, err
	}
	return p, nil
}

// DeleteProject deletes a project; with cascade, its licenses and their
// activations too. Without it, a project with licenses stays.
func (s *Service) DeleteProject(ctx context.Context, owner keybox.User, id string, cascade bool) error {
	err := s.update(ctx, func(tx keybox.Tx, ev *events) error {
		p, err := tx.Project(ctx, owner.ID, id)
		if err != nil {
			return err
		}
		var licenses []keybox.License
		if cascade {
			if licenses, _, err = tx.Licenses(ctx, keybox.LicenseFilter{OwnerID: owner.ID, ProjectID: id}); err != nil {
				return err
			}
		}
		if err := tx.DeleteProject(ctx, owner.ID, id, cascade); err != nil {
			return err
		}
		if err := ev.licensesDeleted(owner, licenses); err != nil {
			return err
		}
		return ev.add(keybox.Event{OwnerID: owner.ID, Type: keybox.EventProjectDeleted, Actor: userActor(owner.ID),
			Subject: projectSubject(id)}, map[string]any{"name": p.Name, "client": p.ClientID, "cascade": cascade})
	})
	switch {
	case errors.Is(err, keybox.ErrNotFound):
		return errProjectNotFound
	case errors.Is(err, keybox.ErrInUse):
		return errProjectHasLicenses
	case err != nil:
		return fmt.Errorf("delete project: %w", err)
	}
	if cascade {
		s.licensesChanged()
	}
	return nil
}

func (ev *events) projectCreated(owner keybox.User, p keybox.Project) error {
	return ev.add(keybox.Event{OwnerID: owner.ID, Type: keybox.EventProjectCreated, Actor: userActor(owner.ID),
		Subject: projectSubject(p.ID)}, projectData(p))
}

func (ev *events) projectUpdated(owner keybox.User, p keybox.Project, c changes) error {
	return ev.add(keybox.Event{OwnerID: owner.ID, Type: keybox.EventProjectUpdated, Actor: userActor(owner.ID),
		Subject: projectSubject(p.ID)}, c)
}
