package main

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"

	"github.com/keyboxhq/keybox/internal/licensing"
	"github.com/keyboxhq/keybox/internal/sqlite"
)

// restoreCommand is keybox restore FILE.
var restoreCommand = []command{{
	args: "FILE", offline: true,
	help: "Put back a backup as the embedded SQLite database, with its secrets; stop the server first. " +
		"FILE is an archive made by keybox backup, or a copy of the database file alone; the database goes to " +
		"KEYBOX_DATABASE_URL and the secrets the backup holds beside it " +
		"(secret-key, jwt-secret; mode 0600) unless KEYBOX_SECRET_KEY or KEYBOX_JWT_SECRET gives them. " +
		"Restore refuses a database in use, and it refuses a file that is not a KeyBox " +
		"database, a schema newer than this keybox, and a secret key that does not open the database's " +
		"signing keys; it replaces a database or secret file already there only with --force. For " +
		"PostgreSQL use pg_restore.",
	setup: func(fs *flag.FlagSet) func(context.Context, *session, []string) error {
		dbURL := fs.String("database-url", "", "sqlite://PATH (KEYBOX_DATABASE_URL)")
		force := fs.Bool("force", false, "replace the database and secret files already at the destination")
		lost := fs.Bool("lost-secret", false, "restore although no secret key opens the signing keys (then run keybox keys rotate)")
		return func(ctx context.Context, s *session, args []string) error {
			dbPath, err := sqliteFile(s.databaseURL(*dbURL), errors.New("restore puts back the embedded SQLite database only; "+
				"for PostgreSQL stop the servers and use pg_restore, e.g. pg_restore --clean --dbname \"$KEYBOX_DATABASE_URL\" "+
				"keybox.dump, with KEYBOX_SECRET_KEY and KEYBOX_JWT_SECRET set as they were"))
			if err != nil {
				return err
			}
			r := restore{s: s, file: args[0], dbPath: dbPath, force: *force, lost: *lost}
			return r.run(ctx)
		}
	},
}}

// restore is one run of keybox restore.
type restore struct {
	s            *session
	file, dbPath string
	force, lost  bool
	// staged is the database, written beside its destination.
	staged string
	// secrets are those the backup holds, by member name.
	secrets  map[string][]byte
	warnings []string
}

func (r *restore) run(ctx context.Context) error {
	dir := filepath.Dir(r.dbPath)
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return fmt.Errorf("create the data directory: %w", err)
		}
		// A refused restore leaves nothing behind, this directory included.
		defer func() {
			if _, err := os.Stat(r.dbPath); err != nil {
				_ = os.Remove(dir) // only when empty
			}
		}()
	}
	if err := r.stage(); err != nil {
		return err
	}
	defer os.Remove(r.staged)
	version, err := sqlite.CheckCopy(ctx, r.staged)
	if err != nil {
		return fmt.Errorf("%s: not a KeyBox database this keybox can restore: %w", r.file, err)
	}
	if err := r.checkSecretKey(ctx); err != nil {
		return err
	}
	if err := sqlite.Settle(ctx, r.staged); err != nil {
		return err
	}
	writes, err := r.secretWrites()
	if err != nil {
		return err
	}
	if _, err := os.Stat(r.dbPath); err == nil && !r.force {
		return fmt.Errorf("a database exists at %s: back it up first (keybox backup), then restore with --force to replace it", r.dbPath)
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if err := sqlite.Settle(ctx, r.dbPath); errors.Is(err, sqlite.ErrInUse) {
		return fmt.Errorf("%s is in use: stop the server (every keybox serve on it), then restore again", r.dbPath)
	} else if err != nil {
		return fmt.Errorf("%s: %w (replace it by hand, with the server stopped, if it is damaged)", r.dbPath, err)
	}

	// Nothing is changed before this point.
	for _, suffix := range []string{"-wal", "-shm", "-journal"} {
		if err := os.Remove(r.dbPath + suffix); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	written := []string{}
	for _, w := range writes {
		if err := writePrivateFile(w.path, append(append([]byte{}, w.value...), '\n')); err != nil {
			return err
		}
		written = append(written, w.path)
	}
	if err := os.Rename(r.staged, r.dbPath); err != nil {
		return fmt.Errorf("move the database into place: %w", err)
	}
	if err := syncDir(dir); err != nil {
		return err
	}
	for _, w := range r.warnings {
		fmt.Fprintln(r.s.stderr, "keybox: warning:", w)
	}
	out := map[string]any{"backup": r.file, "database": r.dbPath, "schemaVersion": version, "secretFiles": written, "warnings": r.warnings}
	return r.s.emit(out, func(w io.Writer) {
		fmt.Fprintf(w, "Restored %s to %s (schema version %d).\n", r.file, r.dbPath, version)
		for _, p := range written {
			fmt.Fprintf(w, "Wrote %s.\n", p)
		}
		fmt.Fprintln(w, "Start the server on it: keybox serve.")
	})
}

// maxSecret bounds a secret read from a backup.
const maxSecret = 4096

// stage copies the backup's database beside its destination and reads its
// secrets: from an archive written by keybox backup (gzip-compressed or
// not), or from a database file alone.
func (r *restore) stage() error {
	f, err := os.Open(r.file)
	if err != nil {
		return err
	}
	defer f.Close()
	in := bufio.NewReader(f)
	if magic, _ := in.Peek(2); bytes.Equal(magic, []byte{0x1f, 0x8b}) {
		zr, err := gzip.NewReader(in)
		if err != nil {
			return fmt.Errorf("%s: not a KeyBox backup: %w", r.file, err)
		}
		defer zr.Close()
		in = bufio.NewReader(zr)
	}
	if r.staged, err = tempName(r.dbPath, "restore"); err != nil {
		return err
	}
	head, _ := in.Peek(16)
	if isDB, _ := sqlite.HasHeader(bytes.NewReader(head)); isDB {
		return r.copyDatabase(in)
	}
	r.secrets = map[string][]byte{}
	tr := tar.NewReader(in)
	members, haveDB := 0, false
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			if members == 0 {
				return fmt.Errorf("%s: not a KeyBox backup: neither an archive written by keybox backup nor a SQLite database", r.file)
			}
			return fmt.Errorf("%s: read the backup: %w", r.file, err)
		}
		members++
		if h.Typeflag != tar.TypeReg {
			continue
		}
		switch name := path.Clean(h.Name); name {
		case backupDatabase:
			if haveDB {
				return fmt.Errorf("%s: holds %s twice", r.file, name)
			}
			haveDB = true
			if err := r.copyDatabase(tr); err != nil {
				return err
			}
		case backupSecretKey, backupJWTSecret:
			b, err := io.ReadAll(io.LimitReader(tr, maxSecret+1))
			if err != nil {
				return fmt.Errorf("%s: read %s: %w", r.file, name, err)
			}
			v := bytes.TrimSpace(b)
			if len(b) > maxSecret || len(v) == 0 {
				return fmt.Errorf("%s: %s is not a secret (empty, or over %d bytes)", r.file, name, maxSecret)
			}
			r.secrets[name] = v
		}
	}
	if !haveDB {
		return fmt.Errorf("%s: not a KeyBox backup: it holds no %s", r.file, backupDatabase)
	}
	return nil
}

// copyDatabase writes the staged database, readable by its owner alone.
func (r *restore) copyDatabase(from io.Reader) error {
	f, err := os.OpenFile(r.staged, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	err = f.Chmod(0o600) // the umask may have taken the owner's own bits away
	if err == nil {
		_, err = io.Copy(f, from)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("%s: copy the database: %w", r.file, err)
	}
	return nil
}

// checkSecretKey makes sure the server will open the restored database's
// signing keys, with the secret it will have: KEYBOX_SECRET_KEY, else the
// backup's, else the file already beside the database.
func (r *restore) checkSecretKey(ctx context.Context) error {
	env := r.s.getenv("KEYBOX_SECRET_KEY")
	backup := r.secrets[backupSecretKey]
	file := filepath.Join(filepath.Dir(r.dbPath), secretKeyFile)
	var secret []byte
	var from string
	switch {
	case env != "":
		secret, from = []byte(env), "KEYBOX_SECRET_KEY"
	case backup != nil:
		secret, from = backup, "the backup's secret key"
	default:
		if b, err := os.ReadFile(file); err == nil {
			secret, from = bytes.TrimSpace(b), file
		} else if !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	probe := secret
	if probe == nil {
		// No secret anywhere: that is fine for a database whose keys are not
		// encrypted yet (the server makes a secret at start), which a random
		// secret tells.
		probe = make([]byte, licensing.MinSecretKeyLength)
		if _, err := rand.Read(probe); err != nil {
			return err
		}
	}
	err := checkSecretKey(ctx, r.staged, probe)
	if !errors.Is(err, licensing.ErrSealedKey) {
		return err
	}
	lostHint := "If that secret is lost, restore with --lost-secret, then run keybox keys rotate: a new signing key " +
		"(applications need its public key; files the old one signed keep verifying)."
	var msg string
	switch {
	case secret == nil:
		msg = fmt.Sprintf("%s holds no secret key, KEYBOX_SECRET_KEY is not set and there is no %s beside the database: "+
			"set KEYBOX_SECRET_KEY to the secret the backed-up server used.", r.file, file)
	case env != "" && backup != nil && !bytes.Equal(backup, []byte(env)) && checkSecretKey(ctx, r.staged, backup) == nil:
		msg = "KEYBOX_SECRET_KEY is set, and the server would use it, but it does not open this database's signing keys; " +
			"the backup's own secret key does: unset KEYBOX_SECRET_KEY (restore then writes the backup's beside the " +
			"database) or set it to the backup's."
	default:
		msg = fmt.Sprintf("the secret key (%s) does not open this database's signing keys, so the server would not start on it: "+
			"set KEYBOX_SECRET_KEY to the secret the backed-up server used.", from)
	}
	if !r.lost {
		return fmt.Errorf("%s %s", msg, lostHint)
	}
	r.warnings = append(r.warnings, msg+" Run keybox keys rotate before starting the server.")
	return nil
}

// secretWrite is a secret file restore writes.
type secretWrite struct {
	path  string
	value []byte
}

// secretWrites lists the backup's secrets to write beside the database: not
// one the environment gives (the server reads it there), and not over a
// different file without --force.
func (r *restore) secretWrites() ([]secretWrite, error) {
	var out []secretWrite
	for _, m := range []struct{ member, env string }{
		{backupSecretKey, "KEYBOX_SECRET_KEY"}, {backupJWTSecret, "KEYBOX_JWT_SECRET"},
	} {
		v, ok := r.secrets[m.member]
		file := filepath.Join(filepath.Dir(r.dbPath), m.member)
		if !ok {
			if m.member == backupJWTSecret && r.secrets != nil {
				r.warnings = append(r.warnings, "the backup holds no JWT secret: login tokens issued before it are not accepted; everyone logs in again.")
			}
			continue
		}
		if env := r.s.getenv(m.env); env != "" {
			if m.member == backupJWTSecret && env != string(v) {
				r.warnings = append(r.warnings, "KEYBOX_JWT_SECRET is set and differs from the backup's: login tokens issued before "+
					"the backup are not accepted; everyone logs in again.")
			}
			continue
		}
		old, err := os.ReadFile(file)
		switch {
		case err == nil && bytes.Equal(bytes.TrimSpace(old), v):
			continue // already there
		case err == nil && !r.force:
			return nil, fmt.Errorf("%s exists and differs from the backup's %s: restore with --force to replace it "+
				"(keep a copy if another database needs it)", file, secretNames[m.member])
		case err != nil && !errors.Is(err, fs.ErrNotExist):
			return nil, err
		}
		out = append(out, secretWrite{path: file, value: v})
	}
	return out, nil
}
