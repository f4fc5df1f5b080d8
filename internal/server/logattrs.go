package server

import (
	"log/slog"
	"net/http"
	"strings"

	"github.com/keyboxhq/keybox"
)

// License keys never reach the logs. A key is the credential of an installed
// application, and paths such as /license/{key} carry it, so the access log
// and the error log name what a request addressed without its path: the
// route's pattern, and the values of its wildcards, each as it is only when
// it is an object id and otherwise by its fingerprint (a keyed hash: see
// licensing.Service.KeyFingerprint). A request that matched no route shows
// its path with every segment that is not a word of some route replaced by
// "*", since anything, a key included, may be typed there.

// pathWords are the literal path segments of every route.
func pathWords(patterns []string) map[string]bool {
	words := map[string]bool{}
	for _, p := range patterns {
		_, path, _ := strings.Cut(p, " ")
		for _, seg := range strings.Split(path, "/") {
			if seg != "" && !strings.HasPrefix(seg, "{") {
				words[seg] = true
			}
		}
	}
	return words
}

// addressed appends to attrs what r addressed, without secrets.
func (s *Server) addressed(r *http.Request, attrs []slog.Attr) []slog.Attr {
	if r.Pattern == "" {
		return append(attrs, slog.String("path", s.redactedPath(r.URL.Path)))
	}
	attrs = append(attrs, slog.String("route", r.Pattern))
	_, path, _ := strings.Cut(r.Pattern, " ")
	for _, seg := range strings.Split(path, "/") {
		name, ok := strings.CutPrefix(seg, "{")
		if !ok {
			continue
		}
		name = strings.TrimSuffix(strings.TrimSuffix(name, "}"), "...")
		if name == "$" {
			continue
		}
		v := r.PathValue(name)
		switch {
		case name == "key":
			attrs = append(attrs, slog.String("keyFingerprint", s.svc.KeyFingerprint(v)))
		case keybox.IsID(v):
			attrs = append(attrs, slog.String(name, v))
		default:
			attrs = append(attrs, slog.String(name+"Fingerprint", s.svc.KeyFingerprint(v)))
		}
	}
	return attrs
}

// redactedPath keeps the segments of p that are words of some route.
func (s *Server) redactedPath(p string) string {
	segs := strings.Split(p, "/")
	for i, seg := range segs {
		if seg != "" && !s.words[seg] {
			segs[i] = "*"
		}
	}
	return strings.Join(segs, "/")
}
