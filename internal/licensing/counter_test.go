package licensing

import (
	"testing"
	"time"

	"github.com/keyboxhq/keybox"
)

// tally folds what a drain returns into per-key counts and, per seat, the
// latest time (what the store keeps: it never moves a seat's time back).
func tally(counts []keybox.ValidationCount, seen []keybox.ActivationSeen) (map[countKey]int, map[string]time.Time) {
	n := make(map[countKey]int)
	for _, c := range counts {
		n[countKey{c.LicenseID, c.OwnerID, c.Day}] += c.Count
	}
	last := make(map[string]time.Time)
	for _, s := range seen {
		if s.At.After(last[s.ActivationID]) {
			last[s.ActivationID] = s.At
		}
	}
	return n, last
}

func wantTally(t *testing.T, what string, counts []keybox.ValidationCount, seen []keybox.ActivationSeen, wantN map[countKey]int, wantSeen map[string]time.Time) {
	t.Helper()
	n, last := tally(counts, seen)
	if len(n) != len(wantN) {
		t.Errorf("%s: got counts %v, want %v", what, n, wantN)
	}
	for k, v := range wantN {
		if n[k] != v {
			t.Errorf("%s: %v counted %d, want %d", what, k, n[k], v)
		}
	}
	if len(last) != len(wantSeen) {
		t.Errorf("%s: got seats seen %v, want %v", what, last, wantSeen)
	}
	for id, at := range wantSeen {
		if !last[id].Equal(at) {
			t.Errorf("%s: seat %s last seen %v, want %v", what, id, last[id], at)
		}
	}
	for _, c := range counts {
		if c.Count <= 0 {
			t.Errorf("%s: drained an empty count %+v", what, c)
		}
	}
}

// TestCounterCounts: validations are counted per license per UTC day, and a
// seat's time is the latest it was seen, whatever order the adds come in.
func TestCounterCounts(t *testing.T) {
	c := newCounter()
	midnight := time.Date(2026, 5, 2, 0, 0, 0, 0, time.UTC)
	day1, day2 := keybox.DayOf(midnight.Add(-time.Second)), keybox.DayOf(midnight)
	c.add("L1", "u1", "s1", midnight.Add(-time.Second))
	c.add("L1", "u1", "s1", midnight.Add(-2*time.Second)) // late, older
	c.add("L1", "u1", "s1", midnight)
	c.add("L1", "u1", "s2", midnight.Add(time.Minute))
	c.add("L1", "u1", "s2", midnight.Add(time.Second)) // late, older
	c.add("L2", "u2", "", midnight)                    // no seat answered
	c.add("L2", "u2", "", midnight)

	if got := c.pending("u1", day2); got != 3 {
		t.Fatalf("pending u1 %v: got %d, want 3", day2, got)
	}
	if got := c.pending("u2", day1); got != 0 {
		t.Fatalf("pending u2 %v: got %d, want 0", day1, got)
	}
	counts, seen := c.drain()
	wantTally(t, "drain", counts, seen,
		map[countKey]int{{"L1", "u1", day1}: 2, {"L1", "u1", day2}: 3, {"L2", "u2", day2}: 2},
		map[string]time.Time{"s1": midnight, "s2": midnight.Add(time.Minute)})

	counts, seen = c.drain()
	if len(counts) != 0 || len(seen) != 0 {
		t.Fatalf("second drain: got %v %v, want nothing", counts, seen)
	}
	if got := c.pending("u1", day2); got != 0 {
		t.Fatalf("pending after drain: got %d, want 0", got)
	}
}

// TestCounterRestoreAfterFailedFlush: what a failed flush drained is put
// back and merged with what was counted while it ran, so that none is lost
// or counted twice, and no seat's time goes back.
func TestCounterRestoreAfterFailedFlush(t *testing.T) {
	c := newCounter()
	t0 := time.Date(2026, 5, 1, 23, 59, 0, 0, time.UTC)
	day1, day2 := keybox.DayOf(t0), keybox.DayOf(t0.Add(2*time.Minute))
	c.add("L1", "u1", "s1", t0)
	c.add("L1", "u1", "s1", t0)
	c.add("L2", "u1", "s2", t0.Add(30*time.Second))
	c.add("L3", "u2", "s3", t0)

	counts, seen := c.drain() // the flush starts

	// Validations go on while it runs, some past midnight.
	c.add("L1", "u1", "s1", t0.Add(time.Second))
	c.add("L1", "u1", "s1", t0.Add(2*time.Minute))
	c.add("L2", "u1", "s2", t0.Add(10*time.Second)) // older than the drained time
	c.add("L4", "u2", "s4", t0.Add(time.Minute))

	c.restore(counts, seen) // the write failed

	if got := c.pending("u1", day1); got != 5 {
		t.Fatalf("pending u1 %v: got %d, want 5 (restored and new)", day1, got)
	}
	if got := c.pending("u1", day2); got != 1 {
		t.Fatalf("pending u1 %v: got %d, want 1", day2, got)
	}
	wantN := map[countKey]int{
		{"L1", "u1", day1}: 3, {"L1", "u1", day2}: 1,
		{"L2", "u1", day1}: 2,
		{"L3", "u2", day1}: 1,
		{"L4", "u2", day2}: 1, // just past midnight
	}
	wantSeen := map[string]time.Time{
		"s1": t0.Add(2 * time.Minute),
		"s2": t0.Add(30 * time.Second), // the restored time was the later one
		"s3": t0,
		"s4": t0.Add(time.Minute),
	}
	counts, seen = c.drain()
	wantTally(t, "after restore", counts, seen, wantN, wantSeen)

	// A second failure puts back the same numbers, and nothing more.
	c.restore(counts, seen)
	counts, seen = c.drain()
	wantTally(t, "after a second restore", counts, seen, wantN, wantSeen)
}
