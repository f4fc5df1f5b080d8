package keybox

import (
	"math/rand/v2"
	"testing"
	"time"
)

// The encoders' time formatter writes what Time.AppendJSON writes, across
// leap days, centuries, the epoch and the ends of the range it handles.
func TestAppendTimeMatchesAppendJSON(t *testing.T) {
	fixed := []time.Time{
		{},
		time.Unix(0, 0),
		time.UnixMilli(1),
		time.UnixMilli(-1),
		time.Date(1969, 12, 31, 23, 59, 59, 999e6, time.UTC),
		time.Date(2000, 2, 29, 12, 0, 0, 0, time.UTC),
		time.Date(2000, 3, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2100, 2, 28, 23, 59, 59, 999e6, time.UTC),
		time.Date(2100, 3, 1, 0, 0, 0, 1e6, time.UTC),
		time.Date(2024, 12, 31, 23, 59, 59, 0, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 999e6, time.UTC),
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(1, 1, 1, 0, 0, 0, 1e6, time.UTC),
		time.Date(2026, 3, 14, 15, 9, 26, 535e6, time.FixedZone("x", 5*3600)),
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 100_000 {
		fixed = append(fixed, time.UnixMilli(r.Int64N(253402300800000+1000)-1000))
	}
	for _, at := range fixed {
		tm := NewTime(at)
		got, want := string(appendTime(nil, tm)), string(tm.AppendJSON(nil))
		if got != want {
			t.Fatalf("appendTime(%v) = %s, want %s", at, got, want)
		}
	}
}
