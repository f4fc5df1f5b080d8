package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/keyboxhq/keybox"
	"github.com/keyboxhq/keybox/client"
)

// licenseCommands are keybox licenses …: keys and their seats (/license/…).
var licenseCommands = []command{
	{name: "list", help: "List your licenses, newest first, with their status now.",
		setup: func(fs *flag.FlagSet) func(context.Context, *session, []string) error {
			var opts client.LicenseListOptions
			fs.StringVar(&opts.ClientID, "client", "", "only this client's licenses (client id)")
			fs.StringVar(&opts.ProjectID, "project", "", "only this project's licenses (project id)")
			status := fs.String("status", "", "only PENDING, ACTIVE, EXPIRED or REVOKED licenses")
			pages := listFlags(fs)
			return func(ctx context.Context, s *session, _ []string) error {
				opts.Status = keybox.Status(*status)
				got, err := fetchList(ctx, s, pages, func(l keybox.License) string { return l.Key },
					func(ctx context.Context, o client.ListOptions) (pageOf[keybox.License], error) {
						opts.ListOptions = o
						l, err := s.api.Licenses(ctx, opts)
						return pageOf[keybox.License]{l.Licenses, l.Total, l.Page, l.Limit}, err
					})
				if err != nil {
					return err
				}
				out := client.LicenseList{Licenses: got.items, Total: got.total, Page: got.page, Limit: got.limit}
				return emitList(s, pages, got, out, func(w io.Writer) { licenseTable(w, got.items) })
			}
		}},
	{name: "get", args: "KEY", help: "Show a license and the machines it is activated on.",
		setup: func(*flag.FlagSet) func(context.Context, *session, []string) error {
			return func(ctx context.Context, s *session, args []string) error {
				d, err := s.api.License(ctx, args[0])
				if err != nil {
					return err
				}
				return s.emit(d, func(w io.Writer) {
					licenseFields(w, d.License)
					fields(w, "seats in use", fmt.Sprintf("%d of %d", d.SeatsInUse, d.License.MaxMachines))
					row(w, "")
					activationTable(w, d.Activations)
				})
			}
		}},
	{name: "create", help: "Issue a PENDING license for a project: --client, --project, --duration.",
		setup: func(fs *flag.FlagSet) func(context.Context, *session, []string) error {
			var in client.NewLicense
			fs.StringVar(&in.ClientID, "client", "", "client id")
			fs.StringVar(&in.ProjectID, "project", "", "project id (one of the client's)")
			fs.IntVar(&in.Duration, "duration", 12, "months, 1-12; the clock starts at the first activation")
			svc := fs.String("services", "", "comma-separated services: Hosting, Domain (default Hosting)")
			fs.IntVar(&in.MaxMachines, "max-machines", 0, "seats: machines the key may be activated on (default 1)")
			fs.StringVar(&in.Key, "key", "", "import this key instead of generating one")
			fs.StringVar(&in.ProductName, "product", "", "bind the key to this product name")
			t := termFlags(fs, "the project's policy")
			return func(ctx context.Context, s *session, _ []string) error {
				in.Services = parseServices(*svc)
				var err error
				if in.RequireMachineID, in.LeaseSeconds, in.Entitlements, in.Metadata, err = t.values(); err != nil {
					return err
				}
				l, err := s.api.CreateLicense(ctx, in)
				if err != nil {
					return err
				}
				return s.emit(l, func(w io.Writer) { licenseFields(w, l) })
			}
		}},
	{name: "revoke", args: "KEY", help: "Revoke a license, or restore a revoked one (a toggle).",
		setup: func(*flag.FlagSet) func(context.Context, *session, []string) error {
			return func(ctx context.Context, s *session, args []string) error {
				t, err := s.api.ToggleRevoke(ctx, args[0])
				if err != nil {
					return err
				}
				return s.emit(t, func(w io.Writer) { fmt.Fprintln(w, t.Message) })
			}
		}},
	{name: "renew", args: "KEY", help: "Add --duration months to a license (an EXPIRED one becomes ACTIVE).",
		setup: func(fs *flag.FlagSet) func(context.Context, *session, []string) error {
			months := fs.Int("duration", 12, "months to add, 1-12")
			return func(ctx context.Context, s *session, args []string) error {
				l, err := s.api.RenewLicense(ctx, args[0], *months)
				if err != nil {
					return err
				}
				return s.emit(l, func(w io.Writer) { licenseFields(w, l) })
			}
		}},
	{name: "update", args: "KEY", help: "Change a license's --max-machines, --services, --product, --duration (before activation),\n" +
		"--lease-seconds, --entitlements, --metadata or --require-machine-id.",
		setup: func(fs *flag.FlagSet) func(context.Context, *session, []string) error {
			var seats, months intFlag
			var product stringFlag
			fs.Var(&seats, "max-machines", "seats, 1-1000; not below the seats in use")
			fs.Var(&months, "duration", "months, 1-12, of a license not yet activated")
			svc := fs.String("services", "", "comma-separated services: Hosting, Domain")
			fs.Var(&product, "product", "product name (empty to unbind)")
			t := termFlags(fs, "the license's own")
			return func(ctx context.Context, s *session, args []string) error {
				in := client.LicenseUpdate{Services: parseServices(*svc), ProductName: product.ptr(), MaxMachines: seats.ptr(), Duration: months.ptr()}
				var err error
				if in.RequireMachineID, in.LeaseSeconds, in.Entitlements, in.Metadata, err = t.values(); err != nil {
					return err
				}
				if in.MaxMachines == nil && in.Services == nil && in.ProductName == nil && in.Duration == nil && !t.given() {
					return usageError("licenses update: give --max-machines, --services, --product, --duration, --lease-seconds, " +
						"--entitlements, --metadata or --require-machine-id")
				}
				l, err := s.api.UpdateLicense(ctx, args[0], in)
				if err != nil {
					return err
				}
				return s.emit(l, func(w io.Writer) { licenseFields(w, l) })
			}
		}},
	{name: "free-seat", args: "KEY ACTIVATION_ID", help: "Free a seat (a customer's lost laptop); ids are in licenses get.",
		setup: func(*flag.FlagSet) func(context.Context, *session, []string) error {
			return func(ctx context.Context, s *session, args []string) error {
				if err := s.api.RemoveActivation(ctx, args[0], args[1]); err != nil {
					return err
				}
				return s.say("Activation removed")
			}
		}},
}

// terms are the flags that set a license's (or a policy's) terms; each is
// sent only when given.
type terms struct {
	lease            intFlag
	codes, metadata  stringFlag
	requireMachineID boolFlag
}

func termFlags(fs *flag.FlagSet, otherwise string) *terms {
	t := &terms{}
	suffix := ""
	if otherwise != "" {
		suffix = "; default " + otherwise
	}
	fs.Var(&t.lease, "lease-seconds", "floating seats: a seat lapses after this many silent seconds (60-31536000; 0 for none)"+suffix)
	fs.Var(&t.codes, "entitlements", "comma-separated entitlement codes, e.g. pro,export (\"\" for none)"+suffix)
	if otherwise != "" {
		fs.Var(&t.metadata, "metadata", `a JSON object kept on the license, e.g. '{"plan":"gold"}' ('{}' clears it)`)
	}
	fs.Var(&t.requireMachineID, "require-machine-id", "refuse public API calls without a machine id (=false to allow them)"+suffix)
	return t
}

// given reports whether any term flag was given.
func (t *terms) given() bool {
	return t.lease.set || t.codes.set || t.metadata.set || t.requireMachineID.set
}

// values returns the terms given (nil for those that were not).
func (t *terms) values() (*bool, *int, []string, json.RawMessage, error) {
	var codes []string
	if t.codes.set {
		codes = splitCodes(t.codes.value)
	}
	var meta json.RawMessage
	if t.metadata.set {
		if !json.Valid([]byte(t.metadata.value)) {
			return nil, nil, nil, nil, usageError("--metadata: not JSON: " + t.metadata.value)
		}
		meta = json.RawMessage(t.metadata.value)
	}
	return t.requireMachineID.ptr(), t.lease.ptr(), codes, meta, nil
}

// splitCodes reads --entitlements pro,export; "" is none (not nil).
func splitCodes(s string) []string {
	out := []string{}
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// codes shows entitlements; "-" for none.
func codes(list []string) string { return dash(strings.Join(list, ",")) }

// lease shows a lease in seconds; "-" for none.
func lease(seconds int) string {
	if seconds <= 0 {
		return "-"
	}
	return (time.Duration(seconds) * time.Second).String()
}

func licenseTable(w io.Writer, ls []keybox.License) {
	row(w, "KEY", "STATUS", "MONTHS", "EXPIRES", "SEATS", "SERVICES", "PRODUCT", "PROJECT")
	for _, l := range ls {
		row(w, l.Key, string(l.Status), fmt.Sprint(l.Duration), when(l.ExpiresAt), fmt.Sprint(l.MaxMachines),
			services(l.Services), dash(string(l.ProductName)), l.ProjectID)
	}
}

func licenseFields(w io.Writer, l keybox.License) {
	meta := "-"
	if m := string(l.Metadata); m != "" && m != "{}" {
		meta = m
	}
	fields(w, "key", l.Key, "status", string(l.Status), "duration", fmt.Sprintf("%d months", l.Duration),
		"services", services(l.Services), "seats", fmt.Sprint(l.MaxMachines), "product", dash(string(l.ProductName)),
		"lease", lease(l.LeaseSeconds), "entitlements", codes(l.Entitlements), "metadata", meta,
		"machine id required", fmt.Sprint(l.RequireMachineID),
		"client", l.ClientID, "project", l.ProjectID, "issued", when(l.IssuedAt), "activated", when(l.ActivatedAt),
		"expires", when(l.ExpiresAt), "license", l.ID)
}

func activationTable(w io.Writer, acts []keybox.Activation) {
	row(w, "ACTIVATION", "MACHINE", "INSTANCE", "ACTIVATED", "LAST SEEN", "LEASE EXPIRES")
	for _, a := range acts {
		row(w, a.ID, dash(a.MachineID), dash(a.InstanceID), when(a.ActivatedAt), when(a.LastValidatedAt), when(a.LeaseExpiresAt))
	}
}
