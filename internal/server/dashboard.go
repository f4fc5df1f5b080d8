package server

import (
	"net/http"
	"strconv"

	"github.com/keyboxhq/keybox"
	"github.com/keyboxhq/keybox/internal/licensing"
)

// dashboardQuery is the body KeyBox's dashboard sends instead of the query string.
type dashboardQuery struct {
	ClientID licensing.Text `json:"clientId"`
}

// dashboardAnswer is the shape of GET /dashboard's answer, which the
// handler encodes by hand and streams.
type dashboardAnswer struct {
	Message       string                   `json:"message"`
	ClientsCount  int                      `json:"clientsCount"`
	ProjectsCount int                      `json:"projectsCount"`
	Data          []keybox.DashboardClient `json:"data"`
}

// handleDashboard reads the optional clientId from the query string or, as
// KeyBox's dashboard sends it, from a JSON body.
func (s *Server) handleDashboard(w http.ResponseWriter, r *http.Request, u keybox.User) error {
	clientID := r.URL.Query().Get("clientId")
	if clientID == "" {
		var in dashboardQuery
		if err := decode(r, &in); err != nil {
			return err
		}
		clientID = in.ClientID.Value
		if in.ClientID.WrongType {
			clientID = "not an id" // a malformed id is a missing client
		}
	}
	d, err := s.svc.Dashboard(r.Context(), u, clientID)
	if err != nil {
		return err
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
				return nil // the client has gone
			}
			b = b[:0]
		}
	}
	b = append(b, "]}\n"...)
	_, _ = w.Write(b)
	return nil
}

func (s *Server) stats(r *http.Request, u keybox.User, _ none) (keybox.Stats, error) {
	return s.svc.Stats(r.Context(), u)
}
