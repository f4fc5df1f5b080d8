package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/keyboxhq/keybox"
	"github.com/keyboxhq/keybox/client"
)

// checkoutCommand is keybox checkout KEY: what an application does to run
// offline, from the command line (for a machine that cannot reach KeyBox,
// say, or to look at a file).
var checkoutCommand = []command{{
	args: "KEY",
	help: "Get a signed license file for KEY on a machine that holds a seat, and write it to --out " +
		"(mode 0600) or to standard output. The machine id is --machine-id, else KEYBOX_MACHINE_ID, else " +
		"this machine's id as the Go SDK computes it (the SHA-256 of /etc/machine-id). --activate takes " +
		"the seat first. The file is verified against the public keys (--public-keys, else the server's) " +
		"before it is written. It needs no login: it is the public license API.",
	setup: func(fs *flag.FlagSet) func(context.Context, *session, []string) error {
		machine := fs.String("machine-id", "", "the machine the file is for (default: KEYBOX_MACHINE_ID, else this machine's id)")
		instance := fs.String("instance-id", "", "the installation on that machine, when its seat has one")
		product := fs.String("product", "", "the product name the key is bound to, when it is")
		out := fs.String("out", "", "write the file here, mode 0600, replacing it (default: standard output)")
		ttl := fs.Duration("ttl", 0, "how long the file is valid, e.g. 720h (default: the server's, 30 days; never past the license)")
		activate := fs.Bool("activate", false, "activate the key on the machine first (takes a seat)")
		keysFile := fs.String("public-keys", "", "verify with the public keys in this file (a saved answer of GET /validate/public-keys)")
		return func(ctx context.Context, s *session, args []string) error {
			if *ttl < 0 {
				return usageError("checkout: --ttl must not be negative")
			}
			id, err := s.machineID(*machine)
			if err != nil {
				return err
			}
			keys, err := verificationKeys(ctx, s, *keysFile)
			if err != nil {
				return err
			}
			lc, err := client.NewLicenseClient(s.server, args[0], client.LicenseOptions{
				HTTPClient: s.http, MachineID: id, InstanceID: *instance, ProductName: *product,
				UserAgent: userAgent(), PublicKeys: keys,
			})
			if err != nil {
				return err
			}
			if *activate {
				if _, err := lc.Activate(ctx); err != nil {
					return fmt.Errorf("activate: %w", err)
				}
			}
			text, f, err := lc.Checkout(ctx, *ttl)
			if err != nil {
				return err
			}
			if *out == "" {
				if s.json {
					return s.emit(checkedOut{License: text, File: f}, nil)
				}
				// The file alone: keybox checkout KEY > license.txt
				_, err := io.WriteString(s.stdout, text)
				return err
			}
			if err := writePrivateFile(*out, []byte(text)); err != nil {
				return err
			}
			return s.emit(checkedOut{Path: *out, File: f}, func(w io.Writer) {
				fmt.Fprintf(w, "Wrote the license file for %s on machine %s to %s; it is valid until %s.\n",
					f.Key, f.MachineID, *out, when(f.ExpiresAt))
			})
		}
	},
}}

// checkedOut is keybox checkout's answer in JSON.
type checkedOut struct {
	License string             `json:"license,omitempty"`
	Path    string             `json:"path,omitempty"`
	File    keybox.LicenseFile `json:"file"`
}

// machineID is the flag's, else the same id the Go SDK sends.
func (s *session) machineID(flagValue string) (string, error) {
	if id := firstOf(strings.TrimSpace(flagValue), strings.TrimSpace(s.getenv(client.MachineIDEnv))); id != "" {
		return id, nil
	}
	id, err := client.MachineID()
	if err != nil {
		return "", fmt.Errorf("%w, or give --machine-id", err)
	}
	return id, nil
}
