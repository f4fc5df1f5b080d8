package licensing_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/keyboxhq/keybox"
	"github.com/keyboxhq/keybox/internal/licensing"
	"github.com/keyboxhq/keybox/internal/servertest"
	"github.com/keyboxhq/keybox/internal/storetest"
)

// exportDir is a KeyBox export written by hand (see its README.md).
var exportDir = filepath.Join("..", "..", "testdata", "keybox-export")

// Ids and keys of the export.
const (
	ada, bob, gina, carol  = "659e5c90a1b2c3d4e5f6a701", "65bb6ba0a1b2c3d4e5f6a702", "65e6d808a1b2c3d4e5f6a703", "6623ae40a1b2c3d4e5f6a704"
	acme, globex, umbrella = "66335994b1b2c3d4e5f6b701", "66335994b1b2c3d4e5f6b702", "66335994b1b2c3d4e5f6b704"
	website                = "665a6480c1b2c3d4e5f6c701"

	keyActive   = "KB-ACME1-WEB01-7QX2M-PZ81C"
	keyPending  = "8c1e3b5d-7f90-4a2c-9e6f-8a0b1c3d5e7f"
	keyExpired  = "KB-INIT3-PORT1-EXP1R-ED000"
	keyRevoked  = "KB-INIT3-PORT2-REV0K-ED000"
	keyInstance = "KB-UMBR1-LAB01-1NST4-NCE00"
	keyOldPC    = "KB-ACME1-WEB02-0LDPC-REV00"
	adaMachine  = "3f9a1c7e5b2d4f60a8c1e3b5d7f90a2c4e6f8a0b1c3d5e7f9a2b4c6d8e0f1a3b"
)

func at(s string) keybox.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return keybox.NewTime(t)
}

// TestImportKeyBox loads the export twice on each engine: the second run
// finds everything already there and changes nothing. Then the real server
// lets the imported users in with their old passwords and validates the
// imported keys for the machines they were bound to.
func TestImportKeyBox(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			ctx := context.Background()
			store := e.Open(t)
			srv := servertest.New(t, store, servertest.Options{}) // its clock: 2026-01-15
			// Looked up before the import: the server must not go on remembering it as unknown.
			if a := call(t, srv, "POST", "/validate", "", map[string]string{"key": keyActive, "machineId": adaMachine}); a.body["status"] != "invalid" {
				t.Fatalf("validate before the import: got %v", a.body)
			}
			sum, err := srv.Service.ImportKeyBox(ctx, os.DirFS(exportDir), licensing.ImportOptions{})
			if err != nil {
				t.Fatal(err)
			}
			want := licensing.ImportSummary{
				Users: licensing.ImportCount{Imported: 4}, Identities: licensing.ImportCount{Imported: 2},
				Clients: licensing.ImportCount{Imported: 4}, Projects: licensing.ImportCount{Imported: 4},
				Licenses: licensing.ImportCount{Imported: 6}, Seats: licensing.ImportCount{Imported: 4},
				Placeholders: []licensing.Placeholder{
					{ClientID: globex, Name: "Globex", Email: "client-" + globex + "@no-email.invalid"},
					{ClientID: umbrella, Name: "Umbrella", Email: "client-" + umbrella + "@no-email.invalid"},
				},
				Notes: []string{"1 imported account(s) have no password (they signed in with Google); password login refuses them"},
			}
			if !reflect.DeepEqual(sum, want) {
				t.Fatalf("first run:\n got %+v\nwant %+v", sum, want)
			}
			if a := call(t, srv, "POST", "/validate", "", map[string]string{"key": keyActive, "machineId": adaMachine}); a.body["status"] != "active" {
				t.Fatalf("validate after the import: got %v", a.body)
			}
			before := snapshot(t, store)

			sum, err = srv.Service.ImportKeyBox(ctx, os.DirFS(exportDir), licensing.ImportOptions{})
			if err != nil {
				t.Fatalf("second run: %v", err)
			}
			again := licensing.ImportSummary{
				Users: licensing.ImportCount{Present: 4}, Identities: licensing.ImportCount{Present: 2},
				Clients: licensing.ImportCount{Present: 4}, Projects: licensing.ImportCount{Present: 4},
				Licenses: licensing.ImportCount{Present: 6}, Seats: licensing.ImportCount{Present: 4},
				Placeholders: want.Placeholders, Notes: []string{},
			}
			if !reflect.DeepEqual(sum, again) {
				t.Fatalf("second run:\n got %+v\nwant %+v", sum, again)
			}
			if after := snapshot(t, store); !reflect.DeepEqual(after, before) {
				t.Fatalf("the second run changed the database:\nbefore %+v\n after %+v", before, after)
			}
			checkStored(t, store, before)
			checkServed(t, srv)
		})
	}
}

// state is everything an import writes.
type state struct {
	Users       []keybox.User
	Identities  []keybox.Identity
	Clients     []keybox.Client
	Projects    []keybox.Project
	Licenses    []keybox.License
	Activations map[string][]keybox.Activation // by license key
}

func snapshot(t *testing.T, s keybox.Store) state {
	t.Helper()
	ctx := context.Background()
	users, err := s.Users(ctx)
	if err != nil {
		t.Fatal(err)
	}
	st := state{Users: users, Activations: map[string][]keybox.Activation{}}
	for _, u := range users {
		ids, err := s.Identities(ctx, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		st.Identities = append(st.Identities, ids...)
		clients, _, err := s.Clients(ctx, keybox.ClientFilter{OwnerID: u.ID})
		if err != nil {
			t.Fatal(err)
		}
		projects, _, err := s.Projects(ctx, keybox.ProjectFilter{OwnerID: u.ID})
		if err != nil {
			t.Fatal(err)
		}
		licenses, _, err := s.Licenses(ctx, keybox.LicenseFilter{OwnerID: u.ID})
		if err != nil {
			t.Fatal(err)
		}
		st.Clients, st.Projects, st.Licenses = append(st.Clients, clients...), append(st.Projects, projects...), append(st.Licenses, licenses...)
		for _, l := range licenses {
			acts, err := s.Activations(ctx, l.ID)
			if err != nil {
				t.Fatal(err)
			}
			st.Activations[l.Key] = acts
		}
	}
	return st
}

// checkStored compares what the import stored with what the export says.
func checkStored(t *testing.T, s keybox.Store, st state) {
	t.Helper()
	ctx := context.Background()
	if len(st.Users) != 4 || len(st.Identities) != 2 || len(st.Clients) != 4 || len(st.Projects) != 4 || len(st.Licenses) != 6 {
		t.Fatalf("stored %d users, %d identities, %d clients, %d projects, %d licenses; want 4, 2, 4, 4, 6",
			len(st.Users), len(st.Identities), len(st.Clients), len(st.Projects), len(st.Licenses))
	}
	byID := map[string]keybox.User{}
	for _, u := range st.Users {
		byID[u.ID] = u
	}
	wantUsers := []struct {
		id, email string
		role      keybox.Role
		created   keybox.Time
		hash      bool
	}{
		{ada, "ada@example.com", keybox.RoleAdmin, at("2024-01-10T09:00:00Z"), true},
		{bob, "bob@example.com", keybox.RoleDeveloper, at("2024-02-01T10:00:00Z"), true},
		{gina, "gina@example.com", keybox.RoleDeveloper, at("2024-03-05T08:30:00Z"), false},
		// No createdAt and no role: the time in its ObjectId, KeyBox's default role.
		{carol, "carol@example.com", keybox.RoleDeveloper, at("2024-04-20T12:00:00Z"), true},
	}
	for _, w := range wantUsers {
		u := byID[w.id]
		if u.Email != w.email || u.Role != w.role || !u.CreatedAt.Equal(w.created.Time) || !u.UpdatedAt.Equal(w.created.Time) || (u.PasswordHash != "") != w.hash {
			t.Errorf("user %s: got %+v; want %s, %s, created %v, has a password: %v", w.id, u, w.email, w.role, w.created, w.hash)
		}
	}
	for sub, want := range map[string]string{"108273645546372819203": bob, "113355779911224466880": gina} {
		if u, err := s.UserByIdentity(ctx, licensing.ProviderGoogle, sub); err != nil || u.ID != want {
			t.Errorf("google subject %s: got %q, %v; want user %s", sub, u.ID, err, want)
		}
	}
	c, err := s.Client(ctx, ada, acme)
	if err != nil || c.Email != "billing@acme.example" || c.Name != "Acme Corp" || !c.CreatedAt.Equal(at("2024-05-02T09:15:00Z").Time) {
		t.Errorf("client Acme: got %+v, %v", c, err)
	}
	p, err := s.Project(ctx, ada, website)
	if err != nil || p.ClientID != acme || p.Name != "Website" {
		t.Errorf("project Website: got %+v, %v", p, err)
	}

	l, err := s.License(ctx, keyActive)
	if err != nil {
		t.Fatal(err)
	}
	wantL := keybox.License{
		ID: "683c24a0d1b2c3d4e5f6d701", Key: keyActive, Duration: 12,
		IssuedAt: at("2025-06-01T10:00:00Z"), ExpiresAt: at("2026-06-01T10:00:00Z"), Status: keybox.StatusActive,
		Services: []keybox.Service{keybox.ServiceHosting, keybox.ServiceDomain},
		OwnerID:  ada, ClientID: acme, ProjectID: website, MaxMachines: 1,
		MachineID: adaMachine, ProductName: "Acme Website", ActivatedAt: at("2025-06-01T10:00:00Z"),
		CreatedAt: at("2025-06-01T10:00:00Z"), UpdatedAt: at("2025-06-01T10:00:00Z"),
	}
	if !reflect.DeepEqual(l, wantL) {
		t.Errorf("license %s:\n got %+v\nwant %+v", keyActive, l, wantL)
	}
	seats := map[string][2]string{keyActive: {adaMachine, ""}, keyExpired: {"initech-build-01", "ci-runner-1"}, keyInstance: {"", "lab-instance-7"}, keyOldPC: {"old-pc", ""}}
	for key, acts := range st.Activations {
		want, bound := seats[key]
		switch {
		case !bound && len(acts) != 0:
			t.Errorf("%s: got %d seats, want none", key, len(acts))
		case bound && (len(acts) != 1 || acts[0].MachineID != want[0] || acts[0].InstanceID != want[1]):
			t.Errorf("%s: got seats %+v, want one for %q/%q", key, acts, want[0], want[1])
		}
	}
	pending, err := s.License(ctx, keyPending)
	if err != nil || pending.Status != keybox.StatusPending || pending.Duration != 6 || !pending.ActivatedAt.IsZero() ||
		!reflect.DeepEqual(pending.Services, []keybox.Service{keybox.ServiceHosting}) {
		t.Errorf("pending license: got %+v, %v", pending, err)
	}
}

type answer struct {
	status int
	body   map[string]any
}

func call(t *testing.T, srv *servertest.Server, method, path, token string, body any) answer {
	t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(method, srv.URL+path, bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	a := answer{status: resp.StatusCode}
	if err := json.Unmarshal(raw, &a.body); err != nil {
		t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, raw)
	}
	return a
}

// checkServed uses the imported data through the real server.
func checkServed(t *testing.T, srv *servertest.Server) {
	t.Helper()
	logins := []struct {
		email, password string
		status          int
	}{
		{"ada@example.com", "ada old password", 200},     // $2b$
		{"Bob@example.com", "bob-old-pass", 200},         // $2a$
		{"carol@example.com", "carol old password", 200}, // $2y$
		{"ada@example.com", "ada old passwore", 401},
		{"gina@example.com", "anything at all", 401}, // Google only: no password to match
		{"gina@example.com", " ", 401},
	}
	tokens := map[string]string{}
	for _, l := range logins {
		a := call(t, srv, "POST", "/auth/login", "", map[string]string{"email": l.email, "password": l.password})
		if a.status != l.status {
			t.Fatalf("login %s with %q: got %d %v, want %d", l.email, l.password, a.status, a.body, l.status)
		}
		if a.status == 401 && a.body["message"] != "Invalid credentials" {
			t.Fatalf("login %s: got %v, want Invalid credentials", l.email, a.body)
		}
		if a.status == 200 {
			tokens[strings.ToLower(l.email)], _ = a.body["token"].(string)
		}
	}
	if a := call(t, srv, "GET", "/auth/me", tokens["ada@example.com"], nil); a.status != 200 || a.body["user"].(map[string]any)["role"] != "ADMIN" {
		t.Fatalf("ada's /auth/me: got %d %v", a.status, a.body)
	}
	if a := call(t, srv, "GET", "/license", tokens["ada@example.com"], nil); a.status != 200 || a.body["total"] != float64(3) {
		t.Fatalf("ada's licenses: got %d %v, want her 3", a.status, a.body)
	}

	validations := []struct {
		key, machine, instance string
		status                 string
	}{
		{keyActive, adaMachine, "", "active"},
		{keyActive, "someone-else", "", "machine_mismatch"},
		{keyInstance, "", "lab-instance-7", "active"},
		{keyExpired, "initech-build-01", "ci-runner-1", "expired"},
		{keyRevoked, "", "", "revoked"},
		{keyOldPC, "old-pc", "", "revoked"},
		{keyPending, "new-machine", "", "pending"},
	}
	for _, v := range validations {
		a := call(t, srv, "POST", "/validate", "", map[string]string{"key": v.key, "machineId": v.machine, "instanceId": v.instance})
		if a.status != 200 || a.body["status"] != v.status {
			t.Errorf("validate %s on %q/%q: got %d %v, want %s", v.key, v.machine, v.instance, a.status, a.body, v.status)
		}
	}
	if a := call(t, srv, "POST", "/validate", "", map[string]string{"key": keyActive, "machineId": adaMachine}); a.body["expiresAt"] != float64(at("2026-06-01T10:00:00Z").Millis()) {
		t.Errorf("validate %s: expiresAt %v, want the export's", keyActive, a.body["expiresAt"])
	}
	// The seat is taken: another machine cannot activate; the bound one is already there.
	if a := call(t, srv, "POST", "/validate/activate", "", map[string]string{"key": keyActive, "machineId": "someone-else"}); a.status != 403 {
		t.Errorf("activate on another machine: got %d %v, want 403", a.status, a.body)
	}
	if a := call(t, srv, "POST", "/validate/activate", "", map[string]string{"key": keyActive, "machineId": adaMachine}); a.status != 200 || a.body["message"] != "License already activated on this machine" {
		t.Errorf("activate on its machine: got %d %v", a.status, a.body)
	}
	if a := call(t, srv, "POST", "/validate/activate", "", map[string]string{"key": keyPending, "machineId": "new-machine"}); a.status != 200 || a.body["message"] != "License activated successfully" {
		t.Errorf("activate the pending license: got %d %v", a.status, a.body)
	}
	// Restoring: a license that was bound had been activated; one never bound goes back to PENDING.
	restores := []struct{ token, key, status string }{
		{tokens["ada@example.com"], keyOldPC, "ACTIVE"},
		{tokens["bob@example.com"], keyRevoked, "PENDING"},
	}
	for _, r := range restores {
		if a := call(t, srv, "PATCH", "/license/revoke/"+r.key, r.token, nil); a.status != 200 || a.body["status"] != r.status {
			t.Errorf("restore %s: got %d %v, want %s", r.key, a.status, a.body, r.status)
		}
	}
}

// fixture returns the export's four files, decoded, for a test to break.
func fixture(t *testing.T) map[string][]map[string]any {
	t.Helper()
	files := map[string][]map[string]any{}
	for _, f := range []string{"users.json", "clients.json", "projects.json", "licenses.json"} {
		raw, err := os.ReadFile(filepath.Join(exportDir, f))
		if err != nil {
			t.Fatal(err)
		}
		var docs []map[string]any
		if err := json.Unmarshal(raw, &docs); err != nil {
			t.Fatal(err)
		}
		files[f] = docs
	}
	return files
}

// write puts an export in a fresh directory; a file given as raw text is
// written as it is.
func write(t *testing.T, files map[string][]map[string]any, raw map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, docs := range files {
		b, err := json.Marshal(docs)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for name, text := range raw {
		path := filepath.Join(dir, name)
		if text == "" {
			if err := os.Remove(path); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func oid(id string) map[string]any { return map[string]any{"$oid": id} }

// TestImportKeyBoxRefusesBrokenRecords: a bad record stops the import before
// anything is stored, and the error names its file, its place and its _id.
func TestImportKeyBoxRefusesBrokenRecords(t *testing.T) {
	type files = map[string][]map[string]any
	truncated := func(t *testing.T, name string, record int) string {
		raw, err := os.ReadFile(filepath.Join(exportDir, name))
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.SplitAfter(string(raw), "\n")
		return strings.Join(lines[:record-1], "") + lines[record-1][:40]
	}
	cases := []struct {
		name   string
		change func(f files)
		raw    map[string]string // files replaced by text ("" removes one)
		file   string
		record int
		id     string
		says   string
	}{
		{"an unknown role", func(f files) { f["users.json"][1]["role"] = "OWNER" }, nil,
			"users.json", 2, bob, `role: "OWNER" is not ADMIN or DEVELOPER`},
		{"a password that is not a bcrypt hash", func(f files) { f["users.json"][0]["password_hash"] = "ada old password" }, nil,
			"users.json", 1, ada, "password_hash: not a bcrypt hash"},
		{"two accounts with one email", func(f files) { f["users.json"][3]["email"] = "ADA@example.com" }, nil,
			"users.json", 4, carol, "email ada@example.com is already used by users.json, record 1 (_id " + ada + ")"},
		{"an invalid email", func(f files) { f["users.json"][2]["email"] = "gina at example" }, nil,
			"users.json", 3, gina, `email: "gina at example" is not a valid address`},
		{"no name", func(f files) { delete(f["users.json"][0], "name") }, nil,
			"users.json", 1, ada, "name: missing"},
		{"no _id", func(f files) { delete(f["clients.json"][1], "_id") }, nil,
			"clients.json", 2, "", "no _id"},
		{"an _id that is not an ObjectId", func(f files) { f["clients.json"][1]["_id"] = oid("globex") }, nil,
			"clients.json", 2, "", "_id: want an ObjectId"},
		{"an owner that is not exported", func(f files) { f["clients.json"][2]["owner"] = oid("000000000000000000000001") }, nil,
			"clients.json", 3, "66335994b1b2c3d4e5f6b703", "owner 000000000000000000000001 is not in users.json"},
		{"two clients of one owner with one email", func(f files) { f["clients.json"][3]["email"] = "OPS@initech.example" }, nil,
			"clients.json", 4, umbrella, "email ops@initech.example is already used by clients.json, record 3"},
		{"a project of a client that is not exported", func(f files) { f["projects.json"][3]["client"] = oid(ada) }, nil,
			"projects.json", 4, "665a6480c1b2c3d4e5f6c704", "client " + ada + " is not in clients.json"},
		{"an unknown status", func(f files) { f["licenses.json"][2]["status"] = "PAUSED" }, nil,
			"licenses.json", 3, "65920080d1b2c3d4e5f6d703", `status: "PAUSED" is not PENDING, ACTIVE, EXPIRED or REVOKED`},
		{"a duration of 0", func(f files) { f["licenses.json"][0]["duration"] = map[string]any{"$numberInt": "0"} }, nil,
			"licenses.json", 1, "683c24a0d1b2c3d4e5f6d701", "duration: want a number of months"},
		{"a fractional duration", func(f files) { f["licenses.json"][0]["duration"] = map[string]any{"$numberDouble": "1.5"} }, nil,
			"licenses.json", 1, "683c24a0d1b2c3d4e5f6d701", "duration: want an integer"},
		{"a date that is not one", func(f files) { f["licenses.json"][1]["expiresAt"] = map[string]any{"$date": "next June"} }, nil,
			"licenses.json", 2, "6946d28cd1b2c3d4e5f6d702", "expiresAt: want a date"},
		{"an unknown service", func(f files) { f["licenses.json"][3]["services"] = []string{"Hosting", "Email"} }, nil,
			"licenses.json", 4, "67748580d1b2c3d4e5f6d704", `services: "Email" is not Hosting or Domain`},
		{"a key with a space", func(f files) { f["licenses.json"][4]["key"] = "KB UMBRELLA" }, nil,
			"licenses.json", 5, "683c24a0d1b2c3d4e5f6d705", "key: \"KB UMBRELLA\" is not 4 to 128 printable characters"},
		{"two licenses with one key", func(f files) { f["licenses.json"][5]["key"] = keyActive }, nil,
			"licenses.json", 6, "683c24a0d1b2c3d4e5f6d706", "key " + keyActive + " is already used by licenses.json, record 1"},
		{"a license whose project is another client's", func(f files) { f["licenses.json"][1]["project"] = oid(website) }, nil,
			"licenses.json", 2, "6946d28cd1b2c3d4e5f6d702", "client " + globex + " is not the client of project " + website},
		{"a license whose user does not own its client", func(f files) { f["licenses.json"][0]["user"] = oid(bob) }, nil,
			"licenses.json", 1, "683c24a0d1b2c3d4e5f6d701", "user " + bob + " does not own client " + acme},
		{"a PENDING license bound to a machine", func(f files) { f["licenses.json"][1]["machineId"] = "m1" }, nil,
			"licenses.json", 2, "6946d28cd1b2c3d4e5f6d702", "a PENDING license with a machineId"},
		{"a NUL in a machine id", func(f files) { f["licenses.json"][0]["machineId"] = "m\x001" }, nil,
			"licenses.json", 1, "683c24a0d1b2c3d4e5f6d701", "machineId: holds a NUL character"},
		{"a truncated file", nil, map[string]string{"users.json": truncated(t, "users.json", 2)},
			"users.json", 2, "", "ends in the middle of a document"},
		{"invalid UTF-8", nil, map[string]string{"projects.json": "[{\"_id\":{\"$oid\":\"665a6480c1b2c3d4e5f6c701\"},\"name\":\"Web\xffsite\"}]"},
			"projects.json", 1, "", "not valid UTF-8"},
		{"a missing file", nil, map[string]string{"projects.json": ""},
			"projects.json", 0, "", "missing: a KeyBox export holds"},
	}
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			store := e.Open(t)
			srv := servertest.New(t, store, servertest.Options{})
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					f := fixture(t)
					if tc.change != nil {
						tc.change(f)
					}
					dir := write(t, f, tc.raw)
					_, err := srv.Service.ImportKeyBox(context.Background(), os.DirFS(dir), licensing.ImportOptions{})
					var ie *licensing.ImportError
					if !errors.As(err, &ie) {
						t.Fatalf("got %v, want an *ImportError", err)
					}
					if ie.File != tc.file || ie.Record != tc.record || ie.ID != tc.id || !strings.Contains(ie.Reason, tc.says) {
						t.Fatalf("got %q (file %q, record %d, _id %q),\nwant %s, record %d, _id %q, saying %q", err, ie.File, ie.Record, ie.ID, tc.file, tc.record, tc.id, tc.says)
					}
					if n, err := store.CountUsers(context.Background()); err != nil || n != 0 {
						t.Fatalf("after a refused import: %d users, %v; want none", n, err)
					}
				})
			}
		})
	}
}

// TestImportKeyBoxIsAllOrNothing: a conflict found only when writing (a key
// of the export is already another license's) comes after the users,
// clients and projects were written, and takes them back with it.
func TestImportKeyBoxIsAllOrNothing(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			ctx := context.Background()
			store := e.Open(t)
			srv := servertest.New(t, store, servertest.Options{})
			token, _ := srv.NewLicense(t, "first@example.com", 12)
			var c struct {
				Client keybox.Client `json:"client"`
			}
			a := call(t, srv, "POST", "/clients", token, map[string]string{"name": "Other", "email": "other@example.com"})
			if a.status != 201 {
				t.Fatalf("create client: %d %v", a.status, a.body)
			}
			b, _ := json.Marshal(a.body)
			_ = json.Unmarshal(b, &c)
			a = call(t, srv, "POST", "/projects", token, map[string]string{"clientId": c.Client.ID, "name": "P"})
			project := a.body["project"].(map[string]any)["_id"].(string)
			a = call(t, srv, "POST", "/license/create", token, map[string]any{"duration": 1, "clientId": c.Client.ID, "projectId": project, "key": keyOldPC})
			if a.status != 201 {
				t.Fatalf("create license with the export's key: %d %v", a.status, a.body)
			}
			before := snapshot(t, store)

			_, err := srv.Service.ImportKeyBox(ctx, os.DirFS(exportDir), licensing.ImportOptions{})
			var ie *licensing.ImportError
			if !errors.As(err, &ie) || ie.File != "licenses.json" || ie.Record != 6 || !strings.Contains(ie.Reason, "key "+keyOldPC+" already belongs to another license") {
				t.Fatalf("got %v, want licenses.json record 6 refused for its key", err)
			}
			if after := snapshot(t, store); !reflect.DeepEqual(after, before) {
				t.Fatalf("a failed import left changes:\nbefore %+v\n after %+v", before, after)
			}
			// A dry run of the export reports what it would do and stores nothing either.
			f := fixture(t)
			f["licenses.json"] = f["licenses.json"][:5]
			dir := write(t, f, nil)
			sum, err := srv.Service.ImportKeyBox(ctx, os.DirFS(dir), licensing.ImportOptions{DryRun: true})
			if err != nil || !sum.DryRun || sum.Users.Imported != 4 || sum.Licenses.Imported != 5 {
				t.Fatalf("dry run: got %+v, %v", sum, err)
			}
			if after := snapshot(t, store); !reflect.DeepEqual(after, before) {
				t.Fatal("a dry run left changes")
			}
		})
	}
}

// TestImportKeyBoxKeepsAccountsApart: an export cannot take over an account
// of this installation, by its email or by linking a Google subject to it.
func TestImportKeyBoxKeepsAccountsApart(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			ctx := context.Background()
			store := e.Open(t)
			srv := servertest.New(t, store, servertest.Options{})
			srv.NewLicense(t, "victim@example.com", 12)
			victim, err := store.UserByEmail(ctx, "victim@example.com")
			if err != nil {
				t.Fatal(err)
			}

			// Same email, another _id: refused, the victim's password unchanged.
			f := fixture(t)
			f["users.json"][1]["email"] = "Victim@example.com"
			_, err = srv.Service.ImportKeyBox(ctx, os.DirFS(write(t, f, nil)), licensing.ImportOptions{})
			var ie *licensing.ImportError
			if !errors.As(err, &ie) || ie.Record != 2 || !strings.Contains(ie.Reason, "email victim@example.com already belongs to another account (_id "+victim.ID+")") {
				t.Fatalf("same email: got %v", err)
			}
			// The victim's _id with another email: refused.
			f = fixture(t)
			f["users.json"][3]["_id"] = oid(victim.ID)
			_, err = srv.Service.ImportKeyBox(ctx, os.DirFS(write(t, f, nil)), licensing.ImportOptions{})
			if !errors.As(err, &ie) || ie.Record != 4 || !strings.Contains(ie.Reason, "already holds this _id as the account victim@example.com") {
				t.Fatalf("same _id: got %v", err)
			}
			// The victim's _id and email with a Google subject: the account is
			// left alone and the subject is not linked to it.
			f = fixture(t)
			f["users.json"][1]["_id"], f["users.json"][1]["email"] = oid(victim.ID), "victim@example.com"
			for _, doc := range f["clients.json"] {
				if doc["owner"].(map[string]any)["$oid"] == bob {
					doc["owner"] = oid(victim.ID)
				}
			}
			for _, doc := range f["licenses.json"] {
				if doc["user"].(map[string]any)["$oid"] == bob {
					doc["user"] = oid(victim.ID)
				}
			}
			sum, err := srv.Service.ImportKeyBox(ctx, os.DirFS(write(t, f, nil)), licensing.ImportOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if sum.Users.Present != 1 || sum.Identities.Imported != 1 || len(sum.Notes) == 0 || !strings.Contains(strings.Join(sum.Notes, "\n"), "victim@example.com was already an account before the import: its googleId was not linked") {
				t.Fatalf("got %+v; want the victim left alone and a note", sum)
			}
			if _, err := store.UserByIdentity(ctx, licensing.ProviderGoogle, "108273645546372819203"); !keybox.IsCode(err, keybox.NotFound) {
				t.Fatalf("the export's Google subject: got %v, want it linked to nobody", err)
			}
			after, err := store.UserByID(ctx, victim.ID)
			if err != nil || !reflect.DeepEqual(after, victim) {
				t.Fatalf("the victim's account changed: %+v, %v", after, err)
			}
			if a := call(t, srv, "POST", "/auth/login", "", map[string]string{"email": "victim@example.com", "password": "bob-old-pass"}); a.status != 401 {
				t.Fatalf("login as the victim with the export's password: got %d, want 401", a.status)
			}
		})
	}
}
