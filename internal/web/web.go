// Package web is KeyBox's dashboard: hand-written HTML, CSS and JavaScript
// modules, embedded in the binary so that the server needs no other files,
// no build step and no third-party host to show it.
//
// The page is one document at /app/; the browser routes between views with
// the URL's hash (#/clients, #/licenses/KEY), so the server has one page to
// serve and the API does the rest. Assets are served under
// /app/assets/VERSION/, where VERSION is a hash of their content: a new
// release changes every asset URL, so browsers may keep assets for a year
// and still never run an old script against a new server.
package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"sort"
	"strings"
	"time"
)

//go:embed static
var static embed.FS

// Path is where the dashboard is mounted.
const Path = "/app/"

// assetsPath is the prefix of the versioned assets.
const assetsPath = Path + "assets/"

// contentTypes are set explicitly rather than looked up in the host's MIME
// table, which differs between machines (and a script served as text/plain
// is refused under X-Content-Type-Options: nosniff).
var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".svg":  "image/svg+xml",
}

// file is one answer, prepared once.
type file struct {
	body        []byte
	contentType string
	etag        string
}

// handler serves the page and its assets from memory.
type handler struct {
	version string
	index   file
	assets  map[string]file // by path below static/, e.g. "js/app.js"
}

// Handler returns the dashboard's handler, to be mounted at Path. It panics
// if the embedded files are unusable, which TestHandler catches before any
// release: they are part of the binary, not input.
func Handler() http.Handler {
	h, err := newHandler(static)
	if err != nil {
		panic(err)
	}
	return h
}

func newHandler(fsys fs.FS) (*handler, error) {
	root, err := fs.Sub(fsys, "static")
	if err != nil {
		return nil, err
	}
	h := &handler{assets: map[string]file{}}
	var names []string
	err = fs.WalkDir(root, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || name == "index.html" {
			return err
		}
		ct, ok := contentTypes[path.Ext(name)]
		if !ok {
			return fmt.Errorf("web: no content type for %s", name)
		}
		b, err := fs.ReadFile(root, name)
		if err != nil {
			return err
		}
		h.assets[name] = file{body: b, contentType: ct, etag: etag(b)}
		names = append(names, name)
		return nil
	})
	if err != nil {
		return nil, err
	}

	// The version covers every asset's name and content.
	sort.Strings(names)
	sum := sha256.New()
	for _, n := range names {
		fmt.Fprintf(sum, "%s\x00%s\x00", n, h.assets[n].etag)
	}
	h.version = hex.EncodeToString(sum.Sum(nil))[:12]

	tmpl, err := template.ParseFS(root, "index.html")
	if err != nil {
		return nil, err
	}
	var page bytes.Buffer
	if err := tmpl.Execute(&page, struct{ Assets string }{assetsPath + h.version + "/"}); err != nil {
		return nil, err
	}
	h.index = file{body: page.Bytes(), contentType: contentTypes[".html"], etag: etag(page.Bytes())}
	return h, nil
}

func etag(b []byte) string {
	sum := sha256.Sum256(b)
	return `"` + hex.EncodeToString(sum[:8]) + `"`
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	switch {
	case p == Path:
		// Always revalidated (a 304 when unchanged): this is what points
		// at the current assets after an upgrade.
		h.serve(w, r, h.index, "no-cache")
		return
	case strings.HasPrefix(p, assetsPath):
		version, name, _ := strings.Cut(strings.TrimPrefix(p, assetsPath), "/")
		if f, ok := h.assets[name]; ok && version == h.version {
			h.serve(w, r, f, "public, max-age=31536000, immutable")
			return
		}
	}
	// Views are routed by the hash, so any other path is a mistake (or an
	// asset of another release): answer as the API answers unknown paths.
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusNotFound)
	_, _ = w.Write([]byte(`{"message":"Not found"}` + "\n"))
}

func (h *handler) serve(w http.ResponseWriter, r *http.Request, f file, cache string) {
	hd := w.Header()
	hd.Set("Content-Type", f.contentType)
	hd.Set("Cache-Control", cache)
	hd.Set("ETag", f.etag)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(f.body))
}
