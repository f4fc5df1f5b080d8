package main

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/keyboxhq/keybox/internal/licensing"
	"github.com/keyboxhq/keybox/internal/sqlite"
	"github.com/keyboxhq/keybox/internal/sqlstore"
)

// A backup is a tar archive (gzip-compressed when its name says so) of
// these members; keybox restore reads them back.
const (
	backupDatabase  = "keybox.db"
	backupSecretKey = secretKeyFile // the secret that encrypts the signing keys
	backupJWTSecret = jwtSecretFile // the secret that signs login tokens
)

// secretNames name the secrets in sentences.
var secretNames = map[string]string{backupSecretKey: "secret key", backupJWTSecret: "JWT secret"}

// jwtSecretFile keeps, beside an embedded database, the login token secret
// when KEYBOX_JWT_SECRET is not set.
const jwtSecretFile = "jwt-secret"

// backupCommand is keybox backup FILE.
var backupCommand = []command{{
	args: "FILE", offline: true,
	help: "Back up the embedded SQLite database and its secrets to FILE while the server keeps serving. " +
		"FILE is a tar archive (gzip-compressed when FILE ends in .gz or .tgz) of a consistent copy of the database " +
		"(keybox.db), the secret key that encrypts its signing keys (secret-key) and the login token secret " +
		"(jwt-secret), each taken from its environment variable (KEYBOX_SECRET_KEY, KEYBOX_JWT_SECRET) or " +
		"its file beside the database. keybox restore FILE puts them back. With the secret key in it, the " +
		"archive can sign licenses: keep it as safe as the server, or leave the secrets out with --no-secrets " +
		"and keep them elsewhere. FILE must not exist. For PostgreSQL use pg_dump.",
	setup: func(fs *flag.FlagSet) func(context.Context, *session, []string) error {
		dbURL := fs.String("database-url", "", "sqlite://PATH (KEYBOX_DATABASE_URL)")
		noSecrets := fs.Bool("no-secrets", false, "leave the secret key and the JWT secret out (keep them elsewhere)")
		return func(ctx context.Context, s *session, args []string) error {
			path, err := sqliteFile(s.databaseURL(*dbURL), errors.New("backup copies the embedded SQLite database only; "+
				"for PostgreSQL use pg_dump, e.g. pg_dump --format=custom --file=keybox.dump \"$KEYBOX_DATABASE_URL\", and "+
				"keep KEYBOX_SECRET_KEY and KEYBOX_JWT_SECRET with it: without the secret key a restored database cannot sign"))
			if err != nil {
				return err
			}
			var secrets []keptSecretValue
			if !*noSecrets {
				if secrets, err = s.backupSecrets(path); err != nil {
					return err
				}
			}
			sum, err := writeBackup(ctx, path, args[0], secrets)
			if err != nil {
				return err
			}
			return s.reportBackup(path, args[0], *noSecrets, sum)
		}
	},
}}

// keptSecretValue is a secret a backup holds, and where it came from.
type keptSecretValue struct {
	member string // backupSecretKey or backupJWTSecret
	value  []byte
	from   string // "KEYBOX_SECRET_KEY", or the file's path
}

// backupSecrets reads the secrets a server on this database uses: each from
// its environment variable, else from its file beside the database.
func (c cli) backupSecrets(dbPath string) ([]keptSecretValue, error) {
	var out []keptSecretValue
	for _, s := range []struct{ member, env string }{
		{backupSecretKey, "KEYBOX_SECRET_KEY"}, {backupJWTSecret, "KEYBOX_JWT_SECRET"},
	} {
		if v := c.getenv(s.env); v != "" {
			out = append(out, keptSecretValue{member: s.member, value: []byte(v), from: s.env})
			continue
		}
		file := filepath.Join(filepath.Dir(dbPath), s.member)
		b, err := os.ReadFile(file)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", file, err)
		}
		if v := strings.TrimSpace(string(b)); v != "" {
			out = append(out, keptSecretValue{member: s.member, value: []byte(v), from: file})
		}
	}
	return out, nil
}

// backupSummary is what writeBackup did.
type backupSummary struct {
	bytes int64
	// held names the secrets in the archive, and where each came from.
	held map[string]string
}

// writeBackup writes the archive: a consistent copy of the database, made
// beside dest and checked against the secret key when there is one, then
// the secrets; the archive is moved into place whole, never replacing a file.
func writeBackup(ctx context.Context, dbPath, dest string, secrets []keptSecretValue) (backupSummary, error) {
	sum := backupSummary{held: map[string]string{}}
	if _, err := os.Lstat(dest); err == nil {
		return sum, fmt.Errorf("%s already exists; choose a new file name", dest)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return sum, err
	}
	copyPath, err := tempName(dest, "database")
	if err != nil {
		return sum, err
	}
	defer os.Remove(copyPath)
	if err := sqlite.Backup(ctx, dbPath, copyPath); err != nil {
		return sum, err
	}
	for _, s := range secrets {
		if s.member == backupSecretKey {
			if err := checkSecretKey(ctx, copyPath, s.value); errors.Is(err, licensing.ErrSealedKey) {
				return sum, fmt.Errorf("the secret key from %s does not decrypt this database's signing keys, so a restore "+
					"of this backup could not sign: give the secret the server uses (KEYBOX_SECRET_KEY, or the %s file "+
					"beside the database), or back up with --no-secrets", s.from, secretKeyFile)
			} else if err != nil {
				return sum, err
			}
		}
	}
	// The copy alone, its log folded in, is the whole database.
	if err := sqlite.Settle(ctx, copyPath); err != nil {
		return sum, err
	}

	tmp, err := tempName(dest, "partial")
	if err != nil {
		return sum, err
	}
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return sum, fmt.Errorf("write the backup: %w", err)
	}
	defer os.Remove(tmp)
	err = f.Chmod(0o600) // the umask may have taken the owner's own bits away
	if err == nil {
		err = writeArchive(f, compressed(dest), copyPath, secrets)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return sum, fmt.Errorf("write the backup: %w", err)
	}
	// A link, unlike a rename, never replaces a file that appeared meanwhile.
	if err := os.Link(tmp, dest); err != nil {
		return sum, fmt.Errorf("move the backup into place: %w", err)
	}
	if err := syncDir(filepath.Dir(dest)); err != nil {
		return sum, err
	}
	st, err := os.Stat(dest)
	if err != nil {
		return sum, err
	}
	sum.bytes = st.Size()
	for _, s := range secrets {
		sum.held[s.member] = s.from
	}
	return sum, nil
}

// compressed reports whether a backup's name asks for gzip.
func compressed(name string) bool {
	return strings.HasSuffix(name, ".gz") || strings.HasSuffix(name, ".tgz")
}

// writeArchive writes the database copy and the secrets as a tar archive.
func writeArchive(w io.Writer, gz bool, dbCopy string, secrets []keptSecretValue) error {
	var zw *gzip.Writer
	if gz {
		zw = gzip.NewWriter(w)
		w = zw
	}
	tw := tar.NewWriter(w)
	now := time.Now().UTC().Truncate(time.Second)
	db, err := os.Open(dbCopy)
	if err != nil {
		return err
	}
	defer db.Close()
	st, err := db.Stat()
	if err != nil {
		return err
	}
	if err := tw.WriteHeader(&tar.Header{Name: backupDatabase, Mode: 0o600, Size: st.Size(), ModTime: now, Typeflag: tar.TypeReg}); err != nil {
		return err
	}
	if _, err := io.Copy(tw, db); err != nil {
		return err
	}
	for _, s := range secrets {
		body := append(append([]byte{}, s.value...), '\n')
		if err := tw.WriteHeader(&tar.Header{Name: s.member, Mode: 0o600, Size: int64(len(body)), ModTime: now, Typeflag: tar.TypeReg}); err != nil {
			return err
		}
		if _, err := tw.Write(body); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	if zw != nil {
		return zw.Close()
	}
	return nil
}

// reportBackup says what the backup holds and what a restore of it will
// need; it warns, on standard error, when a secret was not found.
func (s *session) reportBackup(dbPath, dest string, noSecrets bool, sum backupSummary) error {
	need := "A restore needs the secret this database's signing keys are encrypted with: keep KEYBOX_SECRET_KEY, " +
		"or the " + secretKeyFile + " file beside the database, somewhere safe and apart from the backup " +
		"(keybox restore takes it from KEYBOX_SECRET_KEY)."
	notes := []string{}
	warnings := []string{}
	switch _, held := sum.held[backupSecretKey]; {
	case held:
		notes = append(notes, "With the secret key in it, the backup can sign licenses: keep it as safe as the server itself.")
	case noSecrets:
		notes = append(notes, "The secrets were left out (--no-secrets). "+need)
	default:
		warnings = append(warnings, dest+" holds no secret key: KEYBOX_SECRET_KEY is not set and there is no "+
			secretKeyFile+" file beside the database. "+need)
	}
	if _, ok := sum.held[backupJWTSecret]; !ok && !noSecrets {
		warnings = append(warnings, dest+" holds no JWT secret (KEYBOX_JWT_SECRET is not set and there is no "+
			jwtSecretFile+" file beside the database): after a restore, everyone logs in again.")
	}
	for _, w := range warnings {
		fmt.Fprintln(s.stderr, "keybox: warning:", w)
	}
	held := []string{"the database"}
	for _, m := range []string{backupSecretKey, backupJWTSecret} {
		if from, ok := sum.held[m]; ok {
			held = append(held, fmt.Sprintf("the %s (from %s)", secretNames[m], from))
		}
	}
	out := map[string]any{"database": dbPath, "backup": dest, "bytes": sum.bytes, "secrets": sum.held, "notes": notes, "warnings": warnings}
	return s.emit(out, func(w io.Writer) {
		fmt.Fprintf(w, "Backed up %s to %s (%d bytes): %s.\n", dbPath, dest, sum.bytes, joinAnd(held))
		for _, n := range notes {
			fmt.Fprintln(w, n)
		}
	})
}

// joinAnd joins "a", "b" and "c" as "a, b and c".
func joinAnd(items []string) string {
	if len(items) < 2 {
		return strings.Join(items, "")
	}
	return strings.Join(items[:len(items)-1], ", ") + " and " + items[len(items)-1]
}

// checkSecretKey reports whether secret opens the signing key of the
// database file at path: licensing.ErrSealedKey when it does not. A
// database with no signing key yet passes (the server makes one).
func checkSecretKey(ctx context.Context, path string, secret []byte) error {
	store, err := sqlite.Open(ctx, path, sqlstore.Options{})
	if err != nil {
		return err
	}
	defer store.Close()
	svc, err := serviceOver(store, secret)
	if err != nil {
		return err
	}
	if err := svc.CheckSigningKey(ctx); errors.Is(err, licensing.ErrSealedKey) {
		return licensing.ErrSealedKey
	}
	return nil
}

// syncDir flushes a directory's entries to stable storage.
func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}
