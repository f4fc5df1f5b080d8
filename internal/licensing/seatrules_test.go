package licensing_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/keyboxhq/keybox"
	"github.com/keyboxhq/keybox/internal/licensing"
	"github.com/keyboxhq/keybox/internal/storetest"
)

// seatCase is one request to the public license API against a license that
// already has some seats.
type seatCase struct {
	name    string
	seats   int               // the license's maxMachines
	require bool              // the license's requireMachineId
	taken   []licensing.Check // activations made first (the key is filled in)
	op      string            // activate, validate, deactivate or checkout
	sent    licensing.Check
	want    string // an error's message, a verdict's status, or activated/already/released/issued
}

// TestSeatRules drives activate, validate, deactivate and checkout through
// the service on each engine: a seat's empty machine id is never a
// wildcard, instance ids count only when both sides have one, and a license
// that requires a machine id refuses requests without one.
func TestSeatRules(t *testing.T) {
	const (
		otherMachine  = "License already activated on another machine"
		otherInstance = "License already activated on another instance"
		notHere       = "License is not activated on this machine"
		machineNeeded = "Machine ID is required"
	)
	none := []licensing.Check{{}}
	m1i1 := []licensing.Check{{MachineID: "m1", InstanceID: "i1"}}
	cases := []seatCase{
		// A seat taken without a machine id answers only for requests without one.
		{"id-less seat: another machine may not activate", 1, false, none, "activate", licensing.Check{MachineID: "m2"}, otherMachine},
		{"id-less seat: another machine is a mismatch", 1, false, none, "validate", licensing.Check{MachineID: "m2"}, licensing.VerdictMachineMismatch},
		{"id-less seat: another machine gets no file", 1, false, none, "checkout", licensing.Check{MachineID: "m2"}, notHere},
		{"id-less seat: another machine releases nothing", 1, false, none, "deactivate", licensing.Check{MachineID: "m2"}, notHere},
		{"id-less seat: an id-less request is its own", 1, false, none, "validate", licensing.Check{}, licensing.VerdictActive},
		{"id-less seat: activating again is idempotent", 1, false, none, "activate", licensing.Check{}, "already"},
		{"id-less seat: an id-less request releases it", 1, false, none, "deactivate", licensing.Check{}, "released"},
		{"id-less seat: a free seat goes to another machine", 2, false, none, "activate", licensing.Check{MachineID: "m2"}, "activated"},
		// The reverse: a request without a machine id is not a machine's.
		{"machine's seat: id-less activation refused", 1, false, m1i1, "activate", licensing.Check{}, otherMachine},
		{"machine's seat: id-less validation is a mismatch", 1, false, m1i1, "validate", licensing.Check{}, licensing.VerdictMachineMismatch},
		{"machine's seat: the instance alone is not the machine", 1, false, m1i1, "validate", licensing.Check{InstanceID: "i1"}, licensing.VerdictMachineMismatch},
		{"machine's seat: id-less release refused", 1, false, m1i1, "deactivate", licensing.Check{}, notHere},
		{"machine's seat: checkout needs the machine", 1, false, m1i1, "checkout", licensing.Check{}, machineNeeded},
		// Instances.
		{"same machine, another instance: activation", 1, false, m1i1, "activate", licensing.Check{MachineID: "m1", InstanceID: "i2"}, otherInstance},
		{"same machine, another instance: validation", 1, false, m1i1, "validate", licensing.Check{MachineID: "m1", InstanceID: "i2"}, licensing.VerdictInstanceMismatch},
		{"same machine, no instance sent", 1, false, m1i1, "validate", licensing.Check{MachineID: "m1"}, licensing.VerdictActive},
		{"same machine, no instance sent: checkout", 1, false, m1i1, "checkout", licensing.Check{MachineID: "m1"}, "issued"},
		{"same machine and instance: activation", 1, false, m1i1, "activate", licensing.Check{MachineID: "m1", InstanceID: "i1"}, "already"},
		{"no machines, another instance: validation", 1, false, []licensing.Check{{InstanceID: "i1"}}, "validate", licensing.Check{InstanceID: "i2"}, licensing.VerdictInstanceMismatch},
		{"no machines, another instance: activation", 1, false, []licensing.Check{{InstanceID: "i1"}}, "activate", licensing.Check{InstanceID: "i2"}, otherInstance},
		{"no machines, same instance", 1, false, []licensing.Check{{InstanceID: "i1"}}, "validate", licensing.Check{InstanceID: "i1"}, licensing.VerdictActive},
		{"another machine, same instance id", 1, false, m1i1, "activate", licensing.Check{MachineID: "m2", InstanceID: "i1"}, otherMachine},
		// Products count only when both sides name one.
		{"product bound, another sent", 1, false, []licensing.Check{{MachineID: "m1", ProductName: "Desk"}}, "validate", licensing.Check{MachineID: "m1", ProductName: "Web"}, licensing.VerdictInvalid},
		{"product bound, none sent", 1, false, []licensing.Check{{MachineID: "m1", ProductName: "Desk"}}, "validate", licensing.Check{MachineID: "m1"}, licensing.VerdictActive},
		// A license that requires a machine id.
		{"required: id-less activation", 1, true, nil, "activate", licensing.Check{}, machineNeeded},
		{"required: an instance is not a machine", 1, true, nil, "activate", licensing.Check{InstanceID: "i1"}, machineNeeded},
		{"required: activation with a machine", 1, true, nil, "activate", licensing.Check{MachineID: "m1"}, "activated"},
		{"required: id-less validation", 1, true, m1i1, "validate", licensing.Check{}, machineNeeded},
		{"required: validation with the machine", 1, true, m1i1, "validate", licensing.Check{MachineID: "m1"}, licensing.VerdictActive},
		{"required: id-less release", 1, true, m1i1, "deactivate", licensing.Check{InstanceID: "i1"}, machineNeeded},
		{"required: release with the machine", 1, true, m1i1, "deactivate", licensing.Check{MachineID: "m1"}, "released"},
		{"required: id-less checkout", 1, true, m1i1, "checkout", licensing.Check{}, machineNeeded},
		{"required: checkout with the machine", 1, true, m1i1, "checkout", licensing.Check{MachineID: "m1"}, "issued"},
	}
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
			svc := newService(t, e.Open(t), &now)
			ctx := context.Background()
			if err := svc.EnsureSigningKey(ctx); err != nil {
				t.Fatal(err)
			}
			u, project := developerWithProject(t, svc)
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					require := tc.require
					l, err := svc.CreateLicense(ctx, u, licensing.NewLicense{Duration: licensing.Num(1),
						ClientID: licensing.Str(project.ClientID), ProjectID: licensing.Str(project.ID),
						MaxMachines: licensing.Num(tc.seats), RequireMachineID: &require})
					if err != nil {
						t.Fatal(err)
					}
					for _, c := range tc.taken {
						c.Key = l.Key
						if _, err := svc.Activate(ctx, c); err != nil {
							t.Fatalf("taking seat %+v: %v", c, err)
						}
					}
					sent := tc.sent
					sent.Key = l.Key
					got := runSeatOp(ctx, t, svc, tc.op, sent)
					if got != tc.want {
						t.Fatalf("%s %+v with seats %+v: got %q, want %q", tc.op, tc.sent, tc.taken, got, tc.want)
					}
					// A refusal changes nothing; an activation adds one seat,
					// a release removes one.
					want := len(tc.taken)
					switch got {
					case "activated":
						want++
					case "released":
						want--
					}
					if v, err := svc.License(ctx, u, l.Key); err != nil || len(v.Activations) != want {
						t.Fatalf("seats after %s: %d (%v), want %d", tc.op, len(v.Activations), err, want)
					}
				})
			}
		})
	}
}

// runSeatOp runs one public API call and names its outcome.
func runSeatOp(ctx context.Context, t *testing.T, svc *licensing.Service, op string, c licensing.Check) string {
	t.Helper()
	var err error
	outcome := ""
	switch op {
	case "activate":
		var a licensing.Activation
		a, err = svc.Activate(ctx, c)
		outcome = "activated"
		if a.Already {
			outcome = "already"
		}
	case "validate":
		var v licensing.Verdict
		v, err = svc.Validate(ctx, c)
		outcome = v.Status
	case "deactivate":
		err, outcome = svc.Deactivate(ctx, c), "released"
	case "checkout":
		_, _, err = svc.Checkout(ctx, licensing.CheckoutInput{Check: c})
		outcome = "issued"
	default:
		t.Fatalf("unknown operation %q", op)
	}
	if err != nil {
		var e *keybox.Error
		if !errors.As(err, &e) {
			t.Fatalf("%s: unexpected error %v", op, err)
		}
		return e.Message
	}
	return outcome
}

// developerWithProject makes a developer with one client and one project.
func developerWithProject(t testing.TB, svc *licensing.Service) (keybox.User, keybox.Project) {
	t.Helper()
	ctx := context.Background()
	u, err := svc.CreateUser(ctx, licensing.SignupInput{
		Name: licensing.Str("Ada"), Email: licensing.Str("ada@example.com"),
		Password: licensing.Str("password1"), ConfirmPassword: licensing.Str("password1"),
	}, "")
	if err != nil {
		t.Fatal(err)
	}
	c, err := svc.CreateClient(ctx, u, licensing.ClientInput{Name: licensing.Str("Acme"), Email: licensing.Str("acme@example.com")})
	if err != nil {
		t.Fatal(err)
	}
	p, err := svc.CreateProject(ctx, u, licensing.NewProject{ClientID: licensing.Str(c.ID), Name: licensing.Str("App")})
	if err != nil {
		t.Fatal(err)
	}
	return u, p
}
