package licensing

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"time"

	"github.com/keyboxhq/keybox"
	"github.com/keyboxhq/keybox/internal/auth"
	"github.com/keyboxhq/keybox/internal/extjson"
)

// The files of a KeyBox export, one per MongoDB collection, in the order
// they are loaded (each refers only to those before it).
const (
	usersFile    = "users.json"
	clientsFile  = "clients.json"
	projectsFile = "projects.json"
	licensesFile = "licenses.json"
)

// Bounds of imported values that KeyBox did not bound itself.
const (
	// maxImportedDuration: KeyBox sold 1 to 12 months at a time; renewals
	// may have added more, so up to a hundred years is taken as it is.
	maxImportedDuration = 1200
	maxImportedID       = 1024 // bytes of a machine or instance id
	maxSubject          = 255  // bytes of a provider's subject (OpenID Connect's limit)
)

// ProviderGoogle names Google as a sign-in provider in user identities.
const ProviderGoogle = "google"

// ImportError is where and why an import stopped: the file, the record in
// it (from 1) and the record's _id when it was read.
type ImportError struct {
	File   string
	Record int
	ID     string
	Reason string
}

func (e *ImportError) Error() string {
	where := e.File
	if e.Record > 0 {
		where += fmt.Sprintf(", record %d", e.Record)
	}
	if e.ID != "" {
		where += " (_id " + e.ID + ")"
	}
	return where + ": " + e.Reason
}

// record is where a value came from, for errors and the summary.
type record struct {
	file string
	n    int
	id   string
}

func (r record) fail(format string, args ...any) *ImportError {
	return &ImportError{File: r.file, Record: r.n, ID: r.id, Reason: fmt.Sprintf(format, args...)}
}

func (r record) String() string { return fmt.Sprintf("%s, record %d (_id %s)", r.file, r.n, r.id) }

type importUser struct {
	at       record
	user     keybox.User
	googleID string
}

type importClient struct {
	at          record
	client      keybox.Client
	placeholder bool
}

type importProject struct {
	at      record
	project keybox.Project
}

type importLicense struct {
	at      record
	license keybox.License
	seat    *keybox.Activation // without its id, made when it is stored
}

// importPlan is an export read and checked, ready to be stored.
type importPlan struct {
	users    []importUser
	clients  []importClient
	projects []importProject
	licenses []importLicense
}

// readExport reads the four files of a KeyBox export and checks every
// record, and every reference between records, before anything is stored.
func readExport(dir fs.FS) (*importPlan, error) {
	r := &exportReader{
		plan:     &importPlan{},
		users:    map[string]int{},
		emails:   map[string]int{},
		clients:  map[string]int{},
		contacts: map[[2]string]int{},
		projects: map[string]int{},
		licenses: map[string]int{},
		keys:     map[string]int{},
	}
	steps := []struct {
		file string
		read func(record, extjson.Doc) error
	}{
		{usersFile, r.user}, {clientsFile, r.client}, {projectsFile, r.project}, {licensesFile, r.license},
	}
	for _, st := range steps {
		if err := readFile(dir, st.file, st.read); err != nil {
			return nil, err
		}
	}
	return r.plan, nil
}

// readFile calls read with each record of one file, and names the file and
// the record in any error.
func readFile(dir fs.FS, file string, read func(record, extjson.Doc) error) error {
	f, err := dir.Open(file)
	if errors.Is(err, fs.ErrNotExist) {
		return &ImportError{File: file, Reason: "missing: a KeyBox export holds users.json, clients.json, projects.json and licenses.json (mongoexport --jsonArray)"}
	}
	if err != nil {
		return &ImportError{File: file, Reason: err.Error()}
	}
	defer f.Close()
	err = extjson.Read(f, func(n int, d extjson.Doc) error {
		at := record{file: file, n: n}
		id, err := d.ObjectID("_id")
		if err != nil {
			return at.fail("%v", err)
		}
		if id == "" {
			return at.fail("no _id")
		}
		at.id = id
		return read(at, d)
	})
	var ie *ImportError
	var re *extjson.RecordError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ie):
		return ie
	case errors.As(err, &re):
		return &ImportError{File: file, Record: re.Record, Reason: re.Err.Error()}
	}
	return &ImportError{File: file, Reason: err.Error()}
}

// exportReader maps KeyBox's documents to KeyBox's nouns here, remembering
// where each id and unique value was seen (index in the plan's lists).
type exportReader struct {
	plan     *importPlan
	users    map[string]int    // _id → index
	emails   map[string]int    // user email → index
	clients  map[string]int    // _id → index
	contacts map[[2]string]int // (owner, client email) → index
	projects map[string]int    // _id → index
	licenses map[string]int    // _id → index
	keys     map[string]int    // license key → index
}

// idTime is when an ObjectId was made: its first four bytes are Unix seconds.
func idTime(id string) keybox.Time {
	b, _ := hex.DecodeString(id[:8])
	secs := int64(b[0])<<24 | int64(b[1])<<16 | int64(b[2])<<8 | int64(b[3])
	return keybox.NewTime(time.Unix(secs, 0))
}

// times reads createdAt and updatedAt; an absent createdAt is the time the
// _id was made, an absent updatedAt is createdAt.
func times(at record, d extjson.Doc) (created, updated keybox.Time, err error) {
	c, err := d.Date("createdAt")
	if err != nil {
		return created, updated, at.fail("%v", err)
	}
	u, err := d.Date("updatedAt")
	if err != nil {
		return created, updated, at.fail("%v", err)
	}
	created, updated = keybox.NewTime(c), keybox.NewTime(u)
	if created.IsZero() {
		created = idTime(at.id)
	}
	if updated.IsZero() {
		updated = created
	}
	return created, updated, nil
}

// name reads a required free-text member.
func name(at record, d extjson.Doc, member string) (string, error) {
	s, err := d.String(member)
	if err != nil {
		return "", at.fail("%v", err)
	}
	s = strings.TrimSpace(s)
	if s == "" {
		return "", at.fail("%s: missing", member)
	}
	if tooLong(s) {
		return "", at.fail("%s: longer than %d characters", member, maxFieldLength)
	}
	return s, nil
}

func (r *exportReader) user(at record, d extjson.Doc) error {
	if i, dup := r.users[at.id]; dup {
		return at.fail("_id is already used by %s", r.plan.users[i].at)
	}
	nm, err := name(at, d, "name")
	if err != nil {
		return err
	}
	raw, err := d.String("email")
	if err != nil {
		return at.fail("%v", err)
	}
	email := normalizeEmail(raw)
	if !validEmail(email) {
		return at.fail("email: %q is not a valid address", raw)
	}
	if i, dup := r.emails[email]; dup {
		return at.fail("email %s is already used by %s", email, r.plan.users[i].at)
	}
	role := keybox.RoleDeveloper // KeyBox's default
	if s, err := d.String("role"); err != nil {
		return at.fail("%v", err)
	} else if s != "" {
		if role = keybox.Role(s); !role.Valid() {
			return at.fail("role: %q is not ADMIN or DEVELOPER", s)
		}
	}
	hash, err := d.String("password_hash")
	if err != nil {
		return at.fail("%v", err)
	}
	if hash != "" {
		if hash, err = auth.ImportBcrypt(hash); err != nil {
			return at.fail("password_hash: %v", err)
		}
	}
	google, err := d.String("googleId")
	if err != nil {
		return at.fail("%v", err)
	}
	if google = strings.TrimSpace(google); len(google) > maxSubject {
		return at.fail("googleId: longer than %d bytes", maxSubject)
	}
	created, updated, err := times(at, d)
	if err != nil {
		return err
	}
	r.users[at.id], r.emails[email] = len(r.plan.users), len(r.plan.users)
	r.plan.users = append(r.plan.users, importUser{at: at, googleID: google, user: keybox.User{
		ID: at.id, Name: nm, Email: email, Role: role, PasswordHash: hash, CreatedAt: created, UpdatedAt: updated,
	}})
	return nil
}

// placeholderEmail is the address a client without one gets: unique per
// client, the same on every run, and undeliverable (.invalid is reserved).
func placeholderEmail(clientID string) string { return "client-" + clientID + "@no-email.invalid" }

func (r *exportReader) client(at record, d extjson.Doc) error {
	if i, dup := r.clients[at.id]; dup {
		return at.fail("_id is already used by %s", r.plan.clients[i].at)
	}
	nm, err := name(at, d, "name")
	if err != nil {
		return err
	}
	owner, err := d.ObjectID("owner")
	if err != nil {
		return at.fail("%v", err)
	}
	if owner == "" {
		return at.fail("owner: missing")
	}
	if _, ok := r.users[owner]; !ok {
		return at.fail("owner %s is not in %s", owner, usersFile)
	}
	raw, err := d.String("email")
	if err != nil {
		return at.fail("%v", err)
	}
	email, placeholder := normalizeEmail(raw), false
	if email == "" {
		email, placeholder = placeholderEmail(at.id), true
	} else if !validEmail(email) || tooLong(email) {
		return at.fail("email: %q is not a valid address", raw)
	}
	contact := [2]string{owner, email}
	if i, dup := r.contacts[contact]; dup {
		return at.fail("email %s is already used by %s under the same owner; give one of them another address", email, r.plan.clients[i].at)
	}
	created, updated, err := times(at, d)
	if err != nil {
		return err
	}
	r.clients[at.id], r.contacts[contact] = len(r.plan.clients), len(r.plan.clients)
	r.plan.clients = append(r.plan.clients, importClient{at: at, placeholder: placeholder, client: keybox.Client{
		ID: at.id, Name: nm, Email: email, OwnerID: owner, CreatedAt: created, UpdatedAt: updated,
	}})
	return nil
}

func (r *exportReader) project(at record, d extjson.Doc) error {
	if i, dup := r.projects[at.id]; dup {
		return at.fail("_id is already used by %s", r.plan.projects[i].at)
	}
	nm, err := name(at, d, "name")
	if err != nil {
		return err
	}
	clientID, err := d.ObjectID("client")
	if err != nil {
		return at.fail("%v", err)
	}
	if clientID == "" {
		return at.fail("client: missing")
	}
	ci, ok := r.clients[clientID]
	if !ok {
		return at.fail("client %s is not in %s", clientID, clientsFile)
	}
	created, updated, err := times(at, d)
	if err != nil {
		return err
	}
	r.projects[at.id] = len(r.plan.projects)
	r.plan.projects = append(r.plan.projects, importProject{at: at, project: keybox.Project{
		ID: at.id, Name: nm, ClientID: clientID, OwnerID: r.plan.clients[ci].client.OwnerID, CreatedAt: created, UpdatedAt: updated,
		Policy: DefaultPolicy(),
	}})
	return nil
}
