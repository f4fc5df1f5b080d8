package main

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
)

// writeSecretFile creates path holding data, readable and writable by its
// owner alone (0600) whatever the umask and the directory's mode, and
// flushes it to disk. It never replaces a file: when path exists it fails
// with an error matching fs.ErrExist (another process wrote its secret
// first; read that one). Every secret KeyBox keeps in a file goes through it.
func writeSecretFile(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	// The umask may have taken the owner's own bits away.
	err = f.Chmod(0o600)
	if err == nil {
		_, err = f.Write(data)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(path) // a half-written secret would be read as the secret
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// writePrivateFile replaces path with data, readable by its owner alone:
// written beside it, then renamed into place, so that a reader never sees
// half a file.
func writePrivateFile(path string, data []byte) error {
	tmp, err := tempName(path, "partial")
	if err != nil {
		return err
	}
	if err := writeSecretFile(tmp, data); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// tempName is a fresh name beside path, for a file that becomes path (or
// helps make it) once whole.
func tempName(path, what string) (string, error) {
	var r [6]byte
	if _, err := rand.Read(r[:]); err != nil {
		return "", err
	}
	return filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+"."+what+"-"+hex.EncodeToString(r[:])), nil
}
