// Package buildinfo says which build of KeyBox is running: its version and
// the source revision it was built from. The command line prints it
// (keybox version), and the server can report it in its health answer,
// its logs and its metrics, so every one of them names the same build.
//
// A release build stamps the version with the linker:
//
//	go build -ldflags "-X github.com/keyboxhq/keybox/internal/buildinfo.version=v1.4.0 \
//	  -X github.com/keyboxhq/keybox/internal/buildinfo.revision=$(git rev-parse HEAD)" ./cmd/keybox
//
// Without it, the version is read from what the Go toolchain records in
// every binary: the module version for `go install …@v1.4.0`, and for a
// `go build` in a git checkout the commit, its time and whether the tree
// had uncommitted changes.
package buildinfo

import (
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Stamped by release builds (-ldflags -X); empty otherwise.
var (
	version  string
	revision string
)

// Devel is the version of a build that says nothing about its source: a
// `go run`, a test binary, or a build outside a checkout.
const Devel = "(devel)"

// Info describes one build.
type Info struct {
	// Version is a release version (v1.4.0), a module pseudo-version naming
	// the commit (v0.0.0-20261201010635-60e02c31615c, with +dirty when the
	// tree was modified), or Devel.
	Version string `json:"version"`
	// Revision is the full commit hash, when known.
	Revision string `json:"revision,omitempty"`
	// Time is the commit's time, when known.
	Time time.Time `json:"time,omitzero"`
	// Modified: the checkout had changes that were not committed.
	Modified bool `json:"modified,omitempty"`
	// GoVersion is the toolchain that built the binary (go1.26.8).
	GoVersion string `json:"go"`
	// Platform is GOOS/GOARCH.
	Platform string `json:"platform"`
}

// Get returns this binary's build information.
func Get() Info { return get() }

var get = sync.OnceValue(func() Info {
	bi, _ := debug.ReadBuildInfo()
	return From(bi, version, revision)
})

// From works out a build's Info from the toolchain's record (nil when there
// is none) and the version and revision a release build stamped (empty
// when it did not). What was stamped wins.
func From(bi *debug.BuildInfo, stampedVersion, stampedRevision string) Info {
	info := Info{Version: Devel, GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if bi != nil {
		if bi.GoVersion != "" {
			info.GoVersion = bi.GoVersion
		}
		if v := bi.Main.Version; v != "" && v != Devel {
			info.Version = v
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				info.Revision = s.Value
			case "vcs.time":
				if t, err := time.Parse(time.RFC3339, s.Value); err == nil {
					info.Time = t.UTC()
				}
			case "vcs.modified":
				info.Modified, _ = strconv.ParseBool(s.Value)
			}
		}
	}
	if v := strings.TrimSpace(stampedVersion); v != "" {
		info.Version = v
	}
	if r := strings.TrimSpace(stampedRevision); r != "" && !strings.HasPrefix(info.Revision, r) {
		// The toolchain's details belong to another revision, or to none.
		info.Revision, info.Time, info.Modified = r, time.Time{}, false
	}
	return info
}

// ShortRevision is the revision's first 12 characters, as git and Go's
// pseudo-versions abbreviate it.
func (i Info) ShortRevision() string {
	if len(i.Revision) > 12 {
		return i.Revision[:12]
	}
	return i.Revision
}

// String is the one-line form keybox version prints:
// "v1.4.0 (60e02c31615c, 2026-12-01T01:06:35Z, modified) go1.26.8 linux/amd64".
func (i Info) String() string {
	var b strings.Builder
	b.WriteString(i.Version)
	var detail []string
	if i.Revision != "" {
		detail = append(detail, i.ShortRevision())
	}
	if !i.Time.IsZero() {
		detail = append(detail, i.Time.Format(time.RFC3339))
	}
	if i.Modified {
		detail = append(detail, "modified")
	}
	if len(detail) > 0 {
		b.WriteString(" (" + strings.Join(detail, ", ") + ")")
	}
	b.WriteString(" " + i.GoVersion + " " + i.Platform)
	return b.String()
}
