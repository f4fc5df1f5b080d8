package licensing

import (
	"context"
	"errors"
	"fmt"
	"io/fs"

	"github.com/keyboxhq/keybox"
)

// ImportOptions change what ImportKeyBox does.
type ImportOptions struct {
	// DryRun reads, checks and loads everything, then rolls it all back.
	DryRun bool
}

// ImportSummary is what an import did.
type ImportSummary struct {
	DryRun     bool        `json:"dryRun"`
	Users      ImportCount `json:"users"`
	Identities ImportCount `json:"identities"` // googleId links
	Clients    ImportCount `json:"clients"`
	Projects   ImportCount `json:"projects"`
	Licenses   ImportCount `json:"licenses"`
	Seats      ImportCount `json:"seats"` // machineId/instanceId bindings
	// Placeholders are the clients that had no email and were given one.
	Placeholders []Placeholder `json:"placeholders"`
	// Notes are things the operator should know, one sentence each.
	Notes []string `json:"notes"`
}

// ImportCount counts the records of one kind: stored by this run, or found
// already stored (by an earlier run) and left as they were.
type ImportCount struct {
	Imported int `json:"imported"`
	Present  int `json:"alreadyPresent"`
}

// Placeholder is a client given a made-up address because its KeyBox record
// had none.
type Placeholder struct {
	ClientID string `json:"clientId"`
	Name     string `json:"name"`
	Email    string `json:"email"`
}

var errDryRun = errors.New("dry run")

// ImportKeyBox loads a KeyBox installation from its MongoDB export: the
// directory holding users.json, clients.json, projects.json and
// licenses.json as mongoexport writes them. Every record keeps its _id, so
// a record already stored (by an earlier run) is left as it is and running
// the import again changes nothing. It is all or nothing: every record is
// checked before the first is stored, everything is stored in one
// transaction, and any problem (an *ImportError naming the file and record)
// leaves the database as it was.
func (s *Service) ImportKeyBox(ctx context.Context, dir fs.FS, opts ImportOptions) (ImportSummary, error) {
	plan, err := readExport(dir)
	if err != nil {
		return ImportSummary{}, err
	}
	var sum ImportSummary
	err = s.store.Update(ctx, func(tx keybox.Tx) error {
		sum = ImportSummary{DryRun: opts.DryRun, Placeholders: []Placeholder{}, Notes: []string{}}
		// Serialises with signups, which count users to choose the first ADMIN.
		if err := tx.Lock(ctx, "users"); err != nil {
			return err
		}
		if err := s.storeExport(ctx, tx, plan, &sum); err != nil {
			return err
		}
		if opts.DryRun {
			return errDryRun
		}
		return nil
	})
	if err != nil && !(opts.DryRun && errors.Is(err, errDryRun)) {
		return ImportSummary{}, err
	}
	s.licensesChanged() // keys looked up before the import may be remembered as unknown
	return sum, nil
}

// importFailed turns a store error on one record into the import's error:
// a conflict names the record, anything else is the database's failure.
func importFailed(at record, err error, conflict string, args ...any) error {
	if errors.Is(err, keybox.ErrDuplicate) || errors.Is(err, keybox.ErrInUse) {
		return at.fail(conflict, args...)
	}
	return fmt.Errorf("import %s: %w", at, err)
}

func (s *Service) storeExport(ctx context.Context, tx keybox.Tx, plan *importPlan, sum *ImportSummary) error {
	if err := storeUsers(ctx, tx, plan.users, sum); err != nil {
		return err
	}
	for _, c := range plan.clients {
		got, err := tx.Client(ctx, c.client.OwnerID, c.client.ID)
		switch {
		case err == nil:
			sum.Clients.Present++
		case errors.Is(err, keybox.ErrNotFound):
			if err := tx.CreateClient(ctx, c.client); err != nil {
				return importFailed(c.at, err, "the database already holds a client with this _id under another owner, or one with email %s under this owner", c.client.Email)
			}
			got = c.client
			sum.Clients.Imported++
		default:
			return fmt.Errorf("import %s: %w", c.at, err)
		}
		// Reported on every run, until someone gives the client its real address.
		if c.placeholder && got.Email == c.client.Email {
			sum.Placeholders = append(sum.Placeholders, Placeholder{ClientID: got.ID, Name: got.Name, Email: got.Email})
		}
	}
	for _, p := range plan.projects {
		got, err := tx.Project(ctx, p.project.OwnerID, p.project.ID)
		switch {
		case err == nil && got.ClientID == p.project.ClientID:
			sum.Projects.Present++
			continue
		case err == nil:
			return p.at.fail("the database already holds this project under client %s", got.ClientID)
		case !errors.Is(err, keybox.ErrNotFound):
			return fmt.Errorf("import %s: %w", p.at, err)
		}
		if err := tx.CreateProject(ctx, p.project); err != nil {
			return importFailed(p.at, err, "the database already holds a project with this _id under another owner")
		}
		sum.Projects.Imported++
	}
	for _, l := range plan.licenses {
		if err := s.storeLicense(ctx, tx, l, sum); err != nil {
			return err
		}
	}
	return nil
}

func storeUsers(ctx context.Context, tx keybox.Tx, users []importUser, sum *ImportSummary) error {
	passwordless := 0
	for _, u := range users {
		existed, err := storeUser(ctx, tx, u)
		if err != nil {
			return err
		}
		if existed {
			sum.Users.Present++
		} else {
			sum.Users.Imported++
			if u.user.PasswordHash == "" {
				passwordless++
			}
		}
		if u.googleID == "" {
			continue
		}
		linked, err := tx.UserByIdentity(ctx, ProviderGoogle, u.googleID)
		switch {
		case err == nil && linked.ID == u.user.ID:
			sum.Identities.Present++
		case err == nil:
			return u.at.fail("googleId %s already signs in to another account (%s)", u.googleID, linked.Email)
		case !errors.Is(err, keybox.ErrNotFound):
			return fmt.Errorf("import %s: %w", u.at, err)
		case existed:
			// Linking an account that was there before the import would let
			// whoever wrote the export sign in to it.
			sum.Notes = append(sum.Notes, fmt.Sprintf("%s was already an account before the import: its googleId was not linked to it", u.user.Email))
		default:
			err := tx.CreateIdentity(ctx, keybox.Identity{Provider: ProviderGoogle, Subject: u.googleID, UserID: u.user.ID, Email: u.user.Email, CreatedAt: u.user.CreatedAt})
			if err != nil {
				return importFailed(u.at, err, "googleId %s already signs in to another account", u.googleID)
			}
			sum.Identities.Imported++
		}
	}
	if passwordless > 0 {
		sum.Notes = append(sum.Notes, fmt.Sprintf("%d imported account(s) have no password (they signed in with Google); password login refuses them", passwordless))
	}
	all, err := tx.Users(ctx)
	if err != nil {
		return fmt.Errorf("import: %w", err)
	}
	for _, u := range all {
		if u.Role == keybox.RoleAdmin {
			return nil
		}
	}
	sum.Notes = append(sum.Notes, "no account is an ADMIN: make one with keybox user create --admin")
	return nil
}

// storeUser stores an account unless an earlier run did. An account with
// the same _id but another email, or the same email but another _id, is a
// different person: the import stops rather than merge them.
func storeUser(ctx context.Context, tx keybox.Tx, u importUser) (existed bool, err error) {
	got, err := tx.UserByID(ctx, u.user.ID)
	switch {
	case err == nil && got.Email == u.user.Email:
		return true, nil
	case err == nil:
		return false, u.at.fail("the database already holds this _id as the account %s", got.Email)
	case !errors.Is(err, keybox.ErrNotFound):
		return false, fmt.Errorf("import %s: %w", u.at, err)
	}
	if got, err := tx.UserByEmail(ctx, u.user.Email); err == nil {
		return false, u.at.fail("email %s already belongs to another account (_id %s)", u.user.Email, got.ID)
	} else if !errors.Is(err, keybox.ErrNotFound) {
		return false, fmt.Errorf("import %s: %w", u.at, err)
	}
	if err := tx.CreateUser(ctx, u.user); err != nil {
		return false, importFailed(u.at, err, "email %s already belongs to another account", u.user.Email)
	}
	return false, nil
}

func (s *Service) storeLicense(ctx context.Context, tx keybox.Tx, l importLicense, sum *ImportSummary) error {
	got, err := tx.License(ctx, l.license.Key)
	switch {
	case err == nil && got.ID == l.license.ID && got.OwnerID == l.license.OwnerID:
		sum.Licenses.Present++
		if l.seat != nil {
			sum.Seats.Present++
		}
		return nil
	case err == nil:
		return l.at.fail("key %s already belongs to another license (_id %s)", l.license.Key, got.ID)
	case !errors.Is(err, keybox.ErrNotFound):
		return fmt.Errorf("import %s: %w", l.at, err)
	}
	if err := tx.CreateLicense(ctx, l.license); err != nil {
		return importFailed(l.at, err, "the database already holds a license with this _id")
	}
	sum.Licenses.Imported++
	if l.seat == nil {
		return nil
	}
	seat := *l.seat
	seat.ID = s.newID(seat.ActivatedAt)
	if err := tx.CreateActivation(ctx, seat); err != nil {
		return fmt.Errorf("import %s: seat: %w", l.at, err)
	}
	sum.Seats.Imported++
	return nil
}
