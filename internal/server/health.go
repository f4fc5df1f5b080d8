package server

import (
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/keyboxhq/keybox"
	"github.com/keyboxhq/keybox/internal/web"
)

// handleRoot answers API clients with SPEC §8's JSON and sends browsers,
// which ask for HTML, to the dashboard.
func (s *Server) handleRoot(w http.ResponseWriter, r *http.Request) {
	w.Header().Add("Vary", "Accept")
	if acceptsHTML(r.Header.Values("Accept")) {
		http.Redirect(w, r, web.Path, http.StatusFound)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"message": "Server running", "success": true, "time": keybox.NewTime(s.now()),
	})
}

// acceptsHTML reports whether an Accept header names text/html (with a
// non-zero quality), as every browser's navigation does; curl's */* and
// SDKs' application/json do not.
func acceptsHTML(accept []string) bool {
	for _, header := range accept {
		for _, part := range strings.Split(header, ",") {
			typ, params, err := mime.ParseMediaType(strings.TrimSpace(part))
			if err != nil || typ != "text/html" {
				continue
			}
			q, err := strconv.ParseFloat(params["q"], 64)
			if params["q"] == "" || err == nil && q > 0 {
				return true
			}
		}
	}
	return false
}

// handleHealthz answers while the process is up.
func (s *Server) handleHealthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"status": "ok"})
}

// handleReadyz answers 200 when the database is reachable and its schema current.
func (s *Server) handleReadyz(w http.ResponseWriter, r *http.Request) {
	if err := s.svc.Ready(r.Context()); err != nil {
		s.log.WarnContext(r.Context(), "not ready", "requestId", requestID(w), "error", err)
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "unavailable", "message": "Database unavailable"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": "ready"})
}
