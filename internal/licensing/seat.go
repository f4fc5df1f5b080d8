package licensing

import "github.com/keyboxhq/keybox"

// Seat matching. A seat records the machine id and instance id sent when it
// was taken, and KeyBox's SDKs of every generation send different subsets of
// them, but an empty id is never a wildcard: a seat taken without a machine
// id must not answer for every machine that comes after it.

// match is how a seat answers a request.
type match int

const (
	// otherMachine: the seat names another machine, or a machine where the
	// request names none, or the reverse.
	otherMachine match = iota
	// otherInstance: the same machine (or no machine on either side) but
	// another instance.
	otherInstance
	// ownSeat: the seat is the request's.
	ownSeat
)

// matchSeat compares a seat with a request. Machine ids are always
// compared, an empty one matching only an empty one. Instance ids are
// compared only when both sides have one, because older SDKs send none.
func matchSeat(seat keybox.Activation, c Check) match {
	switch {
	case seat.MachineID != c.MachineID:
		return otherMachine
	case seat.InstanceID != "" && c.InstanceID != "" && seat.InstanceID != c.InstanceID:
		return otherInstance
	}
	return ownSeat
}

// findSeat returns the index of the request's own seat (one naming exactly
// its instance, when there is one, over one naming none), or -1 and the
// closest miss: otherInstance when some seat is the request's machine on
// another instance, which is what the refusal then names. Seats whose
// lease has lapsed (by lc) hold no seat any more and answer for no one.
func findSeat(seats []keybox.Activation, c Check, lc leaseCheck) (int, match) {
	found, closest := -1, otherMachine
	for i := range seats {
		m := matchSeat(seats[i], c)
		if m != otherMachine && lc.lapsed(&seats[i]) {
			continue
		}
		switch m {
		case ownSeat:
			if seats[i].InstanceID == c.InstanceID {
				return i, ownSeat
			}
			if found < 0 {
				found = i
			}
		case otherInstance:
			closest = otherInstance
		}
	}
	if found >= 0 {
		return found, ownSeat
	}
	return -1, closest
}

// sameProduct compares product names only when both sides have one: a key
// is bound to a product by the developer or by the first activation that
// names one.
func sameProduct(stored, sent string) bool { return stored == "" || sent == "" || stored == sent }

// machineMissing reports a request that sends no machine id for a license
// that requires one.
func machineMissing(l keybox.License, c Check) bool { return l.RequireMachineID && c.MachineID == "" }
