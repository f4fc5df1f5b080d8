package licensing

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/keyboxhq/keybox"
)

// Messages of clients: KeyBox's exact sentences.
var (
	errClientNameRequired  = fail(keybox.Invalid, "Client name required")
	errClientEmailRequired = fail(keybox.Invalid, "Client email required")
	errClientNotFound      = fail(keybox.NotFound, "Client not found")
	errClientEmailTaken    = fail(keybox.Conflict, "Client with this email already exists").With("field", "email")
	errClientHasProjects   = fail(keybox.Conflict, "Client has projects; delete them first or pass ?cascade=true")
)

// ClientInput is the body of POST /clients and PATCH /clients/:id.
type ClientInput struct {
	Name  Text `json:"name"`
	Email Text `json:"email"`
}

// fieldErrors collects the per-member failures of a "Validation error".
type fieldErrors struct {
	fields  map[string]string
	reasons []string
}

func (f *fieldErrors) add(field, reason string) {
	if f.fields == nil {
		f.fields = map[string]string{}
	}
	f.fields[field] = reason
	f.reasons = append(f.reasons, field+" "+reason)
}

// err returns the 400 "Validation error", or nil when nothing failed.
func (f *fieldErrors) err() error {
	if len(f.fields) == 0 {
		return nil
	}
	return fail(keybox.Invalid, "Validation error").
		With("errors", f.fields).
		With("details", strings.Join(f.reasons, " and ")+".")
}

// checkText adds the type and length failures of one text member.
func (f *fieldErrors) checkText(field string, t Text) {
	switch {
	case t.NotText:
		f.add(field, ReasonNotText)
	case t.WrongType:
		f.add(field, "must be a string")
	case tooLong(t.Trimmed()):
		f.add(field, fmt.Sprintf("must be at most %d characters", maxFieldLength))
	}
}

// checkClient checks the members present, in order (name, email, then their
// types, lengths and the email's form); create
// requires both.
func checkClient(in ClientInput, create bool) (name, email string, err error) {
	if (create || in.Name.Present) && in.Name.Blank() {
		return "", "", errClientNameRequired
	}
	if (create || in.Email.Present) && in.Email.Blank() {
		return "", "", errClientEmailRequired
	}
	var fe fieldErrors
	fe.checkText("name", in.Name)
	fe.checkText("email", in.Email)
	email = normalizeEmail(in.Email.Value)
	if in.Email.Present && !in.Email.WrongType && !tooLong(email) && !validEmail(email) {
		fe.add("email", "must be a valid email address")
	}
	return in.Name.Trimmed(), email, fe.err()
}

// CreateClient records a customer of the caller.
func (s *Service) CreateClient(ctx context.Context, owner keybox.User, in ClientInput) (keybox.Client, error) {
	name, email, err := checkClient(in, true)
	if err != nil {
		return keybox.Client{}, err
	}
	now := s.now()
	c := keybox.Client{ID: s.newID(now), Name: name, Email: email, OwnerID: owner.ID, CreatedAt: now, UpdatedAt: now}
	err = s.update(ctx, func(tx keybox.Tx, ev *events) error {
		if err := tx.CreateClient(ctx, c); err != nil {
			return err
		}
		return ev.add(keybox.Event{OwnerID: owner.ID, Type: keybox.EventClientCreated, Actor: userActor(owner.ID),
			Subject: clientSubject(c.ID)}, clientData(c))
	})
	if errors.Is(err, keybox.ErrDuplicate) {
		return keybox.Client{}, errClientEmailTaken
	}
	if err != nil {
		return keybox.Client{}, fmt.Errorf("create client: %w", err)
	}
	return c, nil
}

// ListInput is a page request with a search string.
type ListInput struct {
	Query string
	Page  int // from 1
	Limit int // 1 to MaxLimit
}

// Paging defaults. MaxPage keeps the offset, (page-1) × limit, within 32
// bits on every engine: a page large enough would overflow it.
const (
	DefaultLimit = 20
	MaxLimit     = 100
	MaxPage      = 10_000_000
)

// ErrInvalidPaging answers a page or limit that is not an integer in range.
var ErrInvalidPaging = fail(keybox.Invalid, fmt.Sprintf("page must be an integer from 1 to %d and limit a positive integer", MaxPage))

// page turns a ListInput into a store page, applying the defaults.
func (in *ListInput) page() (keybox.Page, error) {
	if in.Page == 0 {
		in.Page = 1
	}
	if in.Limit == 0 {
		in.Limit = DefaultLimit
	}
	if in.Page < 1 || in.Page > MaxPage || in.Limit < 1 {
		return keybox.Page{}, ErrInvalidPaging
	}
	in.Limit = min(in.Limit, MaxLimit)
	return keybox.Page{Offset: (in.Page - 1) * in.Limit, Limit: in.Limit}, nil
}

// Clients lists the caller's clients, newest first.
func (s *Service) Clients(ctx context.Context, owner keybox.User, in ListInput) ([]keybox.Client, int, ListInput, error) {
	p, err := in.page()
	if err != nil {
		return nil, 0, in, err
	}
	list, total, err := s.store.Clients(ctx, keybox.ClientFilter{OwnerID: owner.ID, Query: strings.TrimSpace(in.Query), Page: p})
	if err != nil {
		return nil, 0, in, fmt.Errorf("clients: %w", err)
	}
	return list, total, in, nil
}

// Client returns one of the caller's clients.
func (s *Service) Client(ctx context.Context, owner keybox.User, id string) (keybox.Client, error) {
	c, err := s.store.Client(ctx, owner.ID, id)
	if err != nil {
		return keybox.Client{}, storeErr(err, errClientNotFound, "client")
	}
	return c, nil
}

// UpdateClient changes a client's name and/or email, with creation's rules.
func (s *Service) UpdateClient(ctx context.Context, owner keybox.User, id string, in ClientInput) (keybox.Client, error) {
	name, email, err := checkClient(in, false)
	if err != nil {
		return keybox.Client{}, err
	}
	var c keybox.Client
	err = s.update(ctx, func(tx keybox.Tx, ev *events) error {
		var err error
		if c, err = tx.Client(ctx, owner.ID, id); err != nil {
			return storeErr(err, errClientNotFound, "update client")
		}
		before := c
		if in.Name.Present {
			c.Name = name
		}
		if in.Email.Present {
			c.Email = email
		}
		c.UpdatedAt = s.now()
		if err := tx.UpdateClient(ctx, c); err != nil {
			return err
		}
		ch := changes{}
		ch.set("name", before.Name, c.Name)
		ch.set("email", before.Email, c.Email)
		return ev.add(keybox.Event{OwnerID: owner.ID, Type: keybox.EventClientUpdated, Actor: userActor(owner.ID),
			Subject: clientSubject(c.ID)}, ch)
	})
	if errors.Is(err, keybox.ErrDuplicate) {
		return keybox.Client{}, errClientEmailTaken
	}
	if err != nil {
		return keybox.Client{}, err
	}
	return c, nil
}

// DeleteClient deletes a client; with cascade, its projects, licenses and
// activations too, in one transaction. Without it, a client with projects stays.
func (s *Service) DeleteClient(ctx context.Context, owner keybox.User, id string, cascade bool) error {
	err := s.update(ctx, func(tx keybox.Tx, ev *events) error {
		c, err := tx.Client(ctx, owner.ID, id)
		if err != nil {
			return err
		}
		var projects []keybox.Project
		var licenses []keybox.License
		if cascade {
			if projects, _, err = tx.Projects(ctx, keybox.ProjectFilter{OwnerID: owner.ID, ClientID: id}); err != nil {
				return err
			}
			if licenses, _, err = tx.Licenses(ctx, keybox.LicenseFilter{OwnerID: owner.ID, ClientID: id}); err != nil {
				return err
			}
		}
		if err := tx.DeleteClient(ctx, owner.ID, id, cascade); err != nil {
			return err
		}
		if err := ev.licensesDeleted(owner, licenses); err != nil {
			return err
		}
		for _, p := range projects {
			err := ev.add(keybox.Event{OwnerID: owner.ID, Type: keybox.EventProjectDeleted, Actor: userActor(owner.ID),
				Subject: projectSubject(p.ID)}, map[string]any{"name": p.Name, "client": p.ClientID, "cascade": true})
			if err != nil {
				return err
			}
		}
		return ev.add(keybox.Event{OwnerID: owner.ID, Type: keybox.EventClientDeleted, Actor: userActor(owner.ID),
			Subject: clientSubject(id)}, map[string]any{"name": c.Name, "email": c.Email, "cascade": cascade})
	})
	switch {
	case errors.Is(err, keybox.ErrNotFound):
		return errClientNotFound
	case errors.Is(err, keybox.ErrInUse):
		return errClientHasProjects
	case err != nil:
		return fmt.Errorf("delete client: %w", err)
	}
	if cascade {
		s.licensesChanged()
	}
	return nil
}
