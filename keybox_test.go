package keybox_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/keyboxhq/keybox"
)

func TestTimeJSON(t *testing.T) {
	cases := []struct {
		in   keybox.Time
		want string
	}{
		{keybox.NewTime(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)), `"2024-01-01T00:00:00.000Z"`},
		{keybox.NewTime(time.Date(2024, 1, 1, 1, 2, 3, 456_789_000, time.FixedZone("x", 3600))), `"2024-01-01T00:02:03.456Z"`},
		{keybox.Time{}, `null`},
	}
	for _, tc := range cases {
		b, err := json.Marshal(tc.in)
		if err != nil || string(b) != tc.want {
			t.Errorf("marshal %v: got %s, %v; want %s", tc.in, b, err, tc.want)
		}
		var back keybox.Time
		if err := json.Unmarshal(b, &back); err != nil || !back.Equal(tc.in.Time) {
			t.Errorf("round trip %s: got %v, %v", b, back, err)
		}
	}
}

func TestIDs(t *testing.T) {
	ids, err := keybox.NewIDs(nil)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Unix(0x65a1b2c3, 0)
	seen := map[string]bool{}
	for range 1000 {
		id := ids.New(at)
		if !keybox.IsID(id) || id[:8] != "65a1b2c3" || seen[id] {
			t.Fatalf("bad or repeated id %q", id)
		}
		seen[id] = true
	}
	for _, bad := range []string{"", "65A1B2C3000000000000000", "zz0000000000000000000000", "65a1b2c30000000000000000x"} {
		if keybox.IsID(bad) {
			t.Errorf("IsID(%q) = true", bad)
		}
	}
}

func TestNullString(t *testing.T) {
	b, _ := json.Marshal(struct {
		A keybox.NullString `json:"a"`
		B keybox.NullString `json:"b"`
	}{"", "m1"})
	if string(b) != `{"a":null,"b":"m1"}` {
		t.Fatalf("got %s", b)
	}
}
