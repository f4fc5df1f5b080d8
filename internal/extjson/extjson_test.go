package extjson

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

func readAll(t *testing.T, text string) ([]Doc, error) {
	t.Helper()
	var docs []Doc
	err := Read(strings.NewReader(text), func(n int, d Doc) error {
		if n != len(docs)+1 {
			t.Fatalf("document numbered %d, want %d", n, len(docs)+1)
		}
		docs = append(docs, d)
		return nil
	})
	return docs, err
}

func TestRead(t *testing.T) {
	cases := []struct {
		name   string
		text   string
		docs   int
		record int    // the failing record, when an error is wanted
		errHas string // part of the error, when one is wanted
	}{
		{"array", `[{"a":1},{"a":2}]`, 2, 0, ""},
		{"array over lines", "[\n  {\"a\": 1},\n  {\"a\": 2}\n]\n", 2, 0, ""},
		{"empty array", "[]", 0, 0, ""},
		{"empty file", " \n", 0, 0, ""},
		{"one per line", "{\"a\":1}\n{\"a\":2}\n{\"a\":3}\n", 3, 0, ""},
		{"a number in the array", `[{"a":1}, 2]`, 0, 2, "not a document"},
		{"truncated", `[{"a":1}, {"a":`, 0, 2, "ends in the middle"},
		{"bad syntax", `[{"a":1}, {"a" 2}]`, 0, 2, "invalid JSON"},
		{"unclosed array", `[{"a":1}`, 0, 2, ""},
		{"text after the array", `[{"a":1}] x`, 0, 0, "after the array"},
		{"bad syntax on line 2", "{\"a\":1}\n{a:2}\n", 0, 2, "invalid JSON"},
		{"invalid UTF-8", "[{\"a\":\"\xff\"}]", 0, 1, "UTF-8"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			docs, err := readAll(t, tc.text)
			wantErr := tc.record != 0 || tc.errHas != ""
			if !wantErr {
				if err != nil || len(docs) != tc.docs {
					t.Fatalf("got %d documents, %v; want %d", len(docs), err, tc.docs)
				}
				return
			}
			if err == nil {
				t.Fatalf("got %d documents and no error, want an error", len(docs))
			}
			var re *RecordError
			if tc.record != 0 && (!errors.As(err, &re) || re.Record != tc.record) {
				t.Fatalf("got %v, want an error at record %d", err, tc.record)
			}
			if !strings.Contains(err.Error(), tc.errHas) {
				t.Fatalf("got %q, want it to say %q", err, tc.errHas)
			}
		})
	}
	stop := errors.New("stop")
	err := Read(strings.NewReader(`[{},{},{}]`), func(n int, _ Doc) error {
		if n == 2 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) {
		t.Fatalf("fn's error: got %v, want it returned", err)
	}
}

func doc(t *testing.T, member string) Doc {
	t.Helper()
	docs, err := readAll(t, `{"v": `+member+`}`)
	if err != nil || len(docs) != 1 {
		t.Fatalf("%s: %v", member, err)
	}
	return docs[0]
}

func TestDate(t *testing.T) {
	want := time.Date(2024, 1, 31, 12, 30, 15, 250_000_000, time.UTC)
	ms := fmt.Sprint(want.UnixMilli())
	good := []string{
		`{"$date": {"$numberLong": "` + ms + `"}}`,
		`{"$date": "2024-01-31T12:30:15.250Z"}`,
		`{"$date": "2024-01-31T14:30:15.250+02:00"}`,
		`{"$date": "2024-01-31T12:30:15.250+0000"}`,
		`{"$date": ` + ms + `}`,
		`"2024-01-31T12:30:15.25Z"`,
	}
	for _, g := range good {
		got, err := doc(t, g).Date("v")
		if err != nil || !got.Equal(want) || got.Location() != time.UTC {
			t.Errorf("%s: got %v, %v; want %v in UTC", g, got, err, want)
		}
	}
	before := `{"$date": {"$numberLong": "-86400000"}}`
	if got, err := doc(t, before).Date("v"); err != nil || !got.Equal(time.Date(1969, 12, 31, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("%s: got %v, %v", before, got, err)
	}
	for _, bad := range []string{`"yesterday"`, `{"$date": "31/01/2024"}`, `{"$date": {"$numberLong": "x"}}`, `{"$date": true}`, `true`, `{"$oid": "x"}`, `{"$date": 1, "x": 2}`} {
		if got, err := doc(t, bad).Date("v"); err == nil || !strings.HasPrefix(err.Error(), "v: ") {
			t.Errorf("%s: got %v, %v; want an error naming the member", bad, got, err)
		}
	}
	if got, err := doc(t, "null").Date("v"); err != nil || !got.IsZero() {
		t.Errorf("null: got %v, %v; want the zero time", got, err)
	}
	if got, err := (Doc{}).Date("v"); err != nil || !got.IsZero() {
		t.Errorf("absent: got %v, %v; want the zero time", got, err)
	}
}

func TestInt(t *testing.T) {
	good := map[string]int64{
		`12`: 12, `-3`: -3, `12.0`: 12, `1.2e1`: 12,
		`{"$numberInt": "12"}`: 12, `{"$numberLong": "9007199254740993"}`: 9007199254740993,
		`{"$numberDouble": "12.0"}`: 12, `{"$numberDecimal": "12"}`: 12,
	}
	for text, want := range good {
		got, present, err := doc(t, text).Int("v")
		if err != nil || !present || got != want {
			t.Errorf("%s: got %d, %v, %v; want %d", text, got, present, err, want)
		}
	}
	for _, bad := range []string{`12.5`, `"12"`, `{"$numberInt": 12}`, `{"$numberDouble": "Infinity"}`, `{"$numberDouble": "NaN"}`, `1e30`, `true`, `[1]`, `{"$numberInt": "1", "x": 1}`} {
		if got, _, err := doc(t, bad).Int("v"); err == nil {
			t.Errorf("%s: got %d, want an error", bad, got)
		}
	}
	if _, present, err := doc(t, "null").Int("v"); present || err != nil {
		t.Errorf("null: got present=%v, %v; want absent", present, err)
	}
}

func TestObjectIDAndStrings(t *testing.T) {
	const id = "65a1b2c3d4e5f60718293a4b"
	for _, text := range []string{`{"$oid": "` + id + `"}`, `{"$oid": "` + strings.ToUpper(id) + `"}`, `"` + id + `"`} {
		if got, err := doc(t, text).ObjectID("v"); err != nil || got != id {
			t.Errorf("%s: got %q, %v; want %s", text, got, err, id)
		}
	}
	for _, bad := range []string{`{"$oid": "65a1"}`, `{"$oid": "zz` + id[2:] + `"}`, `"acme"`, `12`, `{"$oid": 12}`} {
		if got, err := doc(t, bad).ObjectID("v"); err == nil {
			t.Errorf("%s: got %q, want an error", bad, got)
		}
	}
	if got, err := doc(t, `"a\u0000b"`).String("v"); err == nil {
		t.Errorf("NUL: got %q, want an error", got)
	}
	if got, err := doc(t, `12`).String("v"); err == nil {
		t.Errorf("a number as a string: got %q, want an error", got)
	}
	lists := map[string][]string{`["Hosting","Domain"]`: {"Hosting", "Domain"}, `"Hosting"`: {"Hosting"}, `[]`: {}}
	for text, want := range lists {
		got, err := doc(t, text).Strings("v")
		if err != nil || fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s: got %q, %v; want %q", text, got, err, want)
		}
	}
	for _, bad := range []string{`[1]`, `{"a":1}`, `["a\u0000"]`} {
		if got, err := doc(t, bad).Strings("v"); err == nil {
			t.Errorf("%s: got %q, want an error", bad, got)
		}
	}
}
