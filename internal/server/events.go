package server

import (
	"net/http"

	"github.com/keyboxhq/keybox"
	"github.com/keyboxhq/keybox/internal/licensing"
)

// handleListEvents is GET /events?type=&subject=&since=&page=&limit=.
func (s *Server) handleListEvents(w http.ResponseWriter, r *http.Request, u keybox.User) {
	page, err := listInput(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	q := r.URL.Query()
	list, total, in, err := s.svc.Events(r.Context(), u, licensing.EventList{
		Type: q.Get("type"), Subject: q.Get("subject"), Since: q.Get("since"), Page: page.Page, Limit: page.Limit,
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, listBody("events", list, total, in))
}
