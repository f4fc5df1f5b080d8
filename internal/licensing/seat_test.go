package licensing

import (
	"testing"
	"time"

	"github.com/keyboxhq/keybox"
)

// TestMatchSeat: every combination of empty and named ids, on each side.
// An empty id is never a wildcard for a machine; an instance id counts only
// when both sides have one.
func TestMatchSeat(t *testing.T) {
	tests := []struct {
		name                  string
		seatMachine, seatInst string
		sentMachine, sentInst string
		want                  match
	}{
		{"same machine, no instances", "m1", "", "m1", "", ownSeat},
		{"same machine and instance", "m1", "i1", "m1", "i1", ownSeat},
		{"same machine, request without instance", "m1", "i1", "m1", "", ownSeat},
		{"same machine, seat without instance", "m1", "", "m1", "i2", ownSeat},
		{"same machine, another instance", "m1", "i1", "m1", "i2", otherInstance},
		{"another machine", "m1", "", "m2", "", otherMachine},
		{"another machine, same instance", "m1", "i1", "m2", "i1", otherMachine},
		{"seat without machine, request names one", "", "", "m2", "", otherMachine},
		{"seat without machine, request names one and the seat's instance", "", "i1", "m2", "i1", otherMachine},
		{"seat names a machine, request none", "m1", "", "", "", otherMachine},
		{"seat names a machine, request only its instance", "m1", "i1", "", "i1", otherMachine},
		{"no machines, no instances", "", "", "", "", ownSeat},
		{"no machines, same instance", "", "i1", "", "i1", ownSeat},
		{"no machines, another instance", "", "i1", "", "i2", otherInstance},
		{"no machines, request without instance", "", "i1", "", "", ownSeat},
		{"no machines, seat without instance", "", "", "", "i2", ownSeat},
		{"machine ids differ only in case", "M1", "", "m1", "", otherMachine},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			seat := keybox.Activation{MachineID: tc.seatMachine, InstanceID: tc.seatInst}
			c := Check{Key: "K", MachineID: tc.sentMachine, InstanceID: tc.sentInst}
			if got := matchSeat(seat, c); got != tc.want {
				t.Fatalf("seat (%q, %q), request (%q, %q): got %v, want %v",
					tc.seatMachine, tc.seatInst, tc.sentMachine, tc.sentInst, got, tc.want)
			}
		})
	}
}

// TestFindSeat: the request's own seat wins wherever it is; otherwise the
// refusal names the instance only when some seat is this machine (or no
// machine on both sides) on another instance.
func TestFindSeat(t *testing.T) {
	seat := func(machine, instance string) keybox.Activation {
		return keybox.Activation{MachineID: machine, InstanceID: instance}
	}
	tests := []struct {
		name        string
		seats       []keybox.Activation
		sent        Check
		wantIndex   int
		wantClosest match
	}{
		{"no seats", nil, Check{MachineID: "m1"}, -1, otherMachine},
		{"no seats, no machine", nil, Check{}, -1, otherMachine},
		{"own seat after an instance miss", []keybox.Activation{seat("m1", "i1"), seat("m1", "i2")}, Check{MachineID: "m1", InstanceID: "i2"}, 1, ownSeat},
		{"instance miss", []keybox.Activation{seat("m2", ""), seat("m1", "i1")}, Check{MachineID: "m1", InstanceID: "i2"}, -1, otherInstance},
		{"machine miss", []keybox.Activation{seat("m2", ""), seat("m3", "i1")}, Check{MachineID: "m1", InstanceID: "i1"}, -1, otherMachine},
		{"id-less seat is not a wildcard", []keybox.Activation{seat("", "")}, Check{MachineID: "m1"}, -1, otherMachine},
		{"id-less request is not a wildcard", []keybox.Activation{seat("m1", "")}, Check{}, -1, otherMachine},
		{"instance miss without machines", []keybox.Activation{seat("", "i1")}, Check{InstanceID: "i2"}, -1, otherInstance},
		{"id-less request finds the id-less seat", []keybox.Activation{seat("m1", ""), seat("", "")}, Check{}, 1, ownSeat},
		{"exact instance over a seat without one", []keybox.Activation{seat("m1", ""), seat("m1", "i1")}, Check{MachineID: "m1", InstanceID: "i1"}, 1, ownSeat},
		{"seat without instance when none is exact", []keybox.Activation{seat("m1", "i1"), seat("m1", "")}, Check{MachineID: "m1", InstanceID: "i2"}, 1, ownSeat},
		{"first compatible seat for a request without instance", []keybox.Activation{seat("m1", "i1"), seat("m1", "i2")}, Check{MachineID: "m1"}, 0, ownSeat},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			i, closest := findSeat(tc.seats, tc.sent, leaseCheck{})
			if i != tc.wantIndex || closest != tc.wantClosest {
				t.Fatalf("got (%d, %v), want (%d, %v)", i, closest, tc.wantIndex, tc.wantClosest)
			}
		})
	}
}

// TestJudgeSeats: /validate's verdict for an ACTIVE license and its seats.
func TestJudgeSeats(t *testing.T) {
	active := keybox.License{Status: keybox.StatusActive, Duration: 1, MaxMachines: 5,
		ExpiresAt: keybox.NewTime(testNow.AddDate(0, 1, 0))}
	seats := []keybox.Activation{
		{ID: "a", MachineID: "", InstanceID: ""},
		{ID: "b", MachineID: "m1", InstanceID: "i1"},
		{ID: "c", MachineID: "", InstanceID: "i9"},
	}
	tests := []struct {
		name       string
		sent       Check
		wantStatus string
		wantSeat   string
	}{
		{"id-less request, id-less seat", Check{}, VerdictActive, "a"},
		{"machine and instance", Check{MachineID: "m1", InstanceID: "i1"}, VerdictActive, "b"},
		{"machine only", Check{MachineID: "m1"}, VerdictActive, "b"},
		{"another machine", Check{MachineID: "m2"}, VerdictMachineMismatch, ""},
		{"another instance", Check{MachineID: "m1", InstanceID: "i2"}, VerdictInstanceMismatch, ""},
		{"no machine, the instance of an id-less seat", Check{InstanceID: "i9"}, VerdictActive, "c"},
		{"only the instance of a machine's seat", Check{InstanceID: "i1"}, VerdictActive, "a"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, seat := judge(&active, seats, tc.sent, testNow, leaseCheck{})
			if v.Status != tc.wantStatus || seat != tc.wantSeat || v.Valid != (tc.wantStatus == VerdictActive) {
				t.Fatalf("got %+v on seat %q, want %s on seat %q", v, seat, tc.wantStatus, tc.wantSeat)
			}
		})
	}
	// Without the id-less seats, a request without a machine id has no seat.
	v, _ := judge(&active, seats[1:2], Check{InstanceID: "i1"}, testNow, leaseCheck{})
	if v.Status != VerdictMachineMismatch {
		t.Fatalf("instance of a machine's seat, sent without the machine: got %s, want %s", v.Status, VerdictMachineMismatch)
	}
	v, _ = judge(&active, seats[2:], Check{InstanceID: "i2"}, testNow, leaseCheck{})
	if v.Status != VerdictInstanceMismatch {
		t.Fatalf("another instance without machine ids: got %s, want %s", v.Status, VerdictInstanceMismatch)
	}
}

var testNow = time.Date(2026, 1, 15, 10, 0, 0, 0, time.UTC)
