package main

import (
	"archive/tar"
	"bytes"
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/keyboxhq/keybox"
	"github.com/keyboxhq/keybox/client"
)

// wantFileMode fails the test unless path exists with mode perm.
func wantFileMode(t *testing.T, path string, perm os.FileMode) {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != perm {
		t.Errorf("%s: mode %v, want %v", path, st.Mode().Perm(), perm)
	}
}

// servedInstallation is a server on an embedded database in a directory of
// its own, with an account, a license activated on a machine, and a license
// file that machine checked out.
type servedInstallation struct {
	dir, dbURL, url string
	stop            func()
	token, key      string
	file            string // the checked-out license file
	keys            client.PublicKeys
}

func newServedInstallation(t *testing.T) *servedInstallation {
	t.Helper()
	ctx := context.Background()
	in := &servedInstallation{dir: t.TempDir()}
	in.dbURL = "sqlite://" + filepath.Join(in.dir, "keybox.db")
	in.url, in.stop = startServeStop(t, map[string]string{"KEYBOX_DATABASE_URL": in.dbURL})
	api, err := client.New(in.url, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := api.Signup(ctx, client.Signup{Name: "Ada", Email: "ada@example.com", Password: "correct horse"}); err != nil {
		t.Fatal(err)
	}
	sess, err := api.Login(ctx, "ada@example.com", "correct horse")
	if err != nil {
		t.Fatal(err)
	}
	in.token = sess.Token
	c, err := api.CreateClient(ctx, client.ClientInput{Name: "Acme", Email: "billing@acme.example"})
	if err != nil {
		t.Fatal(err)
	}
	_, l, err := api.CreateProjectWithLicense(ctx, client.NewProjectWithLicense{ClientID: c.ID, ProjectName: "Website", Duration: 12,
		Services: []keybox.Service{"Hosting"}})
	if err != nil {
		t.Fatal(err)
	}
	in.key = l.Key
	if in.keys, err = client.FetchPublicKeys(ctx, in.url, nil); err != nil {
		t.Fatal(err)
	}
	lc, err := client.NewLicenseClient(in.url, in.key, client.LicenseOptions{MachineID: "vessel-7", PublicKeys: in.keys})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lc.Activate(ctx); err != nil {
		t.Fatal(err)
	}
	if in.file, _, err = lc.Checkout(ctx, 0); err != nil {
		t.Fatal(err)
	}
	return in
}

// TestBackupRestoreServe: a backup taken while the server runs, restored
// into an empty directory after it stopped, serves again: the same accounts
// log in, tokens issued before keep working, licenses validate, and files
// signed before verify with the keys the restored server publishes.
func TestBackupRestoreServe(t *testing.T) {
	ctx := context.Background()
	in := newServedInstallation(t)
	archive := filepath.Join(t.TempDir(), "keybox-backup.tar.gz")
	sh := newShell(t, in.url, "KEYBOX_DATABASE_URL", in.dbURL)
	code, out := sh.run("", "backup", archive)
	if code != 0 || !strings.Contains(out, "the secret key (from "+filepath.Join(in.dir, "secret-key")+")") ||
		!strings.Contains(out, "the backup can sign licenses: keep it as safe as the server itself") {
		t.Fatalf("backup: exit %d, %s", code, out)
	}
	wantFileMode(t, archive, 0o600)
	members := unpackBackup(t, archive, t.TempDir())
	for _, m := range []string{"keybox.db", "secret-key", "jwt-secret"} {
		if mode, ok := members[m]; !ok || mode != 0o600 {
			t.Errorf("the backup holds %v: want %s, mode 0600", members, m)
		}
	}
	in.stop()

	// Restore into a new, empty place: the database and both secrets.
	target := filepath.Join(t.TempDir(), "data")
	dbURL := "sqlite://" + filepath.Join(target, "keybox.db")
	sh = newShell(t, in.url, "KEYBOX_DATABASE_URL", dbURL)
	out = sh.ok("restore", archive)
	if !strings.Contains(out, "Restored "+archive+" to "+filepath.Join(target, "keybox.db")) {
		t.Fatalf("restore: %s", out)
	}
	for _, f := range []string{"keybox.db", "secret-key", "jwt-secret"} {
		wantFileMode(t, filepath.Join(target, f), 0o600)
		if f == "keybox.db" {
			continue
		}
		was, _ := os.ReadFile(filepath.Join(in.dir, f))
		if now, _ := os.ReadFile(filepath.Join(target, f)); !bytes.Equal(was, now) {
			t.Errorf("%s: restored %q, want the backed-up %q", f, now, was)
		}
	}

	url, stop := startServeStop(t, map[string]string{"KEYBOX_DATABASE_URL": dbURL})
	api, err := client.New(url, client.Options{Token: in.token})
	if err != nil {
		t.Fatal(err)
	}
	if me, err := api.Me(ctx); err != nil || me.Email != "ada@example.com" {
		t.Fatalf("a token from before the backup: %+v, %v", me, err)
	}
	if _, err := api.Login(ctx, "ada@example.com", "correct horse"); err != nil {
		t.Fatalf("login on the restored server: %v", err)
	}
	keys, err := client.FetchPublicKeys(ctx, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.VerifyLicenseFile(in.file, keys, in.key, "vessel-7", time.Now()); err != nil {
		t.Fatalf("a file signed before the backup, with the restored server's keys: %v", err)
	}
	lc, err := client.NewLicenseClient(url, in.key, client.LicenseOptions{MachineID: "vessel-7", PublicKeys: in.keys})
	if err != nil {
		t.Fatal(err)
	}
	if v, err := lc.Validate(ctx); err != nil || !v.Valid {
		t.Fatalf("validate, with the signature checked against the old keys: %+v, %v", v, err)
	}
	if _, _, err := lc.Checkout(ctx, 0); err != nil {
		t.Fatalf("a new file from the restored server, checked against the old keys: %v", err)
	}

	// Now there is a database there: it is replaced only with --force, and
	// never while a server has it open.
	if out := sh.fails(exitFailed, "restore", archive); !strings.Contains(out, "a database exists at") || !strings.Contains(out, "--force") {
		t.Fatalf("restore over a database: %s", out)
	}
	if out := sh.fails(exitFailed, "restore", "--force", archive); !strings.Contains(out, "is in use: stop the server") {
		t.Fatalf("restore over a database in use: %s", out)
	}
	if _, err := api.Me(ctx); err != nil {
		t.Fatalf("the server after the refused restore: %v", err)
	}
	stop()
	sh.ok("restore", "--force", archive)
	startServe(t, map[string]string{"KEYBOX_DATABASE_URL": dbURL})
}

// TestRestoreRefusesInUseByAnotherProcess: a server in another process (the
// real binary) holds the database: restore sees it and changes nothing.
func TestRestoreRefusesInUseByAnotherProcess(t *testing.T) {
	bin, err := buildBinary()
	if err != nil {
		t.Fatal(err)
	}
	in := newServedInstallation(t)
	archive := filepath.Join(t.TempDir(), "backup.tar")
	sh := newShell(t, in.url, "KEYBOX_DATABASE_URL", in.dbURL)
	sh.ok("backup", archive)
	in.stop()
	_, url, _ := startBinary(t, bin, "KEYBOX_DATABASE_URL="+in.dbURL)
	before, err := os.ReadFile(filepath.Join(in.dir, "keybox.db"))
	if err != nil {
		t.Fatal(err)
	}
	if out := sh.fails(exitFailed, "restore", "--force", archive); !strings.Contains(out, "is in use") {
		t.Fatalf("restore under a running server: %s", out)
	}
	if now, _ := os.ReadFile(filepath.Join(in.dir, "keybox.db")); !bytes.Equal(before, now) {
		t.Error("the refused restore changed the database")
	}
	api, _ := client.New(url, client.Options{})
	if _, err := api.Login(context.Background(), "ada@example.com", "correct horse"); err != nil {
		t.Fatalf("the server after the refused restore: %v", err)
	}
}

// TestRestoreRefusals: what is not a KeyBox backup, or would not serve, is
// refused and nothing is written.
func TestRestoreRefusals(t *testing.T) {
	in := newServedInstallation(t)
	files := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(files, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	sh := newShell(t, in.url, "KEYBOX_DATABASE_URL", in.dbURL)
	full := filepath.Join(files, "full.tar")
	sh.ok("backup", full)
	bare := filepath.Join(files, "bare.tar")
	code, out := sh.run("", "backup", "--no-secrets", bare)
	if code != 0 || !strings.Contains(out, "The secrets were left out (--no-secrets). A restore needs the secret") {
		t.Fatalf("backup --no-secrets: exit %d, %s", code, out)
	}
	// A wrong secret: the backup would not restore, so it is not written.
	wrong := strings.Repeat("w", 32)
	sh.env["KEYBOX_SECRET_KEY"] = wrong
	if out := sh.fails(exitFailed, "backup", filepath.Join(files, "wrong.tar")); !strings.Contains(out, "the secret key from KEYBOX_SECRET_KEY does not decrypt") {
		t.Fatalf("backup with a wrong secret: %s", out)
	}
	delete(sh.env, "KEYBOX_SECRET_KEY")
	if _, err := os.Stat(filepath.Join(files, "wrong.tar")); !os.IsNotExist(err) {
		t.Fatalf("a refused backup left a file: %v", err)
	}
	in.stop()

	// Another application's SQLite database, bare and in an archive.
	other := filepath.Join(files, "other.db")
	db, err := sql.Open("sqlite", "file:"+other)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`CREATE TABLE notes (body TEXT)`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	otherDB, _ := os.ReadFile(other)
	var tarred bytes.Buffer
	tw := tar.NewWriter(&tarred)
	_ = tw.WriteHeader(&tar.Header{Name: "keybox.db", Mode: 0o600, Size: int64(len(otherDB)), Typeflag: tar.TypeReg})
	_, _ = tw.Write(otherDB)
	tw.Close()
	var noDB bytes.Buffer
	tw = tar.NewWriter(&noDB)
	_ = tw.WriteHeader(&tar.Header{Name: "notes.txt", Mode: 0o600, Size: 5, Typeflag: tar.TypeReg})
	_, _ = tw.Write([]byte("hello"))
	tw.Close()
	// A KeyBox database from a newer keybox.
	newer := filepath.Join(files, "newer.db")
	unpacked := t.TempDir()
	unpackBackup(t, full, unpacked)
	copyFileTo(t, filepath.Join(unpacked, "keybox.db"), newer)
	db, err = sql.Open("sqlite", "file:"+newer)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, '0999_future.sql', 0)`); err != nil {
		t.Fatal(err)
	}
	db.Close()

	cases := []struct {
		name string
		file string
		env  []string
		args []string
		want string
	}{
		{"text", write("notes.txt", []byte("not a backup at all")), nil, nil, "not a KeyBox backup: neither an archive written by keybox backup nor a SQLite database"},
		{"empty", write("empty", nil), nil, nil, "not a KeyBox backup"},
		{"another database", other, nil, nil, "not KeyBox's: it has no schema_migrations table"},
		{"another database, archived", write("other.tar", tarred.Bytes()), nil, nil, "not KeyBox's: it has no schema_migrations table"},
		{"an archive without a database", write("nodb.tar", noDB.Bytes()), nil, nil, "holds no keybox.db"},
		{"a newer schema", newer, nil, nil, "newer than this keybox binary"},
		{"no secret anywhere", bare, nil, nil, "holds no secret key, KEYBOX_SECRET_KEY is not set"},
		{"a wrong secret", bare, []string{"KEYBOX_SECRET_KEY", wrong}, nil, "the secret key (KEYBOX_SECRET_KEY) does not open this database's signing keys"},
		{"a secret in the environment that is not the backup's", full, []string{"KEYBOX_SECRET_KEY", wrong}, nil,
			"KEYBOX_SECRET_KEY is set, and the server would use it, but it does not open"},
		{"postgres", full, []string{"KEYBOX_DATABASE_URL", "postgres://u@localhost/keybox"}, nil, "use pg_restore"},
		{"no file", filepath.Join(files, "missing.tar"), nil, nil, "no such file"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			target := t.TempDir()
			sh := newShell(t, in.url, append([]string{"KEYBOX_DATABASE_URL", "sqlite://" + filepath.Join(target, "keybox.db")}, c.env...)...)
			out := sh.fails(exitFailed, append(append([]string{"restore"}, c.args...), c.file)...)
			if !strings.Contains(out, c.want) || strings.Count(strings.TrimSpace(out), "\n") != 0 {
				t.Fatalf("got %q, want one line saying %q", out, c.want)
			}
			if left, _ := os.ReadDir(target); len(left) != 0 {
				t.Fatalf("a refused restore left %v", left)
			}
		})
	}

	// A secret file already there and different: replaced only with --force.
	target := t.TempDir()
	if err := os.WriteFile(filepath.Join(target, "secret-key"), []byte(wrong+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	sh = newShell(t, in.url, "KEYBOX_DATABASE_URL", "sqlite://"+filepath.Join(target, "keybox.db"))
	if out := sh.fails(exitFailed, "restore", full); !strings.Contains(out, "secret-key exists and differs from the backup's secret key") {
		t.Fatalf("restore over another secret: %s", out)
	}
	sh.ok("restore", "--force", full)

	// The secret is lost: --lost-secret restores anyway, keybox keys rotate
	// makes a new signing key with a new secret, and the server starts.
	target = t.TempDir()
	dbURL := "sqlite://" + filepath.Join(target, "keybox.db")
	sh = newShell(t, in.url, "KEYBOX_DATABASE_URL", dbURL)
	code, out = sh.run("", "restore", "--lost-secret", bare)
	if code != 0 || !strings.Contains(out, "Run keybox keys rotate before starting the server") {
		t.Fatalf("restore --lost-secret: exit %d, %s", code, out)
	}
	sh.ok("keys", "rotate")
	startServe(t, map[string]string{"KEYBOX_DATABASE_URL": dbURL})
}

func copyFileTo(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestBackupOfSecretsFromTheEnvironment: with the secrets in the server's
// environment rather than beside the database, a backup run without them
// warns and says what a restore will need; run with them, it holds them, and
// the restore writes them beside the database, where a server finds them.
func TestBackupOfSecretsFromTheEnvironment(t *testing.T) {
	dir := t.TempDir()
	dbURL := "sqlite://" + filepath.Join(dir, "keybox.db")
	secretKey, jwt := strings.Repeat("s", 40), strings.Repeat("j", 40)
	_, stop := startServeStop(t, map[string]string{"KEYBOX_DATABASE_URL": dbURL, "KEYBOX_SECRET_KEY": secretKey, "KEYBOX_JWT_SECRET": jwt})
	files := t.TempDir()

	sh := newShell(t, "http://unused.invalid", "KEYBOX_DATABASE_URL", dbURL)
	bare := filepath.Join(files, "bare.tar")
	code, out := sh.run("", "backup", bare)
	if code != 0 || !strings.Contains(out, "keybox: warning: "+bare+" holds no secret key: KEYBOX_SECRET_KEY is not set") ||
		!strings.Contains(out, "A restore needs the secret") || !strings.Contains(out, "holds no JWT secret") {
		t.Fatalf("backup without the secrets at hand: exit %d, %s", code, out)
	}
	if members := unpackBackup(t, bare, t.TempDir()); len(members) != 1 {
		t.Fatalf("the backup holds %v, want the database alone", members)
	}

	sh.env["KEYBOX_SECRET_KEY"], sh.env["KEYBOX_JWT_SECRET"] = secretKey, jwt
	full := filepath.Join(files, "full.tar")
	code, out = sh.run("", "backup", full)
	if code != 0 || strings.Contains(out, "warning") || !strings.Contains(out, "the secret key (from KEYBOX_SECRET_KEY) and the JWT secret (from KEYBOX_JWT_SECRET)") {
		t.Fatalf("backup with the secrets in the environment: exit %d, %s", code, out)
	}
	stop()

	target := t.TempDir()
	restored := "sqlite://" + filepath.Join(target, "keybox.db")
	sh = newShell(t, "http://unused.invalid", "KEYBOX_DATABASE_URL", restored)
	sh.ok("restore", full)
	if b, _ := os.ReadFile(filepath.Join(target, "secret-key")); strings.TrimSpace(string(b)) != secretKey {
		t.Fatalf("the restored secret-key holds %q", b)
	}
	startServe(t, map[string]string{"KEYBOX_DATABASE_URL": restored})

	// Restored where the environment gives the secret: no file is written.
	target = t.TempDir()
	restored = "sqlite://" + filepath.Join(target, "keybox.db")
	sh = newShell(t, "http://unused.invalid", "KEYBOX_DATABASE_URL", restored, "KEYBOX_SECRET_KEY", secretKey)
	sh.ok("restore", full)
	if _, err := os.Stat(filepath.Join(target, "secret-key")); !os.IsNotExist(err) {
		t.Fatalf("restore wrote the secret key although KEYBOX_SECRET_KEY gives it: %v", err)
	}
	startServe(t, map[string]string{"KEYBOX_DATABASE_URL": restored, "KEYBOX_SECRET_KEY": secretKey})
}
