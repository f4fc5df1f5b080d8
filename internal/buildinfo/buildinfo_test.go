package buildinfo

import (
	"encoding/json"
	"runtime"
	"runtime/debug"
	"testing"
	"time"
)

const rev = "60e02c31615cd893a842328d6276c2db4fa0cc77"

func vcs(modified string) []debug.BuildSetting {
	return []debug.BuildSetting{
		{Key: "-trimpath", Value: "true"},
		{Key: "vcs", Value: "git"},
		{Key: "vcs.revision", Value: rev},
		{Key: "vcs.time", Value: "2026-12-01T01:06:35Z"},
		{Key: "vcs.modified", Value: modified},
	}
}

func TestFrom(t *testing.T) {
	commit := time.Date(2026, 12, 1, 1, 6, 35, 0, time.UTC)
	pseudo := "v0.0.0-20261201010635-60e02c31615c"
	cases := []struct {
		name               string
		bi                 *debug.BuildInfo
		stampedV, stampedR string
		want               Info
	}{
		{"no build information", nil, "", "", Info{Version: Devel}},
		{"go run or a test binary", &debug.BuildInfo{Main: debug.Module{Version: Devel}}, "", "", Info{Version: Devel}},
		{"go install at a version", &debug.BuildInfo{Main: debug.Module{Version: "v1.4.0"}}, "", "",
			Info{Version: "v1.4.0"}},
		{"go build in a clean checkout", &debug.BuildInfo{Main: debug.Module{Version: pseudo}, Settings: vcs("false")}, "", "",
			Info{Version: pseudo, Revision: rev, Time: commit}},
		{"go build in a modified checkout", &debug.BuildInfo{Main: debug.Module{Version: pseudo + "+dirty"}, Settings: vcs("true")}, "", "",
			Info{Version: pseudo + "+dirty", Revision: rev, Time: commit, Modified: true}},
		{"a toolchain that records the commit but no version", &debug.BuildInfo{Main: debug.Module{Version: Devel}, Settings: vcs("false")}, "", "",
			Info{Version: Devel, Revision: rev, Time: commit}},
		{"release build of the same commit", &debug.BuildInfo{Main: debug.Module{Version: "v1.4.0"}, Settings: vcs("false")}, "v1.4.0", rev,
			Info{Version: "v1.4.0", Revision: rev, Time: commit}},
		{"release stamp with a short revision", &debug.BuildInfo{Main: debug.Module{Version: pseudo}, Settings: vcs("false")}, "v1.4.0", rev[:7],
			Info{Version: "v1.4.0", Revision: rev, Time: commit}},
		{"release build outside a checkout", &debug.BuildInfo{Main: debug.Module{Version: Devel}}, " v1.4.0\n", rev,
			Info{Version: "v1.4.0", Revision: rev}},
		{"stamped revision overrides another commit's details", &debug.BuildInfo{Main: debug.Module{Version: pseudo}, Settings: vcs("true")}, "", "0123456789abcdef",
			Info{Version: pseudo, Revision: "0123456789abcdef"}},
		{"stamped version alone", &debug.BuildInfo{Main: debug.Module{Version: Devel}}, "v2.0.0-rc.1", "",
			Info{Version: "v2.0.0-rc.1"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.want.GoVersion, tc.want.Platform = runtime.Version(), runtime.GOOS+"/"+runtime.GOARCH
			if tc.bi != nil {
				tc.bi.GoVersion = runtime.Version()
			}
			if got := From(tc.bi, tc.stampedV, tc.stampedR); got != tc.want {
				t.Fatalf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestString(t *testing.T) {
	base := Info{GoVersion: "go1.26.8", Platform: "linux/amd64"}
	cases := []struct {
		name string
		info func(Info) Info
		want string
	}{
		{"devel", func(i Info) Info { i.Version = Devel; return i }, "(devel) go1.26.8 linux/amd64"},
		{"release", func(i Info) Info { i.Version, i.Revision = "v1.4.0", rev; return i }, "v1.4.0 (60e02c31615c) go1.26.8 linux/amd64"},
		{"checkout", func(i Info) Info {
			i.Version, i.Revision, i.Time, i.Modified = "v0.0.0-20261201010635-60e02c31615c+dirty", rev, time.Date(2026, 12, 1, 1, 6, 35, 0, time.UTC), true
			return i
		}, "v0.0.0-20261201010635-60e02c31615c+dirty (60e02c31615c, 2026-12-01T01:06:35Z, modified) go1.26.8 linux/amd64"},
		{"short revision", func(i Info) Info { i.Version, i.Revision = "v1.4.0", "abc123"; return i }, "v1.4.0 (abc123) go1.26.8 linux/amd64"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.info(base).String(); got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// TestJSON: the names a script or the server's health answer relies on;
// what is unknown is left out rather than sent empty.
func TestJSON(t *testing.T) {
	b, err := json.Marshal(Info{Version: Devel, GoVersion: "go1.26.8", Platform: "linux/arm64"})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"version":"(devel)","go":"go1.26.8","platform":"linux/arm64"}`; string(b) != want {
		t.Fatalf("got %s, want %s", b, want)
	}
	b, err = json.Marshal(Info{Version: "v1.4.0", Revision: rev, Time: time.Date(2026, 12, 1, 1, 6, 35, 0, time.UTC), Modified: true, GoVersion: "go1.26.8", Platform: "linux/amd64"})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"version":"v1.4.0","revision":"` + rev + `","time":"2026-12-01T01:06:35Z","modified":true,"go":"go1.26.8","platform":"linux/amd64"}`; string(b) != want {
		t.Fatalf("got %s, want %s", b, want)
	}
}

// TestGet: this test binary has no stamp and no commit, and says so.
func TestGet(t *testing.T) {
	got := Get()
	if got.Version == "" || got.GoVersion != runtime.Version() || got.Platform != runtime.GOOS+"/"+runtime.GOARCH {
		t.Fatalf("got %+v", got)
	}
	if got != Get() {
		t.Fatal("Get changed between calls")
	}
}
