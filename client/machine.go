package client

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// MachineIDEnv names the variable that overrides the machine id: containers
// share their host's /etc/machine-id, or have none.
const MachineIDEnv = "KEYBOX_MACHINE_ID"

// machineIDFiles are where systemd and D-Bus keep the host's id.
var machineIDFiles = []string{"/etc/machine-id", "/var/lib/dbus/machine-id"}

// MachineID identifies this machine to KeyBox: KEYBOX_MACHINE_ID as it is
// when set, otherwise the SHA-256 (hex) of the host's machine id, so that the
// raw id, which other software may use as a secret, never leaves the host.
// It is the same for every program on the machine and survives reboots.
func MachineID() (string, error) {
	return machineID(os.Getenv, machineIDFiles)
}

func machineID(getenv func(string) string, files []string) (string, error) {
	if id := strings.TrimSpace(getenv(MachineIDEnv)); id != "" {
		return id, nil
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		if raw := strings.TrimSpace(string(b)); raw != "" {
			sum := sha256.Sum256([]byte(raw))
			return hex.EncodeToString(sum[:]), nil
		}
	}
	return "", fmt.Errorf("client: no machine id in %s; set %s (or LicenseOptions.MachineID)",
		strings.Join(files, " or "), MachineIDEnv)
}

// InstanceID returns the id kept in path, creating the file with a random id
// on first use, so that an installation keeps its identity across restarts.
// Keep the file on a volume that outlives the container, or an instance
// that loses it looks like a new one and needs a seat of its own.
func InstanceID(path string) (string, error) {
	if b, err := os.ReadFile(path); err == nil {
		if id := strings.TrimSpace(string(b)); id != "" {
			return id, nil
		}
		return "", fmt.Errorf("client: instance id file %s is empty; delete it to get a new id", path)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("client: read instance id: %w", err)
	}
	var raw [16]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", fmt.Errorf("client: instance id: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", fmt.Errorf("client: instance id: %w", err)
	}
	// Write a temporary file and link it into place: a concurrent first
	// start either wins or reads the winner's id, and no reader ever sees a
	// half-written file.
	tmp, err := os.CreateTemp(filepath.Dir(path), ".instance-id-*")
	if err != nil {
		return "", fmt.Errorf("client: instance id: %w", err)
	}
	defer os.Remove(tmp.Name())
	id := hex.EncodeToString(raw[:])
	if _, err := tmp.WriteString(id + "\n"); err != nil {
		_ = tmp.Close()
		return "", fmt.Errorf("client: write instance id: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		_ = tmp.Close()
		return "", fmt.Errorf("client: write instance id: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return "", fmt.Errorf("client: write instance id: %w", err)
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return InstanceID(path)
		}
		return "", fmt.Errorf("client: write instance id: %w", err)
	}
	return id, nil
}
