package server

import (
	"net/http"
	"strconv"

	"github.com/keyboxhq/keybox"
	"github.com/keyboxhq/keybox/internal/licensing"
)

// handleDashboard reads the optional clientId from the query string or, as
// KeyBox's dashboard sends it, from a JSON body.
func (s *Server) handleDashboard(w http.ResponseWriter, r *http.Request, u keybox.User) {
	clientID := r.URL.Query().Get("clientId")
	if clientID == "" {
		var in struct {
			ClientID licensing.Text `json:"clientId"`
		}
		if err := decode(r, &in); err != nil {
			s.fail(w, r, err)
			return
		}
		clientID = in.ClientID.Value
		if in.ClientID.WrongType {
			clientID = "not an id" // a malformed id is a missing client
		}
	}
	d, err := s.svc.Dashboard(r.Context(), u, clientID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	// Encoded by hand and streamed: for thousands of licenses, encoding/json's
	// reflection and one buffer of the whole answer cost more than reading
	// them from the database.
	w.Header()["Content-Type"] = contentTypeJSON
	w.WriteHeader(http.StatusOK)
	const flushAt = 32 << 10
	b := make([]byte, 0, 2*flushAt)
	b = append(b, `{"message":"Dashboard fetched successfully","clientsCount":`...)
	b = strconv.AppendInt(b, int64(d.ClientsCount), 10)
	b = append(b, `,"projectsCount":`...)
	b = strconv.AppendInt(b, int64(d.ProjectsCount), 10)
	b = append(b, `,"data":[`...)
	for i, c := range d.Data {
		if i > 0 {
			b = append(b, ',')
		}
		b = c.AppendJSON(b)
		if len(b) >= flushAt {
			if _, err := w.Write(b); err != nil {
				return // the client has gone
			}
			b = b[:0]
		}
	}
	b = append(b, "]}\n"...)
	_, _ = w.Write(b)
}

func (s *Server) handleStats(w http.ResponseWriter, r *http.Request, u keybox.User) {
	st, err := s.svc.Stats(r.Context(), u)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, st)
}
