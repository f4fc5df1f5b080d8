package ratelimit

import (
	"testing"
	"time"
)

func TestFixedWindow(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := New(3, time.Minute, func() time.Time { return now })
	for i := 1; i <= 3; i++ {
		if st := l.Take("a"); !st.Allowed || st.Remaining != 3-i {
			t.Fatalf("event %d: %+v", i, st)
		}
	}
	now = now.Add(20 * time.Second)
	if st := l.Take("a"); st.Allowed || st.Reset != 40*time.Second {
		t.Fatalf("4th: %+v, want refused, reset in 40s", st)
	}
	if st := l.Take("b"); !st.Allowed {
		t.Fatalf("another key is limited too: %+v", st)
	}
	now = now.Add(40 * time.Second)
	if st := l.Take("a"); !st.Allowed || st.Remaining != 2 {
		t.Fatalf("new window: %+v", st)
	}
}
