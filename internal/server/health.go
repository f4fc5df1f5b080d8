package server

import (
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/keyboxhq/keybox"
	"github.com/keyboxhq/keybox/internal/web"
)

// serverStatus says that the server runs.
type serverStatus struct {
	Message string      `json:"message"`
	Success bool        `json:"success"`
	Time    keybox.Time `json:"time"`
}

// handleRoot answers API clients with JSON and sends browsers, which ask for
// HTML, to the dashboard.
func (s *Server) handleRoot(w http.ResponseWriter, r *http.Request, _ keybox.User) error {
	w.Header().Add("Vary", "Accept")
	if acceptsHTML(r.Header.Values("Accept")) {
		http.Redirect(w, r, web.Path, http.StatusFound)
		return nil
	}
	writeJSON(w, http.StatusOK, serverStatus{Message: "Server running", Success: true, Time: keybox.NewTime(s.now())})
	return nil
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

// health is the state of the process or of its database.
type health struct {
	Status string `json:"status" doc:"\"ready\"."`
}

// errUnavailable is /readyz's answer while the database does not answer or
// its schema is not current.
var errUnavailable = (&keybox.Error{Code: codeNotReady, Message: "Database unavailable"}).With("status", "unavailable")

// liveness is /healthz's answer: the process is up, and which build it runs.
type liveness struct {
	Status   string `json:"status" doc:"\"ok\"."`
	Version  string `json:"version" doc:"The build's version: a release (v1.4.0), a module pseudo-version naming the commit, or \"(devel)\"."`
	Revision string `json:"revision" doc:"The source commit it was built from; empty when unknown."`
}

// healthz answers while the process is up.
func (s *Server) healthz(*http.Request, keybox.User, none) (liveness, error) {
	return liveness{Status: "ok", Version: s.build.Version, Revision: s.build.Revision}, nil
}

// handleReadyz answers 200 when the database is reachable and its schema
// current; the cause of a 503 goes to the log under the request's id.
func (s *Server) handleReadyz(w http.ResponseWriter, r *http.Request, _ keybox.User) error {
	if err := s.svc.Ready(r.Context()); err != nil {
		s.log.WarnContext(r.Context(), "not ready", "requestId", requestID(w), "error", err)
		return errUnavailable
	}
	writeJSON(w, http.StatusOK, health{Status: "ready"})
	return nil
}
