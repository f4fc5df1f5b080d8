package server

import (
	"net/http"

	"github.com/keyboxhq/keybox"
	"github.com/keyboxhq/keybox/internal/licensing"
)

// eventList is a page of events.
type eventList struct {
	Events []keybox.Event `json:"events"`
	Total  int            `json:"total"`
	Page   int            `json:"page"`
	Limit  int            `json:"limit"`
}

func (s *Server) listEvents(r *http.Request, u keybox.User, _ none) (eventList, error) {
	page, err := listInput(r)
	if err != nil {
		return eventList{}, err
	}
	q := r.URL.Query()
	list, total, in, err := s.svc.Events(r.Context(), u, licensing.EventList{
		Type: q.Get("type"), Subject: q.Get("subject"), Since: q.Get("since"), Page: page.Page, Limit: page.Limit,
	})
	return eventList{Events: list, Total: total, Page: in.Page, Limit: in.Limit}, err
}
